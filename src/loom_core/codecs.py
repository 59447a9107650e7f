"""File formats as plugins: the ``CodecSpec`` a plugin registers and the registry that picks one.

A dataset's format is chosen by its file name: ``data.csv`` and ``data.csv.gz`` both go to the
codec whose suffixes include ``.csv`` (the codec adapter itself reads gzip transparently).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from .errors import InputError
from .ports import FileCodec

__all__ = ["CodecRegistry", "CodecSpec", "strip_gzip"]

GZIP_SUFFIX = ".gz"


def strip_gzip(name: str) -> str:
    """``data.csv.gz`` -> ``data.csv``; any other name unchanged."""
    return name[: -len(GZIP_SUFFIX)] if name.lower().endswith(GZIP_SUFFIX) else name


@attrs.frozen
class CodecSpec:
    """One file format: its name (the state file's ``file_type``), suffixes and factory."""

    name: str
    suffixes: tuple[str, ...] = attrs.field(converter=tuple)
    factory: Callable[[], FileCodec]


class CodecRegistry:
    """The installed file formats, looked up by a path's suffix or by ``file_type``."""

    def __init__(self, specs: Iterable[CodecSpec] = ()) -> None:
        self._by_name: dict[str, CodecSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: CodecSpec) -> None:
        self._by_name.setdefault(spec.name, spec)

    def suffixes(self) -> list[str]:
        return sorted(s for spec in self._by_name.values() for s in spec.suffixes)

    def for_path(self, path: str) -> FileCodec:
        name = strip_gzip(path).lower()
        for spec in self._by_name.values():
            if any(name.endswith(suffix) for suffix in spec.suffixes):
                return spec.factory()
        accepted = ", ".join(
            f"{s}, {s}.gz" for s in self.suffixes()
        )
        raise InputError(f"Unsupported file type: {path} (expected {accepted}).")

    def for_file_type(self, file_type: str) -> FileCodec:
        try:
            return self._by_name[file_type].factory()
        except KeyError:
            raise InputError(f"No installed codec reads file_type '{file_type}'.") from None
