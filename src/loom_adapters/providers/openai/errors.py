"""openai SDK exceptions -> Loom's ``ProviderError`` tree.

Every SDK call in this package runs inside ``translated(api_key)``, so no SDK exception crosses
a port: status errors map by HTTP status (with OpenAI's ``insufficient_quota`` as a quota that
waiting will not bring back, and the wait read from the rate-limit headers), timeouts and
dropped connections are transient (a refused connection is told from a timeout, see
``aiohttp_failures``). Messages are one line, say what the API said, and never
contain the key. ``label`` names the API in them: "OpenAI" here, the provider's name when the
openai-compatible plugin reuses these adapters for another server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import openai

from loom_core.errors import PermanentError, ProviderError, TransientError

from ..aiohttp_failures import connection_failure
from ..http_errors import error_for_status, one_line, retry_after_from_headers

__all__ = ["translate", "translated"]

_QUOTA_CODES = ("insufficient_quota",)


def translate(error: Exception, api_key: str | None = None,
                 label: str = "OpenAI") -> ProviderError:
    """The domain error for an exception raised by the openai SDK (or its HTTP layer)."""
    if isinstance(error, openai.APIStatusError):
        body = error.body if isinstance(error.body, dict) else {}
        said = body.get("message") or error.message
        code = body.get("code") or body.get("type")
        said_by = f"{label} {error.status_code}" + (f" {code}" if code else "")
        quota = body.get("code") in _QUOTA_CODES or body.get("type") in _QUOTA_CODES
        request = error.response.request
        return error_for_status(
            error.status_code, one_line(f"{said_by}: {said}", api_key),
            retry_after=retry_after_from_headers(error.response.headers), quota=quota,
            route=(request.method, request.url.path),
        )
    failure = connection_failure(error)
    if isinstance(error, openai.APITimeoutError) and failure is None:
        return TransientError(f"{label}: the request timed out")
    if isinstance(error, openai.APIConnectionError):
        cause = failure or error.__cause__ or error.__context__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return TransientError(one_line(f"{label}: could not reach the API{detail}", api_key))
    if isinstance(error, httpx2.TimeoutException):
        return TransientError(f"{label}: the request timed out")
    if isinstance(error, httpx2.TransportError):
        # Raised directly (not wrapped by the SDK) while a streamed download is being read.
        return TransientError(one_line(f"{label}: the connection failed ({error})", api_key))
    return PermanentError(one_line(f"{label}: {type(error).__name__}: {error}", api_key))


@contextmanager
def translated(api_key: str | None, label: str = "OpenAI") -> Iterator[None]:
    """Run the block, turning any SDK exception into its domain error."""
    try:
        yield
    except (openai.OpenAIError, httpx2.HTTPError) as error:
        raise translate(error, api_key, label) from error
