"""The ``anthropic`` provider plugin: batch, sync and token counting over the anthropic SDK.

Registered through the ``loom`` entry point ``anthropic`` like any third-party plugin. The
factories import the adapters (and so the SDK) only when a command builds one, so loading the
plugin for ``loom --help`` stays cheap. Modules:

- ``request``  GenerationSettings -> Messages API body (shared by every mode)
- ``response`` Message -> Completion
- ``errors``   SDK exceptions -> ProviderError
- ``client``   the SDK clients, retries off, pool sized to the run
- ``sync``, ``batch``, ``tokens``: the three ports
"""

from __future__ import annotations

from loom_core.hookspecs import hookimpl
from loom_core.providers import ProviderConfig, ProviderSpec

__all__ = ["loom_register_providers"]


def _batch(config: ProviderConfig):
    from .batch import AnthropicBatch

    return AnthropicBatch.from_config(config)


def _sync(config: ProviderConfig):
    from .sync import AnthropicSync

    return AnthropicSync.from_config(config)


def _tokens(config: ProviderConfig):
    from .tokens import AnthropicTokens

    return AnthropicTokens.from_config(config)


@hookimpl
def loom_register_providers(register) -> None:
    register(ProviderSpec(
        name="anthropic",
        key_env_var="ANTHROPIC_API_KEY",
        base_url_env_var="ANTHROPIC_BASE_URL",
        batch=_batch,
        sync=_sync,
        tokens=_tokens,
        description="Anthropic Claude: Message Batches (50% off), Messages, token counting.",
    ))
