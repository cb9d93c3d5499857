"""Alma's per-second threshold, on our side: one limiter shared by every thread, and the call counts.

Alma counts every call of an institution (this tool's, Primo's, the link resolver's...) against
one per-second threshold and answers 429 ``PER_SECOND_THRESHOLD`` above it. The limiter keeps
this tool below its share, counting each call at the moment it is written to the connection
(the client's connections do that: :mod:`p2e.alma.sending`):

>>> limiter = RateLimiter(rate=25)
>>> limiter.per_window          # at most this many calls in any one second (95% of 25)
23
>>> limiter.acquire()           # returns when this thread's turn has come
>>> with limiter.sending():     # around the write: counted until a second after it
...     pass

Nobody knows the threshold for sure (25 or 50 a second, 10 on sandboxes), and other systems of
the institution use it too, so by default (``ALMA_RATE_LIMIT=auto``) the rate is found while the
run goes: :class:`AdaptiveRateLimiter` starts at a safe rate, adds a little while Alma answers and
the limiter is what holds the calls back, and slows down by a fifth on each 429
(additive increase, multiplicative decrease):

>>> auto = limiter_for("auto", 50)
>>> auto.rate, auto.maximum
(10.0, 50.0)
>>> auto.describe()
'found automatically: settled at 10 calls per second (started at 10, at most 50)'
>>> limiter_for(25, 50).describe()
'25 calls per second (ALMA_RATE_LIMIT)'
"""
from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from typing import Iterator

log = logging.getLogger("p2e.alma")
AUTO = "auto"  # ALMA_RATE_LIMIT=auto


