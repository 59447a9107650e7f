"""In-memory prompts as the core's ``Record`` values, for the facade's ``*_many`` calls.

An item is a prompt string, or a mapping whose prompt is its ``prompt_column`` field (``prompt``
by default) or is built by a template from its fields, as a file row would be. Each record's key
is its position, so answers come back aligned with the input. ``RecordsCodec`` serves prepared
records through the ``FileCodec`` port to a service that reads a dataset (token counting).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

from loom_core.codecs import CodecRegistry, CodecSpec
from loom_core.errors import InputError, UnsupportedError, UsageError
from loom_core.model import Record, RowKey
from loom_core.ports import RowValues
from loom_core.template import PromptTemplate

__all__ = ["DEFAULT_PROMPT_COLUMN", "RECORDS_SOURCE", "Item", "RecordsCodec", "records_from"]

DEFAULT_PROMPT_COLUMN = "prompt"
#: The name in-memory records go by where a service expects a path (and in its messages).
RECORDS_SOURCE = "<records>"

#: One in-memory item: a prompt, or a row of fields.
Item = Union[str, Mapping[str, Any]]


def records_from(items: Iterable[Item], *, template: str | None = None,
                 prompt_column: str | None = None) -> list[Record]:
    """One ``Record`` per item, keyed by its position; ``InputError`` names a bad item."""
    if isinstance(items, (str, bytes, Mapping)):
        raise UsageError("Pass a list of prompts (or of dicts); for a single prompt use "
                         "generate() or complete().")
    parsed = PromptTemplate(template) if template is not None else None
    column = prompt_column or DEFAULT_PROMPT_COLUMN
    records = []
    for index, item in enumerate(items):
        where = f"item {index}"
        if isinstance(item, str):
            if parsed is not None:
                raise InputError(f"{where} is a string; a template is filled from the fields "
                                 f"of dict items.")
            prompt = item
        elif isinstance(item, Mapping):
            prompt = parsed.render(item, where) if parsed is not None else (
                _prompt_field(item, where, column))
        else:
            raise InputError(f"{where} is a {type(item).__name__}, not a prompt string or a "
                             f"dict of fields.")
        records.append(Record(index=index, key=index, prompt=prompt))
    return records


def _prompt_field(item: Mapping[str, Any], where: str, column: str) -> str:
    if column not in item:
        known = ", ".join(sorted(map(str, item))) or "none"
        raise InputError(f"{where} has no '{column}' field (it has: {known}); name the prompt "
                         f"field with prompt_column=, or pass template=.")
    prompt = item[column]
    if not isinstance(prompt, str):
        raise InputError(f"{where}: '{column}' must be a string, not {type(prompt).__name__}.")
    return prompt


class RecordsCodec:
    """``FileCodec`` over records already built: reads them back, writes nothing."""

    file_type = "loom-records"
    output_suffix = ""

    def __init__(self, records: Sequence[Record]) -> None:
        self._records = records

    def registry(self) -> CodecRegistry:
        """A registry in which ``RECORDS_SOURCE`` names these records."""
        return CodecRegistry([CodecSpec(name=self.file_type, suffixes=(RECORDS_SOURCE,),
                                        factory=lambda: self)])

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        # Prompts were built by ``records_from``; the arguments have done their work there.
        return iter(self._records)

    def keys(self, path: str) -> Iterator[RowKey]:
        return (record.key for record in self._records)

    def write(self, source: str, destination: str, columns: Sequence[str],
              values: RowValues) -> None:
        raise UnsupportedError("In-memory records are answered in memory, not written to a file.")
