"""ALMA_RATE_LIMIT=auto: the rate goes up while Alma answers, down on 429, never above ALMA_RATE_MAX.

Real HTTP to the sandbox at its rate_limit options; the assertions are about behaviour (what the
rate did, what Alma answered), never about how long anything took.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from p2e.alma.client import AlmaClient
from p2e.alma.limiter import AUTO, AdaptiveRateLimiter, RateLimiter, limiter_for
from p2e.config import ConfigError, load_settings


class Recording(AdaptiveRateLimiter):
    """Records the moment each call was let go and the rate at that moment."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.moments: list[float] = []
        self.rates: list[float] = []

    def _admitted(self, moment: float) -> None:
        self.moments.append(moment)
        self.rates.append(self.rate)


def most_in_any_second(moments: list[float]) -> int:
    moments = sorted(moments)
    return max(sum(1 for m in moments[i:] if m - start < 1.0) for i, start in enumerate(moments))


def call_test_endpoint(client: AlmaClient, threads: int, calls_each: int) -> None:
    """``threads`` workers, each sending ``calls_each`` GET /bibs/test; fails if any call failed."""
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(calls_each):
                client.request("GET", "/bibs/test")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert failures == []


def per_second_refusals(sb) -> int:
    return Counter(r["error_code"] for r in sb.requests)["PER_SECOND_THRESHOLD"]


def test_auto_is_the_default_and_a_number_still_fixes_the_rate(tmp_path):
    settings = load_settings(None, environ={})
    assert settings.rate_limit == AUTO and settings.rate_max == 50
    auto = limiter_for(settings.rate_limit, settings.rate_max)
    assert isinstance(auto, AdaptiveRateLimiter) and auto.rate == 10 and auto.maximum == 50
    settings = load_settings(None, environ={"ALMA_RATE_LIMIT": "Auto", "ALMA_RATE_MAX": "30"})
    assert settings.rate_limit == AUTO and settings.rate_max == 30
    fixed = limiter_for(load_settings(None, environ={"ALMA_RATE_LIMIT": "25"}).rate_limit)
    assert type(fixed) is RateLimiter and fixed.per_window == 23
    fixed.throttled()  # a fixed rate stays as it is after a 429
    assert fixed.rate == 25 and fixed.per_window == 23
    assert limiter_for(AUTO, 6).rate == 6  # never starts above the maximum
    with pytest.raises(ConfigError, match="ALMA_RATE_LIMIT .* must be a number of calls per second, such as 25, or auto"):
        load_settings(None, environ={"ALMA_RATE_LIMIT": "fast"})
    with pytest.raises(ConfigError, match="ALMA_RATE_MAX .* must be more than 0"):
        load_settings(None, environ={"ALMA_RATE_MAX": "0"})


def test_429s_of_one_burst_cut_the_rate_once():
    limiter = AdaptiveRateLimiter(maximum=50, start=20)
    limiter.acquire()
    limiter.acquire()
    before = limiter.rate              # 20, or a little more: the second call waited its turn
    limiter.throttled()                # the answer to a call sent before any cut: the rate comes down by a fifth
    assert limiter.rate == pytest.approx(before * 0.8) and limiter.refused_at == before
    limiter.throttled()                # another 429 for a call of the same burst (sent before the cut)
    assert limiter.rate == pytest.approx(before * 0.8) and limiter.slowdowns == 1
    limiter.acquire()
    second = limiter.rate
    limiter.throttled()                # a call sent after the cut was refused too: down again
    assert limiter.rate == pytest.approx(second * 0.8) and limiter.slowdowns == 2
    limiter.refused_at = None          # (as when the rate has gone well past it without a 429)
    assert limiter.last_refused == second
    shown = f"{second:.1f}".rstrip("0").rstrip(".")
    assert f"slowed down 2 times, the last time at {shown} calls per second" in limiter.describe()


def test_after_a_429_the_rate_goes_down(start_sandbox):
    sb, _ = start_sandbox(rows=2, rate_limit=10)
    limiter = Recording(maximum=50, start=20)  # starts above what this Alma allows
    client = AlmaClient(sb.url, sb.api_key, limiter=limiter, max_retries=8, timeout=5)
    try:
        call_test_endpoint(client, threads=4, calls_each=10)
    finally:
        client.close()
    assert per_second_refusals(sb) >= 1 and client.stats.throttled == per_second_refusals(sb)
    assert limiter.slowdowns >= 1 and limiter.refused_at is not None
    assert limiter.rate < 20 and min(limiter.rates) < 20
    assert limiter.slowdowns <= per_second_refusals(sb)


def test_the_rate_goes_up_while_alma_answers_and_never_above_the_maximum(start_sandbox):
    sb, _ = start_sandbox(rows=2, rate_limit=50)
    limiter = Recording(maximum=14)  # starts at 10
    client = AlmaClient(sb.url, sb.api_key, limiter=limiter, max_retries=8, timeout=5)
    try:
        call_test_endpoint(client, threads=4, calls_each=12)
    finally:
        client.close()
    assert per_second_refusals(sb) == 0 and limiter.slowdowns == 0
    assert limiter.rates[0] == 10 and limiter.rate == 14  # it went up, to the maximum
    assert limiter.highest == 14 and max(limiter.rates) <= 14
    assert most_in_any_second(limiter.moments) <= int(14 * 0.95)  # still counted at the moment of sending
    assert "settled at 14 calls per second (started at 10, at most 14)" in limiter.describe()


def test_a_fixed_rate_is_not_changed_by_429s(start_sandbox):
    sb, _ = start_sandbox(rows=2, rate_limit=10)
    client = AlmaClient(sb.url, sb.api_key, rate_limit=30, max_retries=8, timeout=5)
    try:
        call_test_endpoint(client, threads=4, calls_each=8)
    finally:
        client.close()
    assert per_second_refusals(sb) >= 1
    assert client.limiter.rate == 30 and client.limiter.per_window == 28