class RateLimiter:
    """At most ``per_window`` calls reach Alma in any one second. Shared by every thread.

    Alma counts calls as they arrive, so a call is counted from the moment it is let go until
    one second after it has been written to the connection (:meth:`sending`, which the client's
    connections call around the write). A thread that was let go and then stalled before its bytes
    left (the CPU was busy, another thread held Python's lock, the machine paused) stays counted
    the whole time, and the calls after it wait instead of arriving together with it. Two steps:

    * :meth:`acquire`, before the request is built: the thread's turn. Turns are spaced evenly
      (``1 / (rate * safety)`` apart), so a pool of workers never bursts; nobody goes during a
      :meth:`hold`; nobody goes while the window is full.
    * :meth:`sending`, around the write itself: the call takes a place in the window (waiting
      while the calls written in the last second, and those being written, fill it), and the
      place is dated when the write has finished.

    ``safety`` keeps a little below the limit (Alma counts every integration of the
    institution against the same threshold, and its clock is not ours).
    """

    PENDING_WAIT = 0.05  # seconds: the longest wait for a call being written (its writer wakes the waiters sooner)

    def __init__(self, rate: float | None, safety: float = 0.95, window: float = 1.0):
        self.rate = rate
        self.safety = safety
        self.interval = 0.0 if not rate else 1.0 / (rate * safety)
        self.per_window = max(1, int(rate * safety)) if rate else 0
        self.window = window
        self._next = time.monotonic()
        self._hold_until = 0.0
        # one place per call in the window: [the moment its write finished], [None] while it is being written
        self._sent: collections.deque[list[float | None]] = collections.deque()
        self._lock = threading.Lock()
        self._written = threading.Condition(self._lock)
        self._waiting_for_writes = 0  # threads in take_place() waiting for a write to finish (not for a time)

    def acquire(self) -> None:
        """Wait for this thread's turn; return when the call may be built and sent (see :meth:`sending`)."""
        if not self.interval:
            return
        with self._lock:
            started = now = time.monotonic()
            slot = max(now, self._next, self._hold_until)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
        waited = False
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._hold_until - now
                if wait > 0:  # a hold began while this thread slept: a new turn after it, spaced like any other
                    slot = max(self._next, self._hold_until)
                    self._next = slot + self.interval
                    wait = slot - now
                free = self._full_until(now)
                wait = max(wait, (now + self.PENDING_WAIT if free is None else free) - now)
                if wait <= 0:
                    self._sent_now(now, waited=slot > started or waited)
                    return
            waited = True
            time.sleep(wait)

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Around writing one request: counted from now (waiting while the window is full) until a second after.

        >>> limiter = RateLimiter(rate=25)
        >>> with limiter.sending():
        ...     pass                    # the request is written here
        >>> limiter.in_window()
        1
        """
        place = self.take_place()
        try:
            yield
        finally:
            self.written(place)

    def take_place(self) -> list[float | None]:
        """The first half of :meth:`sending`: wait for room in the window, then count this call from now on."""
        place: list[float | None] = [None]
        if not self.interval:
            return place
        with self._written:
            while True:
                now = time.monotonic()
                free = self._full_until(now)
                if free is not None and free <= now:
                    break
                if free is None:  # only calls being written fill it: woken when one is
                    self._waiting_for_writes += 1
                    self._written.wait(self.PENDING_WAIT)
                    self._waiting_for_writes -= 1
                else:
                    self._written.wait(free - now)
            self._sent.append(place)
            self._admitted(now)
        return place

    def written(self, place: list[float | None]) -> None:
        """The second half: the request has been written; it counts until a second from now."""
        moment = time.monotonic()
        if not self.interval:
            return
        with self._written:
            place[0] = moment
            if self._waiting_for_writes:
                self._written.notify_all()

    def in_window(self) -> int:
        """How many calls count now: written in the last second, or being written."""
        with self._lock:
            return self._counted(time.monotonic())

    def _counted(self, now: float) -> int:
        """(under the lock) Forget the places older than the window; count the rest."""
        while self._sent and self._sent[0][0] is not None and self._sent[0][0] <= now - self.window:
            self._sent.popleft()
        return sum(1 for (moment,) in self._sent if moment is None or moment > now - self.window)

    def _full_until(self, now: float) -> float | None:
        """(under the lock) ``now`` if the window has room, else the moment it may have (re-checked then).

        None: calls still being written fill it; one of them finishing may make room."""
        over = self._counted(now) - self.per_window
        if over < 0:
            return now
        ends = sorted(m + self.window for (m,) in self._sent if m is not None and m > now - self.window)
        if over < len(ends):
            return ends[over]
        return None

    def _admitted(self, moment: float) -> None:
        """Called (under the lock) with the moment each call takes its place in the window; tests record it."""

    def _sent_now(self, moment: float, waited: bool) -> None:
        """Called (under the lock) as each thread's turn comes; ``waited``: the limiter held it back."""

    def throttled(self) -> None:
        """Alma answered this thread's last call 429 ``PER_SECOND_THRESHOLD`` (a fixed rate stays as it is)."""

    def describe(self) -> str:
        """The rate, for the Summary sheet and the log ('' when there is no limit)."""
        return f"{self.rate:g} calls per second (ALMA_RATE_LIMIT)" if self.rate else ""

    def hold(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (after a 429, so every worker backs off together).

        Threads already waiting for a turn respect the hold too, and take new turns after it,
        spaced as usual, rather than all going out together when it ends."""
        with self._lock:
            until = time.monotonic() + seconds
            self._next = max(self._next, until)
            self._hold_until = max(self._hold_until, until)


class AdaptiveRateLimiter(RateLimiter):
    """``ALMA_RATE_LIMIT=auto``: the rate is found while the run goes, never above ``maximum``.

    * It starts at :attr:`START` calls a second (the lowest threshold any source gives: Alma's
      sandboxes), or at ``maximum`` if that is lower.
    * Additive increase: each call the limiter held back (the limit, not the rows, set the pace)
      adds a little, so that the rate grows by :attr:`FAST` calls a second every second while
      Alma answers; within 10% of the rate at which Alma last answered 429 it grows by only
      :attr:`SLOW` of itself a second, so Alma's limit is tried again about every half minute,
      not every few seconds. Well above that rate (Alma no longer refuses it) it is forgotten.
    * Multiplicative decrease: a 429 ``PER_SECOND_THRESHOLD`` answer (:meth:`throttled`) cuts
      the rate by a fifth, once per burst: 429s for calls sent before the last cut are the same
      burst and cut nothing more.
    * Calls are still counted from the moment they are written (:class:`RateLimiter`).
    """

    START = 10.0
    FLOOR = 1.0      # never slower than this
    FAST = 2.0       # calls a second added every second of held-back sending
    SLOW = 0.003     # ... near the rate Alma last refused: this share of the rate, every second
    NEAR = 0.9       # "near": above this share of that rate
    FORGET = 1.1     # ... and forgotten above this share of it
    DECREASE = 0.8   # a 429 keeps this share of the rate

    def __init__(self, maximum: float = 50.0, start: float | None = None, safety: float = 0.95,
                 window: float = 1.0):
        first = min(start or self.START, maximum)
        super().__init__(first, safety, window)
        self.rate: float = first
        self.maximum = float(maximum)
        self.started_at = first
        self.highest = first
        self.refused_at: float | None = None  # the rate at which Alma last answered 429 (None once well past it)
        self.last_refused: float | None = None  # the same, for the Summary (never forgotten)
        self.slowdowns = 0                    # cuts (one per burst of 429 answers)
        self._cut = time.monotonic()          # the moment of the last cut
        self._local = threading.local()       # the moment this thread's last call was sent

    def _sent_now(self, moment: float, waited: bool) -> None:
        self._local.sent = moment
        if not waited or self.rate >= self.maximum:
            return
        near = self.refused_at is not None and self.rate >= self.refused_at * self.NEAR
        if near and self.refused_at is not None and self.rate > self.refused_at * self.FORGET:
            self.refused_at, near = None, False
        per_second = self.SLOW * self.rate if near else self.FAST
        self._set(min(self.maximum, self.rate + per_second / self.rate))  # about ``rate`` calls a second

    def throttled(self) -> None:
        """Alma answered this thread's last call 429 ``PER_SECOND_THRESHOLD``: slow down (once per burst)."""
        with self._lock:
            sent = getattr(self._local, "sent", None)
            if sent is not None and sent < self._cut:
                return  # sent before the last cut: the same burst
            before = self.rate
            self.refused_at = self.last_refused = before
            self.slowdowns += 1
            self._set(max(self.FLOOR, before * self.DECREASE))
            self._cut = time.monotonic()
            after = self.rate
        log.info("Alma answered 429 PER_SECOND_THRESHOLD at %s calls per second: slowing down to %s",
                 _fmt(before), _fmt(after))

    def _set(self, rate: float) -> None:
        """(under the lock)"""
        self.rate = rate
        self.interval = 1.0 / (rate * self.safety)
        self.per_window = max(1, int(rate * self.safety))
        self.highest = max(self.highest, rate)

    def describe(self) -> str:
        text = (f"found automatically: settled at {_fmt(self.rate)} calls per second "
                f"(started at {_fmt(self.started_at)}, at most {_fmt(self.maximum)}")
        if self.slowdowns:
            times = "once" if self.slowdowns == 1 else f"{self.slowdowns} times"
            text += (f"; Alma said 'too many calls per second' and it slowed down {times}, "
                     f"the last time at {_fmt(self.last_refused or self.rate)} calls per second")
        return text + ")"


def limiter_for(rate: float | str | None, maximum: float = 50.0) -> RateLimiter:
    """The limiter for ``ALMA_RATE_LIMIT``: ``"auto"``, a number (fixed), or None (no limit: tests only)."""
    if rate == AUTO:
        return AdaptiveRateLimiter(maximum)
    if isinstance(rate, str):
        raise ValueError(f"rate must be a number or {AUTO!r}, not {rate!r}")
    return RateLimiter(rate)


def _fmt(rate: float) -> str:
    """A rate as people read it: 11.2, 50, 9.3."""
    return f"{rate:.1f}".rstrip("0").rstrip(".")


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
