"""The sync and batch adapters: Loom's openai adapters, pointed at another server.

Everything that talks HTTP is Loom's OpenAI-shaped building blocks from ``loom.plugin``
(request bodies, answer parsing, error translation, the pooled clients, the Batch API flow);
this module adds what differs for a server that merely speaks the OpenAI API:

- a ``ChatDialect`` without OpenAI's own refusals (no reasoning-model rules, no cap on stop
  sequences, ``top_k`` passed through as vLLM, llama.cpp and Ollama accept it), naming the
  provider instead of OpenAI in messages;
- clients that carry only this server's key: never OpenAI's key, organisation or project,
  which the SDK would otherwise pick up from ``OPENAI_*`` environment variables;
- no OpenAI batch-size caps, and a one-line "no batch API" error where ``/files`` or
  ``/batches`` does not exist (most servers other than vLLM);
- a hint on how to give a key when a server refuses a call made without one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import openai

from loom.plugin import (
    AuthenticationError,
    BatchRequest,
    BatchStatus,
    ChatDialect,
    Completion,
    GenerationSettings,
    OpenAIBatch,
    OpenAISync,
    Option,
    PermanentError,
    UnsupportedError,
    openai_async_client,
    openai_sync_client,
)

from .server import Server, display_url

__all__ = ["CompatibleBatch", "CompatibleSync", "client_options", "dialect_for"]

# Statuses with which a server says it has no such route (FastAPI answers 405 when only
# another method exists at the path).
_NO_ROUTE = (404, 405)


def dialect_for(provider: str) -> ChatDialect:
    """What a generic OpenAI-compatible server accepts: everything Loom can send."""
    return ChatDialect(name=provider, supports_top_k=True, label=provider)


def client_options(server: Server) -> dict[str, Any]:
    """openai SDK constructor options that keep OpenAI's own settings away from this server."""
    return {"default_headers": {
        # The SDK fills these from OPENAI_ORG_ID / OPENAI_PROJECT_ID; Omit removes them.
        "OpenAI-Organization": openai.Omit(),
        "OpenAI-Project": openai.Omit(),
        # Stated explicitly, so that an Authorization header in OPENAI_CUSTOM_HEADERS (meant
        # for OpenAI or its gateway) is dropped by the SDK instead of sent here.
        "Authorization": f"Bearer {server.key_to_send}",
    }}


@contextmanager
def _key_hint(server: Server) -> Iterator[None]:
    """When a server refuses a call sent without a key, say how to give one."""
    try:
        yield
    except AuthenticationError as error:
        if server.api_key is not None:
            raise
        if server.key_env:
            how = (Option("api_key"), f" or set {server.key_env}")
        else:
            how = (Option("api_key"), ", or add key_env = \"VARIABLE\" to the endpoint and "
                                      "set VARIABLE")
        raise AuthenticationError(*error.parts, " (no API key was given: pass ", *how, ")",
                                  status=error.status, route=error.route) from error


def _refused_route(error: PermanentError) -> tuple[str, str, int] | None:
    """(method, path, status) when ``error`` is the server saying a route does not exist."""
    if error.status not in _NO_ROUTE or error.route is None:
        return None
    method, path = error.route
    return method, path, error.status


def _relative(path: str, base_url: str) -> str:
    base = urlsplit(base_url).path.rstrip("/")
    return path[len(base):] if base and path.startswith(base + "/") else path


class CompatibleSync(OpenAISync):
    """``SyncProvider``: OpenAI's sync adapter with this server's dialect and clients."""

    def __init__(self, server: Server) -> None:
        config = server.config()
        super().__init__(openai_async_client(config, client_options(server)), config.api_key,
                         dialect_for(server.provider))
        self._server = server

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        with _key_hint(self._server):
            return await super().generate(model, prompt, settings)


class CompatibleBatch(OpenAIBatch):
    """``BatchProvider``: OpenAI's Batch API flow against a server that has one (vLLM)."""

    # OpenAI's per-file caps are OpenAI's; other servers state their own limits, if any.
    max_requests = None
    max_file_bytes = None

    def __init__(self, server: Server) -> None:
        config = server.config()
        super().__init__(openai_sync_client(config, client_options(server)), config.api_key,
                         dialect_for(server.provider))
        self._server = server

    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        with _key_hint(self._server):
            try:
                return super().submit(model, requests, settings, metadata)
            except PermanentError as error:
                refused = _refused_route(error)
                if refused is None:
                    raise
                method, path, status = refused
                # Raised before Loom records anything: there is no batch to fetch later.
                raise UnsupportedError.mode_missing(
                    self._server.provider, "batch",
                    f"the server at {display_url(self._server.base_url)} has no batch API "
                    f"({method} {_relative(path, self._server.base_url)} answered {status})",
                ) from error

    def status(self, batch_id: str) -> BatchStatus:
        with _key_hint(self._server):
            try:
                return super().status(batch_id)
            except PermanentError as error:
                if _refused_route(error) is None:
                    raise
                # Most likely the address changed since `loom run` (for example a different
                # OPENAI_COMPATIBLE_BASE_URL): say where Loom looked.
                raise PermanentError(
                    *error.parts, f" (asked the server at {display_url(self._server.base_url)}; "
                    f"if the batch was submitted elsewhere, pass that server's ",
                    Option("base_url"), ")", status=error.status, route=error.route,
                ) from error

    def results(self, batch_id: str) -> Iterator[tuple[str, Completion]]:
        with _key_hint(self._server):
            yield from super().results(batch_id)

    def cancel(self, batch_id: str) -> None:
        with _key_hint(self._server):
            super().cancel(batch_id)
