"""OpenAI's ``TokenCounter``: the remote input-token count of the Responses API.

``responses.input_tokens.count(model=, input=, instructions=)`` counts what a request would
cost; the system text (and the JSON hint JSON mode adds) goes in as instructions, the prompt as
input, so the count matches what ``loom run`` sends.
"""

from __future__ import annotations

from typing import Any

import openai

from loom_core.errors import PermanentError
from loom_core.model import GenerationSettings
from loom_core.providers import ProviderConfig

from .client import async_client
from .errors import translated
from .request import chat_messages

__all__ = ["OpenAITokens"]


class OpenAITokens:
    """``TokenCounter`` over ``AsyncOpenAI.responses.input_tokens.count``."""

    def __init__(self, client: openai.AsyncOpenAI, api_key: str | None) -> None:
        self._client = client
        self._api_key = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig) -> OpenAITokens:
        return cls(async_client(config), config.api_key)

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        messages = chat_messages(prompt, settings)
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        arguments: dict[str, Any] = {"model": model, "input": prompt}
        if system:
            arguments["instructions"] = system
        with translated(self._api_key):
            counted = await self._client.responses.input_tokens.count(**arguments)
        tokens = getattr(counted, "input_tokens", None)
        if not isinstance(tokens, int):
            raise PermanentError("OpenAI sent a token count without input_tokens")
        return tokens

    async def aclose(self) -> None:
        await self._client.close()
