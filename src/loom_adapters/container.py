"""The composition root: the one place that wires ports to adapters (dependency-injector).

The CLI and the library facade get everything from a ``Container``; tests override one
provider (for example ``container.plugins.override(...)``) instead of patching modules. Building
a container is cheap; plugins load on first use, and provider SDKs only when a factory runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dependency_injector import containers, providers

from loom_core.errors import MissingKeyError
from loom_core.providers import ProviderConfig, ProviderSpec

from .cache.file_cache import FileResponseCache
from .keys import resolve_api_key
from .paths import LoomPaths
from .plugins import PLUGINS_ENV_VAR, allowed_plugins, load_plugins
from .state.file_store import FileStateStore

__all__ = ["Container", "create_container", "provider_config"]


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
    response_cache = providers.Singleton(FileResponseCache, paths.provided.cache)


def create_container() -> Container:
    return Container()


def provider_config(spec: ProviderSpec, api_key: str | None, *, concurrency: int = 8,
                    base_url: str | None = None,
                    environ: Mapping[str, str] | None = None) -> ProviderConfig:
    """Resolve a provider's key (flag > environment > .env) and base URL (flag > environment).

    Raises ``MissingKeyError`` naming the environment variable when a key is needed and none
    is found.
    """
    env = os.environ if environ is None else environ
    key = resolve_api_key(api_key, spec.key_env_var)
    if key is None and spec.key_env_var is not None:
        raise MissingKeyError(spec.name, spec.key_env_var)
    if base_url is None and spec.base_url_env_var:
        base_url = env.get(spec.base_url_env_var)
    return ProviderConfig(api_key=key, base_url=base_url or None, concurrency=concurrency)
