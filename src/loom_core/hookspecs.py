"""The plugin contract: the pluggy hooks a Loom plugin implements.

A plugin is a module (or object) with ``@hookimpl`` functions, announced to Loom through the
``loom`` entry-point group::

    # pyproject.toml of the plugin
    [project.entry-points.loom]
    echo = "loom_echo"

    # loom_echo/__init__.py
    from loom.plugin import ProviderSpec, hookimpl

    @hookimpl
    def loom_register_providers(register):
        register(ProviderSpec(name="echo", key_env_var=None, sync=make_echo))

Loom's own providers register through the very same group and hooks. Registration is
callback-style, as in simonw/llm: the host passes ``register`` and the plugin calls it once per
thing it offers. A plugin imports Loom only through ``loom.plugin``, which re-exports these
markers with everything else the contract holds (docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .codecs import CodecSpec
    from .providers import ProviderSpec

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name, which is also the entry-point group plugins are found in.
PROJECT_NAME = "loom"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def loom_register_providers(register: Callable[[ProviderSpec], None], home: str) -> None:
    """Register providers: call ``register(spec)`` once per ``ProviderSpec`` the plugin offers.

    Called when a command first needs providers (``loom providers`` may call it again).
    ``home`` is Loom's data folder (``~/.loom`` or ``LOOM_HOME``), for a plugin whose
    providers come from a file there; an implementation may leave it out of its signature.
    Factories in the spec are called later and only for the mode a command uses, so import
    SDKs inside them.
    """


@hookspec
def loom_register_codecs(register: Callable[[CodecSpec], None]) -> None:
    """Register file formats: call ``register(spec)`` once per ``CodecSpec``.

    A codec is chosen by the input file's name (``CodecSpec.suffixes``, matched after an
    optional ``.gz``), so a plugin adds a format without touching the core.
    """
