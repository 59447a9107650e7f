"""The built-in file formats, registered as a plugin: JSON, JSONL, CSV and Parquet.

Loom's own codecs go through the same ``loom_register_codecs`` hook as a third-party format, so
the registry in ``loom_core.codecs`` never special-cases them. The composition root registers
this module with the plugin manager (or via the ``loom`` entry-point group). JSON, JSONL and CSV
inputs may be gzipped (``data.jsonl.gz``); Parquet needs the optional ``pyarrow``, which its codec
imports only when a Parquet file is used.

A third-party format is a class with the ``FileCodec`` port's attributes and methods
(``file_type``, ``output_suffix``, ``read``, ``keys``, ``write``) plus a hook::

    # my_loom_tsv/__init__.py
    from loom_core.codecs import CodecSpec
    from loom_core.hookspecs import hookimpl

    class TsvCodec:
        file_type = "tsv"          # stored in batch state: keep it stable
        output_suffix = ".tsv"
        def read(self, path, prompt_column, template=None): ...
        def keys(self, path): ...
        def write(self, source, destination, columns, values): ...

    @hookimpl
    def loom_register_codecs(register):
        register(CodecSpec(name="tsv", suffixes=(".tsv",), factory=TsvCodec))

    # its pyproject.toml
    [project.entry-points.loom]
    tsv = "my_loom_tsv"

Keep imports of heavy libraries inside the methods (as ``parquet_codec`` does): every codec is
registered when Loom starts, used or not.
"""

from __future__ import annotations

from collections.abc import Callable

from loom_core.codecs import CodecRegistry, CodecSpec
from loom_core.hookspecs import hookimpl

from .csv_codec import CsvCodec
from .json_codec import JsonCodec
from .jsonl_codec import JsonlCodec
from .parquet_codec import ParquetCodec

__all__ = ["CsvCodec", "JsonCodec", "JsonlCodec", "ParquetCodec", "builtin_registry",
           "loom_register_codecs"]


@hookimpl
def loom_register_codecs(register: Callable[[CodecSpec], None]) -> None:
    register(CodecSpec(name=JsonCodec.file_type, suffixes=(JsonCodec.suffix,), factory=JsonCodec))
    register(CodecSpec(name=JsonlCodec.file_type, suffixes=JsonlCodec.suffixes,
                       factory=JsonlCodec))
    register(CodecSpec(name=CsvCodec.file_type, suffixes=(CsvCodec.suffix,), factory=CsvCodec))
    register(CodecSpec(name=ParquetCodec.file_type, suffixes=(ParquetCodec.suffix,),
                       factory=ParquetCodec))


def builtin_registry() -> CodecRegistry:
    """Loom's own formats alone, without loading any plugin (the help text lists them)."""
    specs: list[CodecSpec] = []
    loom_register_codecs(register=specs.append)
    return CodecRegistry(specs)
