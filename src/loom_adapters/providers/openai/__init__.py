"""The ``openai`` provider plugin: batch, sync and token counting over the openai SDK.

Registered through the ``loom`` entry point ``openai = "loom_adapters.providers.openai"``.
The factories import the adapters (and so the SDK) only when a command builds one, so that
``loom --help`` and ``loom list`` never load ``openai``. The SDK-free modules ``request`` and
``response`` are shared with the openrouter plugin.
"""

from __future__ import annotations

from loom_core.hookspecs import hookimpl
from loom_core.ports import BatchProvider, SyncProvider, TokenCounter
from loom_core.providers import ProviderConfig, ProviderSpec

__all__ = ["SPEC", "loom_register_providers"]


def _batch(config: ProviderConfig) -> BatchProvider:
    from .batch import OpenAIBatch

    return OpenAIBatch.from_config(config)


def _sync(config: ProviderConfig) -> SyncProvider:
    from .sync import OpenAISync

    return OpenAISync.from_config(config)


def _tokens(config: ProviderConfig) -> TokenCounter:
    from .tokens import OpenAITokens

    return OpenAITokens.from_config(config)


SPEC = ProviderSpec(
    name="openai",
    key_env_var="OPENAI_API_KEY",
    base_url_env_var="OPENAI_BASE_URL",
    batch=_batch,
    sync=_sync,
    tokens=_tokens,
    description="OpenAI: Batch API, chat completions, and remote input-token counts.",
)


@hookimpl
def loom_register_providers(register) -> None:
    register(SPEC)
