"""The ``echo`` provider: Loom's offline example plugin and the template for third parties.

Everything a provider plugin needs is here: one ``@hookimpl`` of ``loom_register_providers``
that registers a ``ProviderSpec`` with factories for the modes it offers. Loom finds this
module through the ``loom`` entry point declared in this package's pyproject.toml, and the
plugin imports Loom only through ``loom.plugin``, the public plugin API.
"""

from __future__ import annotations

from pathlib import Path

from loom.plugin import ProviderConfig, ProviderSpec, hookimpl

__all__ = ["loom_register_providers"]


def _sync(config: ProviderConfig):
    from .adapters import EchoSync

    return EchoSync()


def _batch(config: ProviderConfig):
    from .adapters import EchoBatch

    # Batches are files in Loom's data folder, which the config carries.
    return EchoBatch(Path(config.data_dir) / "echo")


def _tokens(config: ProviderConfig):
    from .adapters import EchoTokens

    return EchoTokens()


@hookimpl
def loom_register_providers(register) -> None:
    register(ProviderSpec(
        name="echo",
        key_env_var=None,
        batch=_batch,
        sync=_sync,
        tokens=_tokens,
        description="Offline and deterministic: answers by transforming the prompt.",
    ))
