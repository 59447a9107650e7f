"""Building the anthropic SDK clients the adapters use, the same way for every mode.

Retries are off (``max_retries=0``): Loom's own loop in ``loom_core.retry`` retries rate limits
and transient faults, and SDK retries underneath would multiply attempts and waits. The key
and base URL come from ``ProviderConfig`` (the SDK would also read ``ANTHROPIC_API_KEY`` and
``ANTHROPIC_BASE_URL`` itself; being explicit keeps ``--api-key`` in charge). anthropic 2.14
sends the key as ``Authorization: Bearer``.

The async client runs on the SDK's aiohttp transport (``anthropic[aiohttp]``), as the openai
one does and for the same measured reason (its client CPU per call; see the openai
``client`` module), with a connection for each call in flight, so a pool of workers never
queues behind the HTTP client. The SDK's default timeout is kept, which also keeps the SDK's
check that refuses a non-streaming ``max_tokens`` too large to finish in 10 minutes (see
``errors.py``).
"""

from __future__ import annotations

import anthropic

from loom_core.providers import ProviderConfig

from ..connection_pools import limits, shared_tls_context

__all__ = ["async_client", "sync_client"]


def _common(config: ProviderConfig) -> dict:
    options: dict = {"api_key": config.api_key, "max_retries": 0}
    if config.base_url is not None:
        options["base_url"] = config.base_url
    return options


def async_client(config: ProviderConfig) -> anthropic.AsyncAnthropic:
    """The client for sync generation and token counting; close it with ``close()``."""
    http_client = anthropic.DefaultAioHttpClient(limits=limits(max(1, config.concurrency)),
                                                 verify=shared_tls_context())
    return anthropic.AsyncAnthropic(http_client=http_client, **_common(config))


def sync_client(config: ProviderConfig) -> anthropic.Anthropic:
    """The blocking client for the Message Batches API."""
    return anthropic.Anthropic(**_common(config))
