"""How hard the pool may push the provider right now: shared by every worker of a run.

Two controls, both fed by what the provider says:

- a pause: a 429 that says "retry in N seconds" holds back every worker's next attempt until
  then, so the pool does not hammer a provider that asked it to wait;
- a concurrency limit that adapts (additive increase, multiplicative decrease): each burst of
  rate limits cuts the calls allowed in flight, each success wins a little back, up to
  ``--workers``. The pool settles just under the provider's limit instead of spending attempts
  (and the client's CPU) on refusals.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

__all__ = ["Throttle"]

#: How much of the in-flight limit a burst of rate limits takes away.
DECREASE_FACTOR = 0.7


class Throttle:
    """The pool's in-flight limit and pause, adjusted by rate limits and successes."""

    def __init__(self, workers: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = max(1, workers)
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self.resume_at = 0.0
        #: Successful calls so far; a retry loop compares it to tell whether the provider is
        #: still serving anyone while it rate-limits us.
        self.successes = 0
        self.rate_limits = 0
        self._clock = clock
        self._last_decrease = float("-inf")
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for the pause to end and for room under the limit, then hold a slot."""
        async with self._changed:
            while True:
                wait = self.resume_at - self._clock()
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._changed.wait(), timeout=wait)
                    except asyncio.TimeoutError:
                        pass
                    continue
                if self.in_flight < int(self.limit):
                    break
                await self._changed.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def succeeded(self) -> None:
        self.successes += 1
        # One more slot per `limit` successes: about one per round trip of the whole pool.
        self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)

    def rate_limited(self, retry_after: float, round_trip: float) -> None:
        """A 429: pause everyone for ``retry_after`` and, once per round trip, cut the limit."""
        self.rate_limits += 1
        now = self._clock()
        self.resume_at = max(self.resume_at, now + retry_after)
        # The calls of one burst come back together; they are one signal, not many.
        if now - self._last_decrease >= round_trip:
            self._last_decrease = now
            self.limit = max(1.0, self.limit * DECREASE_FACTOR)
