"""The one retry loop: how long it waits, when it gives up, and what it never retries."""

from __future__ import annotations

import asyncio
import random

import pytest

from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from loom_core.retry import RetryPolicy, call_with_retries

SEEDS = range(200)


class FakeSleep:
    """Records every wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Flaky:
    """A call that raises the scripted errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run(call: Flaky, policy: RetryPolicy, sleep: FakeSleep, **kwargs: object) -> str:
    return asyncio.run(call_with_retries(call, policy, sleep=sleep, rng=random.Random(1),
                                         **kwargs))  # type: ignore[arg-type]


# --- RetryPolicy.delay -------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 5])
@pytest.mark.parametrize("retry_after", [0.0, 2.0, 30.0])
def test_rate_limit_waits_retry_after_plus_under_a_second(attempt: int, retry_after: float) -> None:
    policy = RetryPolicy(max_retries=5, base_delay=4.0)
    error = RateLimitedError("429", retry_after=retry_after)
    for seed in SEEDS:
        wait = policy.delay(attempt, error, random.Random(seed))
        assert wait is not None and retry_after <= wait < retry_after + 1.0


def test_transient_retry_after_is_honoured_too() -> None:
    wait = RetryPolicy().delay(1, TransientError("503", retry_after=10.0), random.Random(0))
    assert wait is not None and 10.0 <= wait < 11.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_transient_backoff_stays_within_the_exponential_cap(attempt: int) -> None:
    policy = RetryPolicy(max_retries=10, base_delay=0.5, max_delay=5.0)
    cap = min(5.0, 0.5 * 2 ** (attempt - 1))
    waits = [policy.delay(attempt, TransientError("500"), random.Random(s)) for s in SEEDS]
    assert all(w is not None and 0.0 <= w <= cap for w in waits)
    assert len(set(waits)) > 1  # jittered, not a fixed wait


def test_transient_backoff_grows_exponentially_until_max_delay() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=1.0, max_delay=8.0)
    error = TransientError("500")
    most = [max(policy.delay(a, error, random.Random(s)) for s in SEEDS) for a in range(1, 7)]
    assert most[0] <= 1.0 < most[1] <= 2.0 < most[2] <= 4.0 < most[3] <= 8.0
    assert most[4] <= 8.0 and most[5] <= 8.0


def test_transient_backoff_is_full_jitter() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=8.0, max_delay=8.0)
    waits = [policy.delay(1, TransientError("500"), random.Random(s)) for s in SEEDS]
    assert min(waits) < 8.0 / 2  # type: ignore[type-var]


def test_gives_up_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=3)
    rng = random.Random(0)
    assert policy.delay(3, TransientError("500"), rng) is not None
    assert policy.delay(4, TransientError("500"), rng) is None
    assert policy.delay(4, RateLimitedError("429", retry_after=1.0), rng) is None


@pytest.mark.parametrize("error", [PermanentError("400"), AuthenticationError("401"),
                                   QuotaExhaustedError("quota"), ValueError("bug")])
def test_other_errors_are_never_retried(error: Exception) -> None:
    assert RetryPolicy().delay(1, error, random.Random(0)) is None


# --- call_with_retries -------------------------------------------------------------------------


def test_success_at_once_makes_one_attempt_and_never_sleeps() -> None:
    call, sleep = Flaky(), FakeSleep()
    assert run(call, RetryPolicy(), sleep) == "ok"
    assert call.attempts == 1 and sleep.waits == []


def test_retries_rate_limits_then_succeeds_waiting_as_asked() -> None:
    call, sleep = Flaky(RateLimitedError("429", 7.0), RateLimitedError("429", 3.0)), FakeSleep()
    assert run(call, RetryPolicy(max_retries=5), sleep) == "ok"
    assert call.attempts == 3
    assert len(sleep.waits) == 2
    assert 7.0 <= sleep.waits[0] < 8.0 and 3.0 <= sleep.waits[1] < 4.0


def test_retries_transient_errors_with_growing_backoff() -> None:
    call, sleep = Flaky(*[TransientError("503")] * 4), FakeSleep()
    assert run(call, RetryPolicy(max_retries=4, base_delay=1.0, max_delay=100.0), sleep) == "ok"
    assert call.attempts == 5
    assert len(sleep.waits) == 4
    assert all(wait <= cap for wait, cap in zip(sleep.waits, [1.0, 2.0, 4.0, 8.0]))


def test_max_retries_means_that_many_retries_then_the_error() -> None:
    call, sleep = Flaky(*[TransientError("503")] * 10), FakeSleep()
    with pytest.raises(TransientError):
        run(call, RetryPolicy(max_retries=3), sleep)
    assert call.attempts == 4 and len(sleep.waits) == 3


def test_zero_retries_tries_once() -> None:
    call, sleep = Flaky(RateLimitedError("429", 1.0)), FakeSleep()
    with pytest.raises(RateLimitedError):
        run(call, RetryPolicy(max_retries=0), sleep)
    assert call.attempts == 1 and sleep.waits == []


def test_permanent_error_is_raised_on_the_first_attempt() -> None:
    call, sleep = Flaky(PermanentError("400 bad request")), FakeSleep()
    with pytest.raises(PermanentError):
        run(call, RetryPolicy(max_retries=5), sleep)
    assert call.attempts == 1 and sleep.waits == []


def test_a_permanent_error_after_retries_stops_at_once() -> None:
    call, sleep = Flaky(TransientError("500"), PermanentError("400")), FakeSleep()
    with pytest.raises(PermanentError):
        run(call, RetryPolicy(max_retries=5), sleep)
    assert call.attempts == 2 and len(sleep.waits) == 1


def test_on_retry_hears_each_error_and_its_wait() -> None:
    first, second = RateLimitedError("429", 2.0), TransientError("500")
    heard: list[tuple[Exception, float]] = []
    call, sleep = Flaky(first, second), FakeSleep()
    run(call, RetryPolicy(), sleep, on_retry=lambda error, wait: heard.append((error, wait)))
    assert [error for error, _ in heard] == [first, second]
    assert [wait for _, wait in heard] == sleep.waits
