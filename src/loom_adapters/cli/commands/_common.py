"""What command handlers share: building the container (warning about broken plugins) and the
batch adapters for remembered jobs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from loom_adapters.container import Container, batch_adapters, build_adapter, create_container
from loom_core.model import BatchJob
from loom_core.ports import BatchProvider

__all__ = ["batch_providers", "open_container"]


def open_container() -> Container:
    container = create_container()
    for failure in container.plugins().failures:
        print(f"Warning: {failure}", file=sys.stderr)
    return container


def batch_providers(container: Container, api_key: str | None,
                    base_url: str | None) -> Callable[[BatchJob], BatchProvider]:
    return batch_adapters(
        lambda provider, address: build_adapter(container, provider, "batch", api_key,
                                                base_url=address),
        base_url)
