"""``CallRunner``: the pool, the retry rules, the throttle, fatal errors and stopping."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from loom_core.calls import CallRunner, Outcome, StopToken
from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from loom_core.retry import RetryPolicy


class FakeSleep:
    """Records every wait; instead of waiting, lets the other tasks run a few steps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        for _ in range(10):
            await asyncio.sleep(0)


class Script:
    """A call whose item ``n`` raises its scripted errors in turn, then answers ``n * 10``."""

    def __init__(self, errors: dict[int, list[Exception]] | None = None, *, yields: int = 1) -> None:
        self.errors = {k: list(v) for k, v in (errors or {}).items()}
        self.attempts: Counter[int] = Counter()
        self.in_flight = 0
        self.most = 0
        self.yields = yields

    async def __call__(self, item: int) -> int:
        self.attempts[item] += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            for _ in range(self.yields + item % 3):
                await asyncio.sleep(0)
            if self.errors.get(item):
                raise self.errors[item].pop(0)
            return item * 10
        finally:
            self.in_flight -= 1


def run(items, call, *, workers=4, policy=None, stop=None, sleep=None):
    outcomes: dict[int, Outcome[int]] = {}
    order: list[int] = []

    def done(item: int, outcome: Outcome[int]) -> None:
        assert item not in outcomes, "an item was handed back twice"
        outcomes[item] = outcome
        order.append(item)

    runner: CallRunner[int, int] = CallRunner(
        workers, policy or RetryPolicy(max_retries=3), stop=stop, sleep=sleep or FakeSleep(),
        rng=random.Random(1))
    asyncio.run(runner.run(items, call, done))
    return runner, outcomes, order


# --- the pool ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("items", "workers"), [(100, 8), (10, 3), (3, 8), (1, 1), (50, 1)])
def test_every_item_once_and_never_more_than_workers_in_flight(items: int, workers: int) -> None:
    call = Script()
    runner, outcomes, _ = run(range(items), call, workers=workers)
    assert {k: o.result for k, o in outcomes.items()} == {i: i * 10 for i in range(items)}
    assert call.most == min(workers, items)
    assert runner.counts.calls == items


def test_a_slow_item_does_not_hold_the_others_back() -> None:
    call = Script()
    call.yields = 1
    slow = Script(yields=60)

    async def mixed(item: int) -> int:
        return await (slow if item == 0 else call)(item)

    _, _, order = run(range(5), mixed, workers=2)
    assert order[-1] == 0


def test_a_bug_in_the_done_callback_is_not_swallowed() -> None:
    def done(item: int, outcome: Outcome[int]) -> None:
        raise RuntimeError("bug")

    runner: CallRunner[int, int] = CallRunner(2, RetryPolicy())
    with pytest.raises(RuntimeError, match="bug"):
        asyncio.run(runner.run(range(3), Script(), done))


# --- retries -----------------------------------------------------------------------------------


def test_transient_errors_back_off_and_then_succeed() -> None:
    call, sleep = Script({1: [TransientError("503")] * 3}), FakeSleep()
    runner, outcomes, _ = run([1], call, policy=RetryPolicy(max_retries=3, base_delay=1.0),
                              sleep=sleep)
    assert outcomes[1].result == 10
    assert call.attempts[1] == 4 and len(sleep.waits) == 3
    assert all(0 <= wait <= cap for wait, cap in zip(sleep.waits, [1.0, 2.0, 4.0]))
    assert runner.counts.retries == 3


def test_max_retries_means_that_many_retries_then_the_error() -> None:
    call = Script({1: [TransientError("503")] * 10})
    _, outcomes, _ = run([1], call, policy=RetryPolicy(max_retries=2))
    assert isinstance(outcomes[1].error, TransientError) and call.attempts[1] == 3


