"""OpenAI's ``SyncProvider``: one chat completion per prompt, through the async SDK client.

The body comes from ``request.chat_body`` (the same one every batch line carries) and the
answer is read by ``response.completion_from_chat``; SDK exceptions become domain errors in
``errors.translated``.
"""

from __future__ import annotations

from typing import Any

import openai

from loom_core.model import Completion, GenerationSettings
from loom_core.providers import ProviderConfig

from .client import async_client
from .errors import translated
from .request import OPENAI, chat_body
from .response import completion_from_chat

__all__ = ["OpenAISync", "split_for_sdk"]

#: Body fields ``chat_body`` sets that ``chat.completions.create`` takes as arguments; any
#: other field (a user's ``extra``) travels in ``extra_body``, merged into the JSON unchanged.
_SDK_ARGUMENTS = frozenset({
    "model", "messages", "temperature", "max_tokens", "max_completion_tokens", "top_p",
    "stop", "seed", "presence_penalty", "frequency_penalty", "response_format",
})


def split_for_sdk(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keyword arguments for ``create``, the rest for ``extra_body``)."""
    arguments = {k: v for k, v in body.items() if k in _SDK_ARGUMENTS}
    extra = {k: v for k, v in body.items() if k not in _SDK_ARGUMENTS}
    return arguments, extra


class OpenAISync:
    """``SyncProvider`` over ``AsyncOpenAI.chat.completions.create``."""

    def __init__(self, client: openai.AsyncOpenAI, api_key: str | None) -> None:
        self._client = client
        self._api_key = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig) -> OpenAISync:
        return cls(async_client(config), config.api_key)

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        # Built first: a setting OpenAI cannot honour is refused before anything is sent.
        arguments, extra = split_for_sdk(chat_body(model, prompt, settings, OPENAI))
        with translated(self._api_key):
            response = await self._client.chat.completions.create(
                **arguments, extra_body=extra or None,
            )
        return completion_from_chat(response.to_dict(), "OpenAI")

    async def aclose(self) -> None:
        await self._client.close()
