"""Building the openai SDK clients the adapters use, the same way every time.

Retries are off (Loom's own retry loop in ``loom_core.retry`` decides, so attempts and waits do
not multiply), the key and base URL come from ``ProviderConfig`` (the SDK would also read
``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` itself), and the async client's connection pool holds
as many connections as the run keeps calls in flight, spread over small pools. ``options``
adds SDK constructor arguments (the openai-compatible plugin passes its own headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai

from loom_core.providers import ProviderConfig

from ..connection_pools import Pools, limits, shared_tls_context

__all__ = ["async_client", "async_clients", "sync_client"]


def _common(config: ProviderConfig, options: Mapping[str, Any] | None) -> dict[str, Any]:
    common: dict[str, Any] = {"api_key": config.api_key, "max_retries": 0}
    if config.base_url is not None:
        common["base_url"] = config.base_url
    common.update(options or {})
    return common


def async_clients(config: ProviderConfig,
                  options: Mapping[str, Any] | None = None) -> Pools[openai.AsyncOpenAI]:
    """Async clients for ``config.concurrency`` calls in flight, in small pools (see
    ``connection_pools``); callers take ``.next()`` for each call."""
    return Pools.sized(config.concurrency, lambda size: async_client(config, size, options))


def async_client(config: ProviderConfig, size: int | None = None,
                 options: Mapping[str, Any] | None = None) -> openai.AsyncOpenAI:
    """One async client with a pool of ``size`` connections (default: the run's concurrency);
    close it with ``await client.close()``."""
    size = max(1, size if size is not None else config.concurrency)
    # DefaultAsyncHttpxClient keeps the SDK's timeouts and redirects; only the pool changes,
    # so that every worker of the pool has a connection of its own.
    http_client = openai.DefaultAsyncHttpxClient(limits=limits(size),
                                                 verify=shared_tls_context())
    return openai.AsyncOpenAI(http_client=http_client, **_common(config, options))


def sync_client(config: ProviderConfig,
                options: Mapping[str, Any] | None = None) -> openai.OpenAI:
    """The client for batch work: a handful of calls, one at a time."""
    return openai.OpenAI(**_common(config, options))