@pytest.mark.parametrize("error", [PermanentError("400"), ValueError("adapter bug")])
def test_other_errors_end_the_item_at_once(error: Exception) -> None:
    call = Script({1: [error]})
    _, outcomes, _ = run([1, 2], call)
    assert outcomes[1].error is error and call.attempts[1] == 1
    assert outcomes[2].result == 20


def test_rate_limits_wait_and_do_not_fail_rows_while_others_get_through() -> None:
    # Item 0 is refused many more times than max_retries, but other calls keep succeeding in
    # between, so the provider is serving: the row is retried until it gets its answer.
    call = Script({0: [RateLimitedError("429", retry_after=0.0)] * 6})
    runner, outcomes, _ = run(range(40), call, workers=2, policy=RetryPolicy(max_retries=1))
    assert outcomes[0].result == 0
    assert runner.counts.rate_limits == 6


def test_a_provider_that_refuses_everything_fails_after_max_retries() -> None:
    call = Script({0: [RateLimitedError("429", retry_after=0.0)] * 10})
    _, outcomes, _ = run([0], call, policy=RetryPolicy(max_retries=2))
    assert isinstance(outcomes[0].error, RateLimitedError)
    assert call.attempts[0] == 3


def test_a_refused_call_waits_what_the_provider_asked_plus_a_little_jitter() -> None:
    call, sleep = Script({0: [RateLimitedError("429", retry_after=3.0)]}), FakeSleep()
    _, outcomes, _ = run(range(4), call, workers=2, sleep=sleep)
    assert outcomes[0].result == 0
    assert len(sleep.waits) == 1 and 3.0 <= sleep.waits[0] <= 3.35


def test_a_rate_limit_without_a_wait_waits_a_second() -> None:
    call, sleep = Script({0: [RateLimitedError("429")]}), FakeSleep()
    run([0], call, sleep=sleep)
    assert 1.0 <= sleep.waits[0] <= 1.15


def test_rate_limits_cut_the_calls_in_flight() -> None:
    errors = {i: [RateLimitedError("429", retry_after=0.0)] for i in range(0, 64, 4)}
    call = Script(errors, yields=3)
    runner, outcomes, _ = run(range(64), call, workers=16, policy=RetryPolicy(max_retries=1))
    assert all(o.error is None for o in outcomes.values())
    assert runner.counts.rate_limits == 16


# --- fatal errors and stopping -----------------------------------------------------------------


@pytest.mark.parametrize("fatal", [QuotaExhaustedError("out of credits"),
                                   AuthenticationError("bad key")])
def test_a_fatal_error_ends_the_run_early_with_that_error_for_the_rest(fatal) -> None:
    call = Script({0: [fatal]})
    runner, outcomes, _ = run(range(50), call, workers=1)
    assert len(outcomes) == 50
    assert all(o.error is fatal for o in outcomes.values())
    assert runner.counts.calls == 1


def test_the_first_stop_lets_calls_in_flight_finish_and_sends_no_more() -> None:
    stop = StopToken()
    started: list[int] = []

    async def call(item: int) -> int:
        started.append(item)
        if item == 2:
            stop.request()
        for _ in range(5):
            await asyncio.sleep(0)
        return item

    runner, outcomes, _ = run(range(100), call, workers=4, stop=stop)
    assert set(outcomes) == set(started)  # every call that started was handed back
    assert len(started) < 10
    assert runner.counts.not_started == 100 - len(started)


def test_the_second_stop_abandons_calls_in_flight() -> None:
    stop = StopToken()

    async def call(item: int) -> int:
        if item == 1:
            stop.request()
            stop.request()
        await asyncio.sleep(10)
        return item

    _, outcomes, _ = run(range(10), call, workers=3, stop=stop)
    assert outcomes == {}


def test_a_usage_error_ends_the_run_with_that_error() -> None:
    from loom_core.errors import UnsupportedError

    call = Script({i: [UnsupportedError("acme does not support --seed")] for i in range(20)})
    with pytest.raises(UnsupportedError, match="--seed"):
        run(range(20), call, workers=2)
