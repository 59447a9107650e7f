"""Anthropic SDK exceptions -> Loom's ``ProviderError`` tree.

Every adapter call goes through ``translated()``, so no SDK exception
crosses a port. The status picks the class through the shared ``error_for_status``; what is
Anthropic's own is read here:

- a quota that waiting will not bring back: HTTP 402, ``billing_error``, the spend-limit
  error codes (sent as 429s, so they must be caught before the 429 rule), and the 400 "credit
  balance is too low" the API sends for an empty balance;
- 429 waits come from ``retry-after`` or the ``anthropic-ratelimit-*-reset`` headers;
- 529 (overloaded), other 5xx, timeouts and dropped connections are transient;
- the SDK's own refusal of a large non-streaming ``max_tokens`` (a ValueError raised before
  sending) becomes ``UnsupportedError``.

Messages are one line, start with ``anthropic:``, and never contain the API key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anthropic

from loom_core.errors import (
    AuthenticationError,
    LoomError,
    Option,
    PermanentError,
    ProviderError,
    TransientError,
    UnsupportedError,
)

from ..aiohttp_failures import connection_failure
from ..http_errors import error_for_status, one_line, retry_after_from_headers

__all__ = ["translate", "translated"]

# error.details.error_code values that mean the organisation is out of money, not just fast.
_QUOTA_CODES = frozenset({
    "contract_spend_limit_reached",
    "enforced_spend_limit_reached",
    "linked_organization_spend_limit_reached",
    "linked_organization_billing_unavailable",
})
# The SDK's words when it refuses a non-streaming request that may exceed 10 minutes.
_NEEDS_STREAMING = "Streaming is required"


def _is_quota(error: anthropic.APIStatusError) -> bool:
    if error.status_code == 402 or error.type == "billing_error":
        return True
    if error.error_code in _QUOTA_CODES:
        return True
    message = (error.api_message or "").lower()
    return error.status_code == 400 and "credit balance" in message


def _status_message(error: anthropic.APIStatusError) -> str:
    said = error.api_message or error.message
    kind = f" {error.type}" if error.type else ""
    return f"anthropic: HTTP {error.status_code}{kind}: {said}"


def translate(error: BaseException, api_key: str | None = None, *,
              max_tokens: int | None = None) -> ProviderError | LoomError:
    """The domain error for an exception raised by the anthropic SDK (or around it)."""
    if isinstance(error, LoomError):
        return error
    if isinstance(error, anthropic.APIStatusError):
        message = one_line(_status_message(error), api_key)
        retry_after = retry_after_from_headers(error.response.headers)
        return error_for_status(error.status_code, message, retry_after=retry_after,
                                quota=_is_quota(error))
    failure = connection_failure(error)
    if isinstance(error, anthropic.APITimeoutError) and failure is None:
        return TransientError("anthropic: the request timed out")
    if isinstance(error, anthropic.APIConnectionError):
        cause = failure or error.__cause__ or error.__context__
        detail = f": {cause}" if cause is not None and str(cause) else ""
        return TransientError(one_line(f"anthropic: connection failed{detail}", api_key))
    if isinstance(error, anthropic.CredentialsError):
        return AuthenticationError(one_line(f"anthropic: {error}", api_key))
    if isinstance(error, ValueError) and _NEEDS_STREAMING in str(error):
        asked = f" {max_tokens}" if max_tokens is not None else ""
        return UnsupportedError(
            "anthropic does not support ", Option("max_tokens"), f"{asked} without streaming, "
            f"which Loom's sync mode does not use: lower ", Option("max_tokens"),
            " (at most 21333, less for some models) or use batch mode"
        )
    if isinstance(error, anthropic.AnthropicError):
        return PermanentError(one_line(f"anthropic: {error}", api_key))
    return PermanentError(one_line(f"anthropic: {type(error).__name__}: {error}", api_key))


@contextlib.contextmanager
def translated(api_key: str | None = None, *, max_tokens: int | None = None) -> Iterator[None]:
    """Run the block, re-raising any SDK exception as its domain error."""
    try:
        yield
    except LoomError:
        raise
    except (anthropic.AnthropicError, ValueError) as error:
        raise translate(error, api_key=api_key, max_tokens=max_tokens) from error
