"""From a google-genai exception to a Loom domain error (``loom_core.errors``).

The Gemini API says everything in the error body, a ``google.rpc.Status``:
``{"error": {"code", "message", "status", "details": [...]}}``. Two of its details decide what
Loom does with a 429: a ``RetryInfo`` carries the wait (``"retryDelay": "45.8s"``; there is no
``Retry-After`` header), and a ``QuotaFailure`` whose quota id says ``PerDay`` means waiting a
minute will not help. A bad key is not a 401 but a 400 ``INVALID_ARGUMENT`` with an
``ErrorInfo`` reason ``API_KEY_INVALID``. Network failures come from httpx2, the transport the
adapters give the SDK (see ``client.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2
from google.genai import errors as genai_errors

from loom_core.errors import (
    LoomError,
    AuthenticationError,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    TransientError,
)

from ..http_errors import error_for_status, one_line, parse_duration

__all__ = ["api_error", "translate"]

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_BAD_KEY_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED"}


def _details(body: Any) -> Iterator[Mapping[str, Any]]:
    """The ``google.rpc`` detail objects of an error body, whatever its nesting."""
    if not isinstance(body, Mapping):
        return
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, Mapping) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping):
            yield detail


def _retry_delay(body: Any) -> float | None:
    for detail in _details(body):
        if detail.get("@type") == _RETRY_INFO and isinstance(detail.get("retryDelay"), str):
            return parse_duration(detail["retryDelay"])
    return None


def _daily_quota(body: Any) -> bool:
    """Whether a quota that ran out is a per-day one: it comes back tomorrow, not in a minute."""
    for detail in _details(body):
        if detail.get("@type") != _QUOTA_FAILURE:
            continue
        for violation in detail.get("violations") or ():
            if isinstance(violation, Mapping) and "PerDay" in str(violation.get("quotaId", "")):
                return True
    return False


def _bad_key(body: Any) -> bool:
    return any(detail.get("@type") == _ERROR_INFO and detail.get("reason") in _BAD_KEY_REASONS
               for detail in _details(body))


def api_error(code: int | None, status: str | None, message: str | None, body: Any = None,
              secret: str | None = None) -> ProviderError:
    """The domain error for a Gemini error status (also used for per-request batch errors)."""
    said = one_line(message or "no message", secret)
    label = " ".join(str(part) for part in (code, status) if part)
    text = f"Gemini API error {label}: {said}" if label else f"Gemini API error: {said}"
    if _bad_key(body):
        return AuthenticationError(f"Gemini API rejected the API key ({label}): {said}")
    if code == 429 and _daily_quota(body):
        return QuotaExhaustedError(f"{text} (a per-day quota: retry tomorrow or raise the quota)")
    return error_for_status(code, text, retry_after=_retry_delay(body))


@contextlib.contextmanager
def translated(secret: str | None = None) -> Iterator[None]:
    """Run the block, re-raising any exception out of the SDK as its domain error."""
    try:
        yield
    except LoomError:
        raise
    except Exception as error:
        raise translate(error, secret) from error


def translate(error: BaseException, secret: str | None = None) -> ProviderError:
    """Any exception out of a google-genai call, as the ``ProviderError`` Loom acts on."""
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, genai_errors.APIError):
        return api_error(error.code, error.status, error.message or str(error.details),
                         error.details, secret)
    if isinstance(error, httpx2.TimeoutException):
        return TransientError(f"Gemini API timed out ({type(error).__name__})")
    if isinstance(error, httpx2.TransportError):
        return TransientError(
            f"Gemini API unreachable: {one_line(error, secret) or type(error).__name__}")
    if isinstance(error, genai_errors.UnknownApiResponseError):
        # A 200 whose body is not JSON: a proxy's page, or a truncated answer.
        return TransientError(f"Gemini API sent an unreadable response: "
                              f"{one_line(error, secret)[:200]}")
    return PermanentError(f"Gemini API call failed: {type(error).__name__}: "
                          f"{one_line(error, secret)}")
