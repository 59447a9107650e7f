"""Building the google-genai client the adapters share: key, base URL, transport, no retries.

Three choices here are deliberate:

- The adapters hand the SDK an httpx2 client of their own. Left alone, the SDK's async side
  switches to aiohttp whenever aiohttp happens to be importable, with an unbounded connection
  pool and a hidden retry (a 1-10 s sleep) on connection errors; with our client the transport
  is the same everywhere, its pool is sized to the run's concurrency, and network errors are
  httpx2's, which ``errors.translate`` knows.
- No ``retry_options``: the SDK then tries once, and Loom's own retry loop decides.
- A timeout, which the SDK otherwise leaves unset: a call that never answers would hang a run.

The ``genai.Client`` must be kept referenced while it is used: a temporary one is garbage
collected, and closes its transport, under the call still running on it.
"""

from __future__ import annotations

from typing import Any

import httpx2
from google import genai
from google.genai import types

from loom_core.errors import AuthenticationError, Option
from loom_core.providers import ProviderConfig

from ..connection_pools import Pools, limits, shared_tls_context

__all__ = ["DEFAULT_TIMEOUT", "make_async_client", "make_async_clients", "make_sync_client"]

#: Seconds one HTTP call may take before it counts as a transient failure.
DEFAULT_TIMEOUT = 600.0


def _options(config: ProviderConfig, timeout: float | None, **transport: Any) -> types.HttpOptions:
    options: dict[str, Any] = dict(transport)
    if config.base_url is not None:
        options["base_url"] = config.base_url
    if timeout is not None:
        options["timeout"] = max(1, int(timeout * 1000))  # the SDK counts milliseconds
    return types.HttpOptions(**options)


def _client(config: ProviderConfig, options: types.HttpOptions) -> genai.Client:
    try:
        return genai.Client(api_key=config.api_key, http_options=options)
    except ValueError as error:  # no key given and none in GOOGLE_API_KEY / GEMINI_API_KEY
        raise AuthenticationError(
            "No API key for google: pass ", Option("api_key"), " or set GOOGLE_API_KEY."
        ) from error


def make_async_clients(
    config: ProviderConfig, timeout: float | None = DEFAULT_TIMEOUT
) -> Pools[tuple[genai.Client, httpx2.AsyncClient]]:
    """Clients for ``client.aio`` calls with the pools they run on (closed by the caller),
    holding ``config.concurrency`` connections together in small pools (``connection_pools``)."""
    return Pools.sized(config.concurrency, lambda size: make_async_client(config, timeout, size))


def make_async_client(
    config: ProviderConfig, timeout: float | None = DEFAULT_TIMEOUT, size: int | None = None,
) -> tuple[genai.Client, httpx2.AsyncClient]:
    """A client for ``client.aio`` calls, and the pool it runs on (closed by the caller)."""
    size = max(1, size if size is not None else config.concurrency)
    http = httpx2.AsyncClient(limits=limits(size), verify=shared_tls_context(),
                              follow_redirects=True)
    # An AsyncClient that never sent anything holds no connection: nothing to close if the
    # genai client cannot be built.
    return _client(config, _options(config, timeout, httpx_async_client=http)), http


def make_sync_client(
    config: ProviderConfig, timeout: float | None = DEFAULT_TIMEOUT
) -> tuple[genai.Client, httpx2.Client]:
    """A client for blocking calls (the batch API), and its transport (closed by the caller)."""
    http = httpx2.Client(follow_redirects=True)
    try:
        return _client(config, _options(config, timeout, httpx_client=http)), http
    except BaseException:
        http.close()
        raise

