"""The composition root: where everything the outside world supplies enters, once.

The environment, the working directory (where ``.env`` is read), Loom's folders and the clock
come in here and nowhere else; dependency-injector wires them, with the plugins, the state
store and the response cache, into the ``Application`` that both faces (the CLI and the
library) call. Tests override one provider (``container.environ.override({...})``,
``container.plugins.override(...)``) instead of patching modules. Building a container is
cheap: plugins load on first use, and provider SDKs only when a factory runs.

The registries reach the application as providers (``.provider``), not as values, so that a
command that needs no plugin (``loom list``) never loads one. Provider adapters are the one
piece wired by hand, in the application: which provider, mode and key a command needs is known
only when it runs (and a fetch needs one adapter per provider and address of the jobs it finds).
"""

from __future__ import annotations

import os

from dependency_injector import containers, providers

from loom_core.clock import utc_now

from .application import Application
from .cache.sqlite_cache import SqliteResponseCache
from .paths import LoomPaths
from .plugins import PLUGINS_ENV_VAR, allowed_plugins, load_plugins
from .state.file_store import FileStateStore

__all__ = ["Container", "create_container"]


class Container(containers.DeclarativeContainer):
    """Loom's object graph; every singleton is built on first use."""

    environ = providers.Object(os.environ)
    #: Asked at each use: a relative path means the folder the caller is in at that moment.
    working_dir = providers.Object(os.getcwd)
    clock = providers.Object(utc_now)
    #: Called once a provider adapter is built; the CLI freezes the heap there (see its
    #: ``main``), a library must leave its host's heap alone.
    on_adapter_built = providers.Object(lambda: None)
    paths = providers.Singleton(LoomPaths.from_env, environ)
    plugins = providers.Singleton(
        load_plugins,
        providers.Callable(lambda env: allowed_plugins(env.get(PLUGINS_ENV_VAR)), environ),
        home=paths.provided.home,
    )
    provider_registry = providers.Singleton(lambda loaded: loaded.providers(), plugins)
    codec_registry = providers.Singleton(lambda loaded: loaded.codecs(), plugins)
    state_store = providers.Singleton(FileStateStore, paths.provided.batches)
    response_cache = providers.Singleton(SqliteResponseCache, paths.provided.cache)
    application = providers.Singleton(
        Application,
        plugins=plugins.provider,
        registry=provider_registry.provider,
        codecs=codec_registry.provider,
        store=state_store,
        cache=response_cache,
        paths=paths,
        environ=environ,
        working_dir=working_dir,
        clock=clock,
        on_adapter_built=on_adapter_built,
    )


def create_container() -> Container:
    return Container()
