"""What every command handler does first: build the container, warn about broken plugins,
and turn ``--provider``/``--api-key`` into a ready adapter."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from loom_adapters.container import Container, create_container, provider_config
from loom_core.model import BatchJob
from loom_core.ports import BatchProvider

__all__ = ["adapter_for", "batch_providers", "open_container"]


def open_container() -> Container:
    container = create_container()
    for failure in container.plugins().failures:
        print(f"Warning: {failure}", file=sys.stderr)
    return container


def adapter_for(container: Container, provider: str, mode: str, api_key: str | None,
                concurrency: int = 8, base_url: str | None = None) -> Any:
    """The provider's adapter for ``mode``; unsupported modes are refused before any key is
    looked for, so the user hears the real reason first."""
    spec = container.provider_registry().get(provider)
    spec.require(mode)
    return spec.build(mode, provider_config(spec, api_key, concurrency=concurrency,
                                            base_url=base_url))


def batch_providers(container: Container, api_key: str | None,
                    base_url: str | None) -> Callable[[BatchJob], BatchProvider]:
    """Batch adapters for remembered jobs, one per provider and address, built when needed."""
    adapters: dict[tuple[str, str | None], BatchProvider] = {}

    def provider_for(job: BatchJob) -> BatchProvider:
        # A batch lives at the address it was submitted to, unless --base-url moves it.
        where = (job.provider, base_url or job.base_url)
        if where not in adapters:
            adapters[where] = adapter_for(container, job.provider, "batch", api_key,
                                          base_url=where[1])
        return adapters[where]

    return provider_for
