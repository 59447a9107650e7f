"""How often and how long to retry a failed provider call (the SDKs' own retries are off).

``RetryPolicy`` decides for transient faults (5xx, overloaded, timeouts, dropped connections): a
wait the provider asked for is honoured, otherwise the wait backs off exponentially with full
jitter. Rate limits are not its business: ``loom_core.calls.CallRunner``, the loop that applies
the policy, waits what a 429 asked while its ``Throttle`` slows the whole pool.
"""

from __future__ import annotations

import random

import attrs

from .errors import TransientError

__all__ = ["RetryPolicy"]


@attrs.frozen
class RetryPolicy:
    """How many times to retry and how long to wait between attempts."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0

    def delay(self, attempt: int, error: Exception, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based) of a transient fault, or
        None to give up (too many attempts, or an error that is not transient)."""
        if attempt > self.max_retries or not isinstance(error, TransientError):
            return None
        asked = error.retry_after
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if asked is not None:
            # The provider said when (a 503 with Retry-After): wait that long, plus a little
            # jitter so a pool of workers told the same time does not return in one burst.
            return asked + rng.uniform(0, min(1.0, backoff))
        return rng.uniform(0, backoff)
