"""From an HTTP failure to a domain error: shared by every provider adapter.

Providers say "wait" in different ways (``Retry-After`` in seconds or as a date,
``retry-after-ms``, OpenAI's ``x-ratelimit-reset-*`` durations like ``6m0s``, Anthropic's
``anthropic-ratelimit-*-reset`` timestamps, OpenRouter's ``X-RateLimit-Reset`` in epoch
milliseconds); ``retry_after_from_headers`` reads them all. ``error_for_status`` then picks the
``ProviderError`` subclass that tells Loom's retry loop what to do, and ``one_line`` makes
every message one line with the API key masked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)

__all__ = ["error_for_status", "one_line", "parse_duration", "retry_after_from_headers"]

#: Shorter "keys" are not masked: a test's "k" would only mangle every word holding that letter.
_SHORTEST_MASKED_KEY = 4


def one_line(text: object, secret: str | None = None) -> str:
    """``text`` with every run of whitespace (newlines included) one space, and ``secret``, the
    API key should a provider's message echo it, masked."""
    line = " ".join(str(text).split())
    if secret and len(secret) >= _SHORTEST_MASKED_KEY:
        line = line.replace(secret, "***")
    return line


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_RESET_HEADERS = (
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
    "x-ratelimit-reset",
)
#: Statuses worth retrying: timeouts, conflicts, server errors, Anthropic's "overloaded" 529.
_TRANSIENT = {408, 409, 425, 500, 502, 503, 504, 529}


def parse_duration(text: str) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m"``, ``"45.8s"`` -> seconds; None if not one."""
    text = text.strip()
    if not text:
        return None
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        position = match.end()
    return total if position == len(text) else None


def _seconds_until(value: str, now: float) -> float | None:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        # Epoch milliseconds (OpenRouter), epoch seconds, or a plain number of seconds.
        if number > 1e12:
            return max(0.0, number / 1000 - now)
        if number > 1e9:
            return max(0.0, number - now)
        return max(0.0, number)
    duration = parse_duration(value)
    if duration is not None:
        return duration
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def retry_after_from_headers(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """How long the provider asked us to wait, in seconds, or None if it did not say."""
    if not headers:
        return None
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    if "retry-after" in lowered:
        seconds = _seconds_until(lowered["retry-after"], now)
        if seconds is not None:
            return seconds
    waits = [s for name in _RESET_HEADERS if name in lowered
             for s in [_seconds_until(lowered[name], now)] if s is not None]
    return max(waits) if waits else None


def error_for_status(status: int | None, message: str, *, retry_after: float | None = None,
                     quota: bool = False,
                     route: tuple[str, str] | None = None) -> ProviderError:
    """The domain error for an HTTP status (None: no response at all, e.g. a dropped link);
    ``route`` is the request it answered (method, path), kept on the error as data."""
    details = {"status": status, "route": route}
    if status is None:
        return TransientError(message, **details)
    if status in (401, 403):
        return AuthenticationError(message, **details)
    if status == 402 or quota:
        return QuotaExhaustedError(message, **details)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after, **details)
    if status in _TRANSIENT:
        return TransientError(message, retry_after=retry_after, **details)
    return PermanentError(message, **details)
