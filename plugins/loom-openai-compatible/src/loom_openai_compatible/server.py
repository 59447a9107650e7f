"""Which server a command talks to, and with which key: ``ProviderConfig`` -> ``Server``.

The factories in ``loom_openai_compatible`` call ``generic_server`` (the ``openai-compatible``
provider: ``--base-url`` or ``OPENAI_COMPATIBLE_BASE_URL``, ``--api-key`` or
``OPENAI_COMPATIBLE_API_KEY`` or no key) or ``endpoint_server`` (a named endpoint of the
endpoints file) before building an adapter. No SDK is imported here.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import attrs

from loom_core.errors import UsageError
from loom_core.providers import ProviderConfig

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
    #: How a key is given to this provider, for the message when the server wants one.
    key_hint: str = ""
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
        raise UsageError(f"Error: the base URL must start with http:// or https:// "
                         f"(got {display_url(url)!r}), e.g. http://localhost:11434/v1")
    return url


def generic_server(config: ProviderConfig) -> Server:
    """The server of the ``openai-compatible`` provider; ``UsageError`` without an address."""
    if not config.base_url:
        raise UsageError(
            f"Error: {GENERIC} needs the server's address: pass --base-url URL or set "
            f"{BASE_URL_ENV} (e.g. http://localhost:11434/v1)."
        )
    from loom_adapters.keys import resolve_api_key

    # Registered without key_env_var (a missing key is fine here), so the container only
    # looked at --api-key; the environment and .env are read here.
    key = config.api_key or resolve_api_key(None, KEY_ENV)
    return Server(GENERIC, _checked(config.base_url), key,
                  key_hint=f"pass --api-key or set {KEY_ENV}", concurrency=config.concurrency)


def endpoint_server(endpoint: Endpoint, config: ProviderConfig) -> Server:
    """The server of a named endpoint; ``--base-url`` still overrides the file's address."""
    provider = f"{GENERIC}:{endpoint.name}"
    hint = (f"pass --api-key or set {endpoint.key_env}" if endpoint.key_env else
            "pass --api-key, or add key_env = \"VARIABLE\" to the endpoint and set VARIABLE")
    # With key_env set, the container has already resolved it (--api-key > env > .env).
    return Server(provider, _checked(config.base_url or endpoint.base_url or ""),
                  config.api_key, key_hint=hint, concurrency=config.concurrency)
