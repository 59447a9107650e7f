"""The plugin API: everything a Loom plugin may import, and nothing else.

A provider or file-format plugin imports Loom only from here; the rest of Loom
(``loom_core``, ``loom_adapters``) may change between releases, this module's ``__all__`` may
not without notice (a test pins it). docs/plugins.md walks through writing a plugin::

    from loom.plugin import ProviderConfig, ProviderSpec, hookimpl

    @hookimpl
    def loom_register_providers(register, home):
        register(ProviderSpec(name="echo", key_env_var=None, sync=make_echo_sync))

What it holds:

- the hook markers (``hookimpl``; the hooks are documented in ``loom_core.hookspecs``);
- what a plugin registers: ``ProviderSpec`` (factories per mode), ``ProviderConfig`` (what a
  factory gets: key, address, concurrency, Loom's data folder), ``CodecSpec``;
- the ports a plugin implements: ``SyncProvider``, ``BatchProvider`` (with the optional
  ``BatchFinder`` and ``BatchIdRepair``), ``TokenCounter``, ``FileCodec``;
- the values that cross them: ``Completion``, ``GenerationSettings``, ``BatchRequest``,
  ``BatchStatus``, ``BatchLimits``, ``Record``, ``PromptTemplate``, ``RowValues``;
- the errors an adapter raises (``ProviderError`` and its kinds carry the HTTP ``status`` and
  ``route``; ``UnsupportedError``, ``UsageError``, ``InputError``, ``MissingSettingError`` for what is
  refused before sending), and ``Option``/``Remedy`` for naming a user's choice in a message without naming
  a face's flag or argument;
- building blocks for APIs shaped like OpenAI's: ``OpenAISync`` and ``OpenAIBatch`` (the
  adapters, to subclass or build with another ``ChatDialect``), ``openai_async_client`` and
  ``openai_sync_client`` (the SDK clients as Loom builds them). These load the openai SDK
  when first used, not when this module is imported.
"""

from __future__ import annotations

from typing import Any

from loom_core.codecs import CodecSpec
from loom_core.errors import (
    AuthenticationError,
    InputError,
    LoomError,
    MissingSettingError,
    Option,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    Remedy,
    TransientError,
    UnsupportedError,
    UsageError,
)
from loom_core.hookspecs import hookimpl
from loom_core.model import (
    BatchLimits,
    BatchRequest,
    BatchStatus,
    Completion,
    GenerationSettings,
    Record,
    RowKey,
)
from loom_core.ports import (
    BatchFinder,
    BatchIdRepair,
    BatchProvider,
    FileCodec,
    RowValues,
    SyncProvider,
    TokenCounter,
)
from loom_core.providers import ProviderConfig, ProviderSpec
from loom_core.template import PromptTemplate

__all__ = [
    "AuthenticationError",
    "BatchFinder",
    "BatchIdRepair",
    "BatchLimits",
    "BatchProvider",
    "BatchRequest",
    "BatchStatus",
    "ChatDialect",
    "CodecSpec",
    "Completion",
    "FileCodec",
    "GenerationSettings",
    "InputError",
    "LoomError",
    "MissingSettingError",
    "OpenAIBatch",
    "OpenAISync",
    "Option",
    "PermanentError",
    "PromptTemplate",
    "ProviderConfig",
    "ProviderError",
    "ProviderSpec",
    "QuotaExhaustedError",
    "RateLimitedError",
    "Record",
    "Remedy",
    "RowKey",
    "RowValues",
    "SyncProvider",
    "TokenCounter",
    "TransientError",
    "UnsupportedError",
    "UsageError",
    "hookimpl",
    "openai_async_client",
    "openai_sync_client",
]

#: The OpenAI-shaped building blocks, imported (with the SDK) on first use.
_OPENAI_SHAPED = {
    "ChatDialect": ("loom_adapters.providers.openai.request", "ChatDialect"),
    "OpenAIBatch": ("loom_adapters.providers.openai.batch", "OpenAIBatch"),
    "OpenAISync": ("loom_adapters.providers.openai.sync", "OpenAISync"),
    "openai_async_client": ("loom_adapters.providers.openai.client", "async_client"),
    "openai_sync_client": ("loom_adapters.providers.openai.client", "sync_client"),
}


def __getattr__(name: str) -> Any:
    if name not in _OPENAI_SHAPED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attribute = _OPENAI_SHAPED[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
