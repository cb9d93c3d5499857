"""The rate limiter counts calls from the moment they are written, so a late thread never joins a burst."""
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


def _send(limiter: RateLimiter) -> None:
    """One call as the client makes it: its turn, then the write (where the connection counts it)."""
    limiter.acquire()
    with limiter.sending():
        pass


def _run_threads(limiter: RateLimiter, count: int) -> None:
    threads = [threading.Thread(target=_send, args=(limiter,), name=f"call-{i}") for i in range(count)]
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
    first = threading.Thread(target=_send, args=(limiter,))
    _send(limiter)                          # one call goes
    limiter._next = time.monotonic() + 0.05  # the next thread's turn is reserved ...
    first.start()
    time.sleep(0.02)                        # (it has taken its turn)
    limiter.hold(0.5)                       # ... then Alma answers 429 and everyone backs off
    first.join(timeout=5)
    assert limiter.moments[1] - started >= 0.5


def test_threads_held_back_by_a_429_go_out_spaced_afterwards_not_together():
    limiter = Recording(rate=10)            # one call every 1 / 9.5 s
    _send(limiter)
    started = time.monotonic()
    threads = [threading.Thread(target=_send, args=(limiter,)) for _ in range(4)]
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


def test_a_call_that_stalls_while_it_is_written_still_counts_until_a_second_after_its_write():
    # One call takes its place in the window and then needs 1.5 s to be written (its thread was descheduled):
    # it counts the whole time, so no second of writes holds more than the limit allows.
    limiter = RateLimiter(rate=10)
    writes: list[float] = []
    lock = threading.Lock()

    def call(stall: float) -> None:
        limiter.acquire()
        with limiter.sending():
            time.sleep(stall)
            with lock:
                writes.append(time.monotonic())  # the request reaches Alma somewhere in here

    slow = threading.Thread(target=call, args=(1.5,))
    slow.start()
    time.sleep(0.01)
    others = [threading.Thread(target=call, args=(0.0,)) for _ in range(14)]
    for thread in others:
        thread.start()
    for thread in [slow, *others]:
        thread.join(timeout=30)
    assert len(writes) == 15
    assert _most_in_any_window(writes) <= limiter.per_window == 9


def test_a_call_that_stalls_between_its_turn_and_the_write_never_joins_a_burst_at_alma(start_sandbox):
    # Alma counts arrivals. Three calls take their turn and then stall for 0.6 s before their bytes leave
    # (on a busy machine a thread is descheduled, or waits for Python's lock, between the two): they must be
    # counted when they are written, or they arrive together with the calls whose turn it then is.
    from collections import Counter

    from p2e.alma.client import AlmaClient

    sb, _ = start_sandbox(rows=2, rate_limit=5)
    client = AlmaClient(sb.url, sb.api_key, rate_limit=5, max_retries=8, timeout=5)
    write = client.session.request
    stalls = [0.6, 0.6, 0.6]
    lock = threading.Lock()

    def late(*args, **kwargs):
        with lock:
            stall = stalls.pop() if stalls else 0.0
        time.sleep(stall)  # after the limiter said go, before the request is written
        return write(*args, **kwargs)

    client.session.request = late
    threads = [threading.Thread(target=lambda: [client.request("GET", "/bibs/test") for _ in range(2)])
               for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        client.close()
    answers = Counter(r["error_code"] for r in sb.requests)
    assert answers["PER_SECOND_THRESHOLD"] == 0 and client.stats.throttled == 0
    assert sum(answers.values()) == 12
