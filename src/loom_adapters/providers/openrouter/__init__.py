"""The ``openrouter`` provider plugin: sync only, over ``requests``.

OpenRouter has neither a batch API nor a remote token counter: the spec has no factory for
those modes, and its messages are the ones the user sees (``loom run`` without ``--sync`` and
``loom tokens`` exit 2 with them). The factory imports the adapter (and ``requests``) only when
a sync run builds it.
"""

from __future__ import annotations

from loom_core.hookspecs import hookimpl
from loom_core.ports import SyncProvider
from loom_core.providers import ProviderConfig, ProviderSpec

__all__ = ["NO_BATCH_REASON", "NO_TOKENS_REASON", "SPEC", "loom_register_providers"]

NO_BATCH_REASON = "OpenRouter has no batch API"
NO_TOKENS_REASON = "OpenRouter has no remote token-counting API"


def _sync(config: ProviderConfig) -> SyncProvider:
    from .sync import OpenRouterSync

    return OpenRouterSync.from_config(config)


SPEC = ProviderSpec(
    name="openrouter",
    key_env_var="OPENROUTER_API_KEY",
    base_url_env_var="OPENROUTER_BASE_URL",
    sync=_sync,
    no_batch_reason=NO_BATCH_REASON,
    no_tokens_reason=NO_TOKENS_REASON,
    description="OpenRouter: chat completions through one API to many models (sync only).",
)


@hookimpl
def loom_register_providers(register) -> None:
    register(SPEC)
