"""Every adapter module declares its public names, and each declared name exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "loom_adapters.atomic",
    "loom_adapters.paths",
    "loom_adapters.keys",
    "loom_adapters.codecs",
    "loom_adapters.codecs.gzip_io",
    "loom_adapters.codecs.json_codec",
    "loom_adapters.codecs.csv_codec",
    "loom_adapters.state",
    "loom_adapters.state.file_store",
    "loom_adapters.cache",
    "loom_adapters.cache.legacy_files",
    "loom_adapters.cache.sqlite_cache",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_declared_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} needs a docstring saying its place in the design"
    assert module.__all__
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ names missing {public}"
