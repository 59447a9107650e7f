"""``RetryPolicy``: how long to wait before a retry, and when to give up."""

from __future__ import annotations

import random

import pytest

from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from loom_core.retry import RetryPolicy

SEEDS = range(200)


# --- RetryPolicy.delay -------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 5])
@pytest.mark.parametrize("retry_after", [0.0, 2.0, 30.0])
def test_a_retry_after_is_waited_plus_under_a_second(attempt: int, retry_after: float) -> None:
    policy = RetryPolicy(max_retries=5, base_delay=4.0)
    error = TransientError("503", retry_after=retry_after)
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
    assert policy.delay(4, TransientError("503", retry_after=1.0), rng) is None


@pytest.mark.parametrize("error", [PermanentError("400"), AuthenticationError("401"),
                                   QuotaExhaustedError("quota"), ValueError("bug"),
                                   RateLimitedError("429", retry_after=1.0)])
def test_other_errors_are_never_retried(error: Exception) -> None:
    assert RetryPolicy().delay(1, error, random.Random(0)) is None
