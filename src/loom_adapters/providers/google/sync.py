"""``SyncProvider`` for Gemini: one ``generateContent`` call per prompt (``loom run --sync``).

Called concurrently from Loom's asyncio pool through the SDK's async client (``client.aio``);
the pool of HTTP connections is sized to the run's concurrency (see ``client.py``). Retries are
Loom's: every failure leaves here as a ``ProviderError`` saying whether to retry and when.
"""

from __future__ import annotations

import httpx2
from google import genai

from loom_core.model import Completion, GenerationSettings
from loom_core.providers import ProviderConfig

from ..connection_pools import Pools
from .client import DEFAULT_TIMEOUT, make_async_clients
from .errors import translated
from .request import GeminiRequest, user_turn
from .response import as_json, completion_from_json

__all__ = ["GoogleSync"]


class GoogleSync:
    """Answers one prompt with ``models.generate_content``."""

    def __init__(self, clients: Pools[tuple[genai.Client, httpx2.AsyncClient]],
                 api_key: str | None) -> None:
        # Kept on the instance: a genai.Client that is garbage collected closes its transport.
        self._clients = clients
        self._secret = api_key
        # A run has one settings object: checked and converted once, not once per prompt.
        self._requests: dict[GenerationSettings, GeminiRequest] = {}

    @classmethod
    def from_config(cls, config: ProviderConfig, *,
                    timeout: float | None = DEFAULT_TIMEOUT) -> GoogleSync:
        return cls(make_async_clients(config, timeout), config.api_key)

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        client = self._clients.next()[0]
        request = self._requests.get(settings)
        if request is None:  # UnsupportedError before anything is sent
            request = self._requests[settings] = GeminiRequest(settings, client._api_client)
        with translated(self._secret):
            response = await client.aio.models.generate_content(
                model=model, contents=[user_turn(prompt)], config=request.config)
        return completion_from_json(as_json(response))

    async def aclose(self) -> None:
        for client, http in self._clients.clients:
            await http.aclose()
            # The SDK built an idle blocking transport beside ours; release it too.
            client.close()
