"""Which server a command talks to, and with which key: ``ProviderConfig`` -> ``Server``.

The factories in ``loom_openai_compatible`` call ``generic_server`` (the ``openai-compatible``
provider: ``--base-url`` or ``OPENAI_COMPATIBLE_BASE_URL``, ``--api-key`` or
``OPENAI_COMPATIBLE_API_KEY`` or no key) or ``endpoint_server`` (a named endpoint of the
endpoints file) before building an adapter. No SDK is imported here.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import attrs

from loom.plugin import MissingSettingError, ProviderConfig, UsageError

from .endpoints import Endpoint

__all__ = ["BASE_URL_ENV", "GENERIC", "KEY_ENV", "PLACEHOLDER_KEY", "Server", "display_url",
           "endpoint_server", "generic_server"]

GENERIC = "openai-compatible"
BASE_URL_ENV = "OPENAI_COMPATIBLE_BASE_URL"
KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"
#: Sent when no key is given: the openai SDK refuses to build a client without one, and a
#: local server (Ollama, llama.cpp, vLLM without --api-key) ignores whatever it gets.
PLACEHOLDER_KEY = "not-needed"


@attrs.frozen
class Server:
    """One OpenAI-compatible server as a command will call it."""

    #: The provider name the user typed, which also names the server in messages.
    provider: str
    base_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    #: The variable a key for this server is read from, for the message when the server
    #: wants a key and was given none (None: no variable is set up for it).
    key_env: str | None = None
    concurrency: int = 8

    @property
    def key_to_send(self) -> str:
        return self.api_key or PLACEHOLDER_KEY

    def config(self) -> ProviderConfig:
        """The config the reused openai adapters are built from: always with a key, so that
        the SDK never falls back to ``OPENAI_API_KEY`` and sends OpenAI's key elsewhere."""
        return ProviderConfig(api_key=self.key_to_send, base_url=self.base_url,
                              concurrency=self.concurrency)


def display_url(url: str) -> str:
    """``url`` fit for a message: without credentials, query or trailing slash."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


def _checked(url: str) -> str:
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"the base URL must start with http:// or https:// "
                         f"(got {display_url(url)!r}), e.g. http://localhost:11434/v1")
    return url


def generic_server(config: ProviderConfig) -> Server:
    """The server of the ``openai-compatible`` provider; ``UsageError`` without an address."""
    if not config.base_url:
        raise MissingSettingError(GENERIC, "base_url", BASE_URL_ENV,
                                  example="http://localhost:11434/v1")
    # Loom resolved the key (the caller's > KEY_ENV > .env); a missing one is fine here.
    return Server(GENERIC, _checked(config.base_url), config.api_key, key_env=KEY_ENV,
                  concurrency=config.concurrency)


def endpoint_server(endpoint: Endpoint, config: ProviderConfig) -> Server:
    """The server of a named endpoint; ``--base-url`` still overrides the file's address."""
    provider = f"{GENERIC}:{endpoint.name}"
    # With key_env set, Loom has already resolved the key (the caller's > env > .env).
    return Server(provider, _checked(config.base_url or endpoint.base_url or ""),
                  config.api_key, key_env=endpoint.key_env, concurrency=config.concurrency)
