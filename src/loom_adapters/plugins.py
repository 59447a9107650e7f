"""Plugin loading: a pluggy manager filled from the ``loom`` entry-point group.

Loom's own providers are entry points of the ``loom-batch`` distribution, found exactly like a
third party's. ``LOOM_PLUGINS`` pins what loads, as simonw/llm's ``LLM_LOAD_PLUGINS`` does:
unset, every installed plugin; a comma-separated list, only those entry-point names; empty,
none. The built-in file formats are not optional and are always registered.
"""

from __future__ import annotations

import importlib.metadata
import os

import pluggy

from loom_core import hookspecs
from loom_core.codecs import CodecRegistry, CodecSpec
from loom_core.hookspecs import PROJECT_NAME
from loom_core.providers import ProviderRegistry, ProviderSpec

__all__ = ["PLUGINS_ENV_VAR", "LoadedPlugins", "allowed_plugins", "load_plugins"]

PLUGINS_ENV_VAR = "LOOM_PLUGINS"


class LoadedPlugins:
    """The plugin manager after loading, with what each plugin registered."""

    def __init__(self, manager: pluggy.PluginManager, failures: list[str],
                 distributions: dict[str, str], home: str) -> None:
        self.manager = manager
        #: Loom's data folder, which the registration hook hands to plugins.
        self.home = home
        #: One line per plugin that could not be loaded, for the CLI to warn about.
        self.failures = failures
        #: Plugin name -> the distribution that installed it.
        self._distributions = distributions

    def providers(self) -> ProviderRegistry:
        specs: list[ProviderSpec] = []
        self.manager.hook.loom_register_providers(register=specs.append, home=self.home)
        return ProviderRegistry(specs)

    def provider_origins(self) -> dict[str, str]:
        """Provider name -> the distribution (or plugin name) that registered it."""
        origins: dict[str, str] = {}
        for impl in self.manager.hook.loom_register_providers.get_hookimpls():
            origin = self._distributions.get(impl.plugin_name, impl.plugin_name)
            register = lambda spec, o=origin: origins.setdefault(spec.name, o)  # noqa: E731
            # Called as pluggy would: with the arguments this implementation asks for.
            offered = {"register": register, "home": self.home}
            impl.function(**{name: offered[name] for name in impl.argnames})
        return origins

    def codecs(self) -> CodecRegistry:
        specs: list[CodecSpec] = []
        self.manager.hook.loom_register_codecs(register=specs.append)
        return CodecRegistry(specs)


def allowed_plugins(value: str | None) -> set[str] | None:
    """Parse ``LOOM_PLUGINS``: None means all, a set means only those names."""
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_plugins(allowed: set[str] | None = None, *, home: str | os.PathLike[str] = "",
                 extra: tuple[object, ...] = ()) -> LoadedPlugins:
    """Build the plugin manager: built-in codecs, entry points (as allowed), then ``extra``.

    ``home`` is Loom's data folder, handed to the plugins' registration hooks."""
    from loom_adapters import codecs as builtin_codecs

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin_codecs, name="loom-builtin-codecs")
    failures: list[str] = []
    distributions: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group=PROJECT_NAME):
        if allowed is not None and entry_point.name not in allowed:
            continue
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # a broken plugin must not take Loom down with it
            failures.append(f"plugin {entry_point.name} failed to load: {error}")
            continue
        manager.register(plugin, name=entry_point.name)
        if entry_point.dist is not None:
            distributions[entry_point.name] = entry_point.dist.metadata["name"]
    for plugin in extra:
        manager.register(plugin)
    manager.check_pending()
    return LoadedPlugins(manager, failures, distributions, os.fspath(home))
