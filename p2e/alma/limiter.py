"""Alma's per-second threshold, on our side: one limiter shared by every thread, and the call counts.

Alma counts every call of an institution (this tool's, Primo's, the link resolver's...) against
one per-second threshold and answers 429 ``PER_SECOND_THRESHOLD`` above it. The limiter keeps
this tool below its share, counted at the moment each call is sent:

>>> limiter = RateLimiter(rate=25)
>>> limiter.per_window          # at most this many calls in any one second (95% of 25)
23
>>> limiter.acquire()           # returns when this call may go
"""
from __future__ import annotations

import collections
import threading
import time


class RateLimiter:
    """At most ``rate`` calls in any one second, counted at the moment each call is sent.

    Shared by every thread. Two rules, both needed:

    * calls are spaced evenly (``1 / rate`` apart), so a pool of workers never bursts;
    * when a call is about to go, the calls really sent in the last second are counted. A
      thread that wakes late (the CPU was busy, a large answer was being parsed, the machine
      paused) would otherwise go out together with the threads whose turn it now is, and
      Alma, which counts arrivals per second, answers 429. Such a thread waits again instead.

    ``safety`` keeps a little below the limit (Alma counts every integration of the
    institution against the same threshold, and its clock is not ours).
    """

    def __init__(self, rate: float | None, safety: float = 0.95, window: float = 1.0):
        self.interval = 0.0 if not rate else 1.0 / (rate * safety)
        self.per_window = max(1, int(rate * safety)) if rate else 0
        self.window = window
        self._next = time.monotonic()
        self._hold_until = 0.0
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for this thread's turn; return at the moment the call may be sent."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._hold_until)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                wait = self._hold_until - now
                if len(self._sent) >= self.per_window:
                    wait = max(wait, self._sent[0] + self.window - now)
                if wait <= 0:
                    self._sent.append(now)
                    self._admitted(now)
                    return
            time.sleep(wait)

    def _admitted(self, moment: float) -> None:
        """Called (under the lock) with the moment each call is let go; tests record it."""

    def hold(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (after a 429, so every worker backs off together).

        Threads already waiting for a turn respect the hold too."""
        with self._lock:
            until = time.monotonic() + seconds
            self._next = max(self._next, until)
            self._hold_until = max(self._hold_until, until)


class CallStats:
    """Counts for progress reports and benchmarks. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.by_method: dict[str, int] = {}
        self.throttled = 0  # 429 PER_SECOND_THRESHOLD answers
        self.retries = 0
        self.remaining: int | None = None  # latest X-Exl-Api-Remaining
        self.in_flight = 0  # calls sent whose answer has not come back yet (not yet counted in remaining)
        self.started = time.monotonic()

    def count(self, method: str) -> None:
        with self._lock:
            self.calls += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1

    def note(self, **kwargs: int) -> None:
        with self._lock:
            for key, value in kwargs.items():
                setattr(self, key, getattr(self, key) + value)

    def set_remaining(self, value: int) -> None:
        with self._lock:
            self.remaining = value if self.remaining is None else min(self.remaining, value)
