"""OpenRouter's ``SyncProvider``: ``POST {base}/chat/completions`` over ``requests``.

``requests`` blocks, and the port is async: each call runs in a thread pool of the run's own
size (asyncio's default executor is smaller than a large ``--workers``), over one
``requests.Session`` whose connection pool is sized likewise, so every worker keeps a
connection alive. The body is OpenAI's (``openai.request.chat_body`` with the OpenRouter
dialect) and so is the answer's shape (``openai.response.completion_from_chat``); neither
imports the openai SDK.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from loom_core.errors import TransientError
from loom_core.model import Completion, GenerationSettings
from loom_core.providers import ProviderConfig

from ..openai.request import OPENROUTER, chat_body
from ..openai.response import completion_from_chat
from ..http_errors import one_line
from .errors import error_from_body, translated

__all__ = ["DEFAULT_BASE_URL", "OpenRouterSync"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
#: (connect, read) seconds: a long answer from a slow model may take minutes.
TIMEOUT = (10.0, 600.0)


class OpenRouterSync:
    """``SyncProvider`` over OpenRouter's OpenAI-compatible chat endpoint."""

    def __init__(self, api_key: str | None, base_url: str | None = None,
                 concurrency: int = 8, timeout: tuple[float, float] = TIMEOUT) -> None:
        self._api_key = api_key
        self._timeout = timeout
        self._url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        size = max(1, concurrency)
        self._executor = ThreadPoolExecutor(max_workers=size,
                                            thread_name_prefix="loom-openrouter")
        self._session = requests.Session()
        # Retries stay with Loom's retry loop; the pool holds one connection per worker.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"

    @classmethod
    def from_config(cls, config: ProviderConfig) -> OpenRouterSync:
        return cls(config.api_key, config.base_url, config.concurrency)

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        # Built first: a setting OpenRouter cannot honour is refused before anything is sent.
        body = chat_body(model, prompt, settings, OPENROUTER)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, body)

    def _call(self, body: dict[str, Any]) -> Completion:
        with translated(self._api_key):
            response = self._session.post(self._url, json=body, timeout=self._timeout)
        try:
            data = response.json()
        except ValueError:
            data = response.text[:300]
        if response.status_code != 200:
            raise error_from_body(response.status_code, data, response.headers, self._api_key)
        if not isinstance(data, dict):
            raise TransientError(one_line(f"OpenRouter sent a body that is not a JSON object: "
                                       f"{str(data)[:200]}", self._api_key))
        if data.get("error") and not data.get("choices"):
            raise error_from_body(200, data, response.headers, self._api_key)
        return completion_from_chat(data, "OpenRouter")

    async def aclose(self) -> None:
        # Every call has returned by now; nothing is left to wait for.
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._session.close()
