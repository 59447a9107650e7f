"""``TokenCounter`` for Anthropic: ``messages.count_tokens`` -> ``input_tokens``.

The count is of what a run would send: the same ``request.build_params`` body (so the system
prompt, and the JSON instruction of ``json_mode``, are counted too), cut down to the fields the
counting endpoint accepts (model, messages, system).
"""

from __future__ import annotations

import anthropic

from loom_core.errors import PermanentError
from loom_core.model import GenerationSettings
from loom_core.providers import ProviderConfig

from .client import async_client
from .errors import translated
from .request import build_params, count_arguments

__all__ = ["AnthropicTokens"]


class AnthropicTokens:
    """Counts one prompt's input tokens with Anthropic's remote counter."""

    def __init__(self, client: anthropic.AsyncAnthropic, api_key: str | None) -> None:
        self._client = client
        self._api_key = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig) -> AnthropicTokens:
        return cls(async_client(config), config.api_key)

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        params = count_arguments(build_params(model, prompt, settings))
        with translated(api_key=self._api_key):
            counted = await self._client.messages.count_tokens(**params)
        tokens = getattr(counted, "input_tokens", None)
        if not isinstance(tokens, int):
            raise PermanentError("anthropic: the token count came back without input_tokens")
        return tokens

    async def aclose(self) -> None:
        await self._client.close()
