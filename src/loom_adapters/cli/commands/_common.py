"""What command handlers share: building the container (warning about broken plugins) and the
provider adapters, for the command's provider or for remembered jobs."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

from loom_adapters.container import (
    Container,
    batch_adapters,
    build_adapter,
    create_container,
    provider_config,
)
from loom_core.model import BatchJob, Completion, GenerationSettings
from loom_core.ports import BatchProvider, SyncProvider

__all__ = ["batch_providers", "open_container", "provider_adapter", "sync_adapter_when_needed"]


def open_container() -> Container:
    container = create_container()
    for failure in container.plugins().failures:
        print(f"Warning: {failure}", file=sys.stderr)
    return container


def provider_adapter(container: Container, provider: str, mode: str, api_key: str | None,
                     **options: Any) -> Any:
    """``build_adapter``, then the heap frozen: the SDK it imported built thousands of classes
    that live as long as the command, and frozen, the garbage collector stops walking them
    at every full collection of a run (one took 35 to 50 ms after the openai import). Only the
    command line does this; a library must not freeze its host's heap."""
    adapter = build_adapter(container, provider, mode, api_key, **options)
    gc.freeze()
    return adapter


def batch_providers(container: Container, api_key: str | None,
                    base_url: str | None) -> Callable[[BatchJob], BatchProvider]:
    return batch_adapters(
        lambda provider, address: provider_adapter(container, provider, "batch", api_key,
                                                   base_url=address),
        base_url)


def sync_adapter_when_needed(container: Container, provider: str, api_key: str | None,
                             **options: Any) -> SyncProvider:
    """The provider's sync adapter, checked now (the mode, the key) but built at its first
    call: a re-run the cache answers whole never imports the provider's SDK, which was a
    quarter of a 100,000-row re-run (0.4 s for openai, measured)."""
    spec = container.provider_registry().get(provider)
    spec.require("sync")
    config = provider_config(spec, api_key, **options)

    def build() -> SyncProvider:
        adapter = spec.build("sync", config)
        gc.freeze()  # as provider_adapter does, once the SDK is imported
        return adapter

    return _BuiltAtFirstCall(build)


class _BuiltAtFirstCall:
    def __init__(self, build: Callable[[], SyncProvider]) -> None:
        self._build = build
        self._adapter: SyncProvider | None = None

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        adapter = self._adapter
        if adapter is None:
            adapter = self._adapter = self._build()
        return await adapter.generate(model, prompt, settings)

    async def aclose(self) -> None:
        if self._adapter is not None:
            await self._adapter.aclose()
