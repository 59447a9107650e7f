"""The composition root: the one place that wires ports to adapters (dependency-injector).

The CLI and the library facade get everything from a ``Container``; tests override one
provider (for example ``container.plugins.override(...)``) instead of patching modules. Building
a container is cheap; plugins load on first use, and provider SDKs only when a factory runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from dependency_injector import containers, providers

from loom_core.errors import MissingKeyError
from loom_core.model import BatchJob
from loom_core.ports import BatchProvider
from loom_core.providers import ProviderConfig, ProviderSpec

from .cache.sqlite_cache import SqliteResponseCache
from .keys import resolve_api_key
from .paths import LoomPaths
from .plugins import PLUGINS_ENV_VAR, allowed_plugins, load_plugins
from .state.file_store import FileStateStore

__all__ = [
    "Container", "batch_adapters", "build_adapter", "create_container", "provider_config",
]


class Container(containers.DeclarativeContainer):
    """Loom's object graph; every singleton is built on first use."""

    environ = providers.Object(os.environ)
    paths = providers.Singleton(LoomPaths.from_env, environ)
    plugins = providers.Singleton(
        load_plugins,
        providers.Callable(lambda env: allowed_plugins(env.get(PLUGINS_ENV_VAR)), environ),
    )
    provider_registry = providers.Singleton(lambda loaded: loaded.providers(), plugins)
    codec_registry = providers.Singleton(lambda loaded: loaded.codecs(), plugins)
    state_store = providers.Singleton(FileStateStore, paths.provided.batches)
    response_cache = providers.Singleton(SqliteResponseCache, paths.provided.cache)


def create_container() -> Container:
    return Container()


def provider_config(spec: ProviderSpec, api_key: str | None, *, concurrency: int = 8,
                    base_url: str | None = None,
                    environ: Mapping[str, str] | None = None) -> ProviderConfig:
    """Resolve a provider's key (flag > environment > .env) and base URL (flag > environment).

    Raises ``MissingKeyError`` naming the environment variable when a key is needed and none
    is found.
    """
    key = resolve_api_key(api_key, spec.key_env_var)
    if key is None and spec.key_env_var is not None:
        raise MissingKeyError(spec.name, spec.key_env_var)
    return ProviderConfig(api_key=key, base_url=_address(spec, base_url, environ),
                          concurrency=concurrency)


def _address(spec: ProviderSpec, base_url: str | None,
             environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    if base_url is None and spec.base_url_env_var:
        base_url = env.get(spec.base_url_env_var)
    return base_url or None


def batch_address(container: Container, provider: str, base_url: str | None = None) -> str | None:
    """The address a new batch of ``provider`` remembers: ``base_url`` (the flag), or, for a
    provider whose base URL is the server itself, its variable, so that ``loom fetch`` asks
    the server the batch is on whatever the variable says by then."""
    spec = container.provider_registry().get(provider)
    return _address(spec, base_url) if spec.base_url_is_server else base_url


def build_adapter(container: Container, provider: str, mode: str, api_key: str | None = None,
                  *, concurrency: int = 8, base_url: str | None = None) -> Any:
    """The provider's adapter for ``mode``; a mode the provider lacks is refused before any
    key is looked for, so the user hears the real reason first."""
    spec = container.provider_registry().get(provider)
    spec.require(mode)
    return spec.build(mode, provider_config(spec, api_key, concurrency=concurrency,
                                            base_url=base_url))


def batch_adapters(build: Callable[[str, str | None], BatchProvider],
                   base_url: str | None = None) -> Callable[[BatchJob], BatchProvider]:
    """Batch adapters for remembered jobs, one per provider and address, built when needed by
    ``build(provider, address)``. A batch lives at the address it was submitted to, unless
    ``base_url`` moves it."""
    adapters: dict[tuple[str, str | None], BatchProvider] = {}

    def provider_for(job: BatchJob) -> BatchProvider:
        where = (job.provider, base_url or job.base_url)
        if where not in adapters:
            adapters[where] = build(*where)
        return adapters[where]

    return provider_for
