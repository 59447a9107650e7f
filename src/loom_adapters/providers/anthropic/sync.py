"""``SyncProvider`` for Anthropic: one ``messages.create`` call per prompt.

Called concurrently from the core's asyncio pool through one ``AsyncAnthropic`` client, whose
connection pool is sized to the run's concurrency (``client.py``). The request body is
``request.build_params`` (the same body a batch sends), split into ``create()``'s named
arguments and ``extra_body``; the answer becomes a ``Completion`` through
``response.completion_from_message``. Every SDK exception leaves as a ``ProviderError``.
"""

from __future__ import annotations

import anthropic

from loom_core.model import Completion, GenerationSettings
from loom_core.providers import ProviderConfig

from .client import async_client
from .errors import translated
from .request import build_params, create_arguments
from .response import completion_from_message

__all__ = ["AnthropicSync"]


class AnthropicSync:
    """Answers one prompt at a time with the Messages API."""

    def __init__(self, client: anthropic.AsyncAnthropic, api_key: str | None) -> None:
        self._client = client
        self._api_key = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig) -> AnthropicSync:
        return cls(async_client(config), config.api_key)

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        # Unsupported settings raise here, before the client is touched.
        params = build_params(model, prompt, settings)
        with translated(api_key=self._api_key, max_tokens=params.get("max_tokens")):
            message = await self._client.messages.create(**create_arguments(params))
        return completion_from_message(message)

    async def aclose(self) -> None:
        await self._client.close()
