"""The built-in file formats, registered as a plugin: JSON and CSV (each also gzipped).

Loom's own codecs go through the same ``loom_register_codecs`` hook as a third-party format, so
the registry in ``loom_core.codecs`` never special-cases them. The composition root registers
this module with the plugin manager (or via the ``loom`` entry-point group).
"""

from __future__ import annotations

from collections.abc import Callable

from loom_core.codecs import CodecSpec
from loom_core.hookspecs import hookimpl

from .csv_codec import CsvCodec
from .json_codec import JsonCodec

__all__ = ["CsvCodec", "JsonCodec", "loom_register_codecs"]


@hookimpl
def loom_register_codecs(register: Callable[[CodecSpec], None]) -> None:
    register(CodecSpec(name=JsonCodec.file_type, suffixes=(JsonCodec.suffix,), factory=JsonCodec))
    register(CodecSpec(name=CsvCodec.file_type, suffixes=(CsvCodec.suffix,), factory=CsvCodec))
