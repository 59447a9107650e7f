"""Running many provider calls: the pool, Loom's one retry loop, the throttle, and stopping.

``CallRunner.run`` keeps ``workers`` calls in flight until every item is done, and decides for
each failure what happens next:

- a rate limit (429) waits as long as the provider asked and retries, while the whole pool
  slows down (see ``Throttle``); it uses up one of ``max_retries`` only when no call at all
  succeeded since the previous refusal, so a busy provider that still serves others never
  fails a row, while one that refuses everything does;
- a transient fault (5xx, overloaded, timeout, dropped connection) retries with exponential
  backoff and full jitter, up to ``max_retries``;
- a quota that will not come back or a rejected key ends the run early: the calls in flight
  finish, and every item not yet sent gets the same error instead of another doomed attempt;
- a usage error (a setting the provider cannot honour, refused before sending) ends the run
  with that error, as every row would get it;
- anything else is that item's error.

A ``StopToken`` lets the command line stop a run: the first request stops sending new calls
and lets those in flight finish (their answers are kept); the second abandons them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

import attrs

from .errors import (
    AuthenticationError,
    UsageError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from .retry import RetryPolicy
from .throttle import Throttle

__all__ = ["CallRunner", "Outcome", "StopToken"]

T = TypeVar("T")
R = TypeVar("R")

#: Errors after which no further call can succeed in this run.
_FATAL = (QuotaExhaustedError, AuthenticationError)
#: The wait assumed for a 429 that does not say how long.
DEFAULT_RATE_LIMIT_WAIT = 1.0


class StopToken:
    """Asks a running ``CallRunner`` to stop; safe to call from a signal handler."""

    def __init__(self) -> None:
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def stopping(self) -> bool:
        return self.requests >= 1

    @property
    def abandoning(self) -> bool:
        return self.requests >= 2

    def request(self) -> None:
        self.requests += 1
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _bind(self) -> asyncio.Event:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.requests:
            self._wake.set()
        return self._wake


@attrs.frozen
class Outcome(Generic[R]):
    """One item's end: its result, or the error that ended its attempts."""

    result: R | None = None
    error: Exception | None = None


@attrs.define
class RunCounts:
    """What a run did, for the summary line."""

    calls: int = 0
    retries: int = 0
    rate_limits: int = 0
    not_started: int = 0

    @property
    def prompts_sent(self) -> int:
        """Items that were sent at least once (every attempt after the first is a retry)."""
        return self.calls - self.retries


class CallRunner(Generic[T, R]):
    """Runs ``call(item)`` for every item with bounded concurrency and Loom's retry rules."""

    def __init__(
        self,
        workers: int,
        policy: RetryPolicy,
        *,
        stop: StopToken | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.workers = max(1, workers)
        self.policy = policy
        self.stop = stop or StopToken()
        self.counts = RunCounts()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._fatal: Exception | None = None
        self._round_trip = 1.0

    async def run(
        self,
        items: Iterable[T],
        call: Callable[[T], Awaitable[R]],
        done: Callable[[T, Outcome[R]], None],
    ) -> None:
        """Call for each item and hand every outcome to ``done`` as soon as it is known.

        Items never started because of a stop are not handed to ``done``; items skipped after
        a fatal error are, with that error.
        """
        throttle = Throttle(self.workers, clock=self._clock)
        wake = self.stop._bind()
        iterator = iter(items)

        async def worker() -> None:
            for item in iterator:  # shared: each item goes to exactly one worker
                if self.stop.stopping:
                    self.counts.not_started += 1 + sum(1 for _ in iterator)
                    return
                if self._fatal is not None:
                    done(item, Outcome(error=self._fatal))
                    continue
                done(item, await self._attempts(item, call, throttle))

        tasks = [asyncio.create_task(worker()) for _ in range(self.workers)]
        pool = asyncio.gather(*tasks)
        try:
            while not pool.done():
                waiter = asyncio.create_task(wake.wait())
                await asyncio.wait({pool, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                wake.clear()
                if self.stop.abandoning:
                    break
            if pool.done():
                pool.result()  # re-raise a bug in a callback
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.counts.rate_limits = throttle.rate_limits

    async def _attempts(self, item: T, call: Callable[[T], Awaitable[R]],
                        throttle: Throttle) -> Outcome[R]:
        attempt = 0
        successes_seen = throttle.successes
        while True:
            try:
                async with throttle.slot():
                    started = self._clock()
                    self.counts.calls += 1
                    result = await call(item)
                    throttle.succeeded()
                self._round_trip = 0.8 * self._round_trip + 0.2 * (self._clock() - started)
                return Outcome(result=result)
            except RateLimitedError as error:
                wait = error.retry_after if error.retry_after is not None else (
                    DEFAULT_RATE_LIMIT_WAIT)
                # A little jitter, so calls told the same time do not return in one burst.
                wait += self._rng.uniform(0, 0.1 * wait + 0.05)
                throttle.rate_limited(wait, self._round_trip)
                if throttle.successes == successes_seen:
                    attempt += 1  # nobody got through since our last try: that counts
                successes_seen = throttle.successes
                if attempt > self.policy.max_retries or self.stop.stopping:
                    return Outcome(error=error)
                await self._sleep(wait)
            except TransientError as error:
                attempt += 1
                delay = self.policy.delay(attempt, error, self._rng)
                if delay is None or self.stop.stopping:
                    return Outcome(error=error)
                await self._sleep(delay)
            except _FATAL as error:
                self._fatal = self._fatal or error
                return Outcome(error=error)
            except UsageError:
                # The request itself cannot be made (a setting the provider cannot honour):
                # adapters refuse before sending, and every other row would be refused alike.
                raise
            except ProviderError as error:
                return Outcome(error=error)
            except Exception as error:  # an adapter bug must cost one item, not the run
                return Outcome(error=error)
            self.counts.retries += 1
