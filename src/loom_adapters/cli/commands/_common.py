"""What every command handler does first: build the container, warn about broken plugins,
and turn ``--provider``/``--api-key`` into a ready adapter."""

from __future__ import annotations

import sys
from typing import Any

from loom_adapters.container import Container, create_container, provider_config

__all__ = ["adapter_for", "open_container"]


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
