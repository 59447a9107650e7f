"""``TokenCounter`` for Gemini: ``models.countTokens`` for one prompt (``loom tokens``).

The Gemini API's countTokens takes no system instruction (the SDK refuses one before sending),
so a system prompt is counted as a user turn ahead of the prompt: the same text, so the same
tokens, give or take the few that frame a turn.
"""

from __future__ import annotations

import httpx2
from google import genai

from loom_core.errors import PermanentError
from loom_core.model import GenerationSettings
from loom_core.providers import ProviderConfig

from ..connection_pools import Pools
from .client import DEFAULT_TIMEOUT, make_async_clients
from .errors import translated
from .request import check_supported, user_turn

__all__ = ["GoogleTokens"]


class GoogleTokens:
    """Counts a prompt's input tokens remotely."""

    def __init__(self, clients: Pools[tuple[genai.Client, httpx2.AsyncClient]],
                 api_key: str | None) -> None:
        self._clients = clients
        self._secret = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig, *,
                    timeout: float | None = DEFAULT_TIMEOUT) -> GoogleTokens:
        return cls(make_async_clients(config, timeout), config.api_key)

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        check_supported(settings)
        contents = [user_turn(prompt)]
        if settings.system:
            contents.insert(0, user_turn(settings.system))
        with translated(self._secret):
            response = await self._clients.next()[0].aio.models.count_tokens(
                model=model, contents=contents)
        if response.total_tokens is None:
            raise PermanentError("Gemini API answered countTokens without totalTokens")
        return response.total_tokens

    async def aclose(self) -> None:
        for client, http in self._clients.clients:
            await http.aclose()
            client.close()
