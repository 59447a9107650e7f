"""How hard the pool may push the provider right now: shared by every worker of a run.

A concurrency limit that adapts, additive increase and multiplicative decrease: a burst of
rate limits cuts the calls allowed in flight, each success wins a little back, up to
``--workers``. The pool settles just under the provider's limit instead of spending attempts
(and the client's CPU) on refusals.

Why not also pause the whole pool when a 429 says "retry in N seconds"? Measured against the
emulator (benchmarks/sync_engine.py): with a real rate limit (scenario c) both ways finish
within 6 to 9 % of the ideal, the pause with fewer refusals; but when 429s come scattered
while most calls succeed (scenario e), a pool-wide pause stalls everything at every 429 and
took 157 s where waiting only in the refused call took 11 s. So the refused call waits what
it was told, and the others slow down through the limit.
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
        #: Successful calls so far; a retry loop compares it to tell whether the provider is
        #: still serving anyone while it rate-limits us.
        self.successes = 0
        self.rate_limits = 0
        self._clock = clock
        self._last_decrease = float("-inf")
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for room under the limit, then hold a slot."""
        async with self._changed:
            while self.in_flight >= int(self.limit):
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
        """A 429: cut the limit, once per round trip or wait, whichever is longer."""
        self.rate_limits += 1
        now = self._clock()
        # The calls of one burst come back together, and the refused ones come back after
        # their wait: either way, one signal, not many.
        if now - self._last_decrease >= max(round_trip, retry_after):
            self._last_decrease = now
            self.limit = max(1.0, self.limit * DECREASE_FACTOR)
