"""OpenRouter's failures -> Loom's ``ProviderError`` tree.

OpenRouter fails in three shapes: an HTTP error status with ``{"error": {"code", "message"}}``;
HTTP 200 whose body is only that error object and has no choices (an upstream model failed: its
``code`` is read like an HTTP status); and, from ``requests``, timeouts and dropped connections.
402 is spent credits (a quota waiting will not bring back); a 429 says when to come back in
``Retry-After`` or ``X-RateLimit-Reset`` (epoch milliseconds). A 403 is OpenRouter's moderation
refusing the input, not a bad key, when it names what it flagged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from loom_core.errors import PermanentError, ProviderError, TransientError

from ..http_errors import error_for_status, one_line, retry_after_from_headers

__all__ = ["error_from_body", "translate", "translated"]


def _status_of(code: Any) -> int | None:
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code)
    return None


def error_from_body(status: int, body: Any, headers: Mapping[str, str] | None,
                    api_key: str | None) -> ProviderError:
    """The domain error for an error answer: an HTTP error status, or 200 with only an error
    (then ``status`` is 200 and the body's ``code`` decides)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    code = _status_of(error.get("code"))
    said = error.get("message") or (body if isinstance(body, str) else "") or "no message"
    effective = code if status == 200 else status
    if status == 200 and effective is None:
        # An upstream failure without a usable code: like a 502, worth another try.
        return TransientError(one_line(f"OpenRouter upstream error: {said}", api_key))
    label = "OpenRouter upstream error" if status == 200 else "OpenRouter"
    message = one_line(f"{label} {effective}: {said}", api_key)
    metadata = error.get("metadata")
    if effective == 403 and isinstance(metadata, Mapping) and (
            "reasons" in metadata or "flagged_input" in metadata):
        return PermanentError(message)
    return error_for_status(effective, message,
                            retry_after=retry_after_from_headers(headers or {}))


def translate(error: requests.RequestException, api_key: str | None) -> ProviderError:
    """The domain error for a request that got no HTTP answer."""
    if isinstance(error, requests.Timeout):
        return TransientError("OpenRouter: the request timed out")
    if isinstance(error, requests.ConnectionError):
        return TransientError(one_line(f"OpenRouter: could not reach the API ({error})", api_key))
    return PermanentError(one_line(f"OpenRouter: {type(error).__name__}: {error}", api_key))


@contextlib.contextmanager
def translated(api_key: str | None) -> Iterator[None]:
    """Run the block, re-raising a request that got no HTTP answer as its domain error."""
    try:
        yield
    except requests.RequestException as error:
        raise translate(error, api_key) from error
