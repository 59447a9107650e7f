"""Loom's one retry loop for provider calls (the SDKs' own retries are switched off).

What is retried and how long to wait is decided here from the domain errors adapters raise:
a rate limit waits as long as the provider asked, transient faults back off exponentially with
full jitter, and everything else fails at once. Attempts are counted once, so ``max_retries``
means what it says.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from .errors import RateLimitedError, TransientError

__all__ = ["RetryPolicy", "call_with_retries"]

T = TypeVar("T")


@attrs.frozen
class RetryPolicy:
    """How many times to retry and how long to wait between attempts."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0

    def delay(self, attempt: int, error: Exception, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based), or None to give up."""
        if attempt > self.max_retries or not isinstance(error, (RateLimitedError, TransientError)):
            return None
        asked = error.retry_after
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if asked is not None:
            # The provider said when: wait that long, plus a little jitter so a pool of workers
            # told the same time does not return in one burst.
            return asked + rng.uniform(0, min(1.0, backoff))
        return rng.uniform(0, backoff)


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[Exception, float], None] | None = None,
) -> T:
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return await call()
        except (RateLimitedError, TransientError) as error:
            attempt += 1
            wait = policy.delay(attempt, error, rng)
            if wait is None:
                raise
            if on_retry is not None:
                on_retry(error, wait)
            await sleep(wait)
