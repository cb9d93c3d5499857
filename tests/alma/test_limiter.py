"""The rate limiter counts calls at the moment they are sent, so a late thread never joins a burst."""
from __future__ import annotations

import threading
import time
import types

from p2e.alma import limiter as limiter_module
from p2e.alma.limiter import RateLimiter


class Recording(RateLimiter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.moments: list[float] = []

    def _admitted(self, moment: float) -> None:
        self.moments.append(moment)


def _most_in_any_window(moments: list[float], window: float = 1.0) -> int:
    moments = sorted(moments)
    return max(sum(1 for m in moments[i:] if m - start < window) for i, start in enumerate(moments))


def _run_threads(limiter: RateLimiter, count: int) -> None:
    threads = [threading.Thread(target=limiter.acquire, name=f"call-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
        time.sleep(0.001)  # reserve turns in order
    for thread in threads:
        thread.join(timeout=30)


def test_threads_that_wake_late_wait_again_instead_of_bursting(monkeypatch):
    # Eight threads oversleep their turn by 0.6 s (the CPU was busy): they wake up together with the threads
    # whose turn it now is. Counted at the moment of sending, no second holds more than the limit allows.
    stalled = {f"call-{i}" for i in range(1, 9)}

    def sleep(seconds: float) -> None:
        name = threading.current_thread().name
        if name in stalled:
            stalled.discard(name)
            seconds += 0.6
        time.sleep(seconds)

    monkeypatch.setattr(limiter_module, "time", types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    limiter = Recording(rate=20)
    _run_threads(limiter, 40)
    assert len(limiter.moments) == 40
    assert _most_in_any_window(limiter.moments) <= limiter.per_window == 19


def test_a_hold_after_a_429_also_stops_threads_already_waiting_for_their_turn():
    limiter = Recording(rate=50)
    started = time.monotonic()
    first = threading.Thread(target=limiter.acquire)
    limiter.acquire()                       # one call goes
    limiter._next = time.monotonic() + 0.05  # the next thread's turn is reserved ...
    first.start()
    time.sleep(0.02)                        # (it has taken its turn)
    limiter.hold(0.5)                       # ... then Alma answers 429 and everyone backs off
    first.join(timeout=5)
    assert limiter.moments[1] - started >= 0.5


def test_threads_held_back_by_a_429_go_out_spaced_afterwards_not_together():
    limiter = Recording(rate=10)            # one call every 1 / 9.5 s
    limiter.acquire()
    started = time.monotonic()
    threads = [threading.Thread(target=limiter.acquire) for _ in range(4)]
    for thread in threads:
        thread.start()                      # each has taken a turn ...
    time.sleep(0.02)
    limiter.hold(0.5)                       # ... then Alma answers 429 and everyone backs off
    for thread in threads:
        thread.join(timeout=5)
    after = sorted(limiter.moments[1:])
    assert len(after) == 4
    assert after[0] - started >= 0.5                         # all waited for the hold ...
    assert after[-1] - after[0] >= 2 * limiter.interval      # ... then went spaced (3 turns apart), not together
