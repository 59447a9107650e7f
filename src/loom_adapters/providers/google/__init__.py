"""The ``google`` provider plugin: Gemini through the official ``google-genai`` SDK.

Batch (``batch.py``), sync (``sync.py``) and token counting (``tokens.py``), on one client
recipe (``client.py``) and one translation of settings (``request.py``), answers
(``response.py``) and errors (``errors.py``). The SDK is imported only when a factory runs, so
``loom --help`` never pays for it. The key comes from ``GOOGLE_API_KEY``; the API's address
can be moved with ``GOOGLE_GEMINI_BASE_URL`` (proxies, gateways, the test emulator).
"""

from __future__ import annotations

from loom_core.hookspecs import hookimpl
from loom_core.providers import ProviderConfig, ProviderSpec

__all__ = ["loom_register_providers"]


def _batch(config: ProviderConfig):
    from .batch import GoogleBatch

    return GoogleBatch.from_config(config)


def _sync(config: ProviderConfig):
    from .sync import GoogleSync

    return GoogleSync.from_config(config)


def _tokens(config: ProviderConfig):
    from .tokens import GoogleTokens

    return GoogleTokens.from_config(config)


@hookimpl
def loom_register_providers(register) -> None:
    register(ProviderSpec(
        name="google",
        key_env_var="GOOGLE_API_KEY",
        base_url_env_var="GOOGLE_GEMINI_BASE_URL",
        batch=_batch,
        sync=_sync,
        tokens=_tokens,
        description="Google Gemini (google-genai): batch, sync and token counting.",
    ))
