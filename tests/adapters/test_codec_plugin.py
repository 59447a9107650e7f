"""The built-in codecs register through the same pluggy hook a third-party codec uses."""

from __future__ import annotations

import pluggy
import pytest

from loom_core import hookspecs
from loom_core.codecs import CodecRegistry
from loom_core.errors import InputError
import loom_adapters.codecs as builtin_codecs
from loom_adapters.codecs import CsvCodec, JsonCodec


@pytest.fixture
def registry() -> CodecRegistry:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin_codecs)
    manager.check_pending()  # every hookimpl matches a hookspec
    registry = CodecRegistry()
    manager.hook.loom_register_codecs(register=registry.register)
    return registry


@pytest.mark.parametrize(
    ("path", "codec"),
    [("a.json", JsonCodec), ("a.JSON.GZ", JsonCodec), ("dir/a.csv", CsvCodec), ("a.csv.gz", CsvCodec)],
)
def test_lookup_by_path(registry: CodecRegistry, path: str, codec: type) -> None:
    assert isinstance(registry.for_path(path), codec)


def test_lookup_by_file_type(registry: CodecRegistry) -> None:
    assert isinstance(registry.for_file_type("json"), JsonCodec)
    assert isinstance(registry.for_file_type("csv"), CsvCodec)


def test_unknown_suffix(registry: CodecRegistry) -> None:
    with pytest.raises(InputError, match=r"\.csv, \.csv\.gz, \.json, \.json\.gz"):
        registry.for_path("a.txt")

