"""The JSONL codec: one ``{"id": ..., "prompt": ...}`` object per line (``.jsonl``, ``.ndjson``,
each also gzipped).

Implements the ``FileCodec`` port with the rules of the JSON codec (``json_codec``): a row's key is
its ``id`` with its JSON type kept, the prompt is the ``prompt`` field (or ``--col``'s, or a
template over the object's fields), and errors name the line instead of the item. Blank lines
hold no row and are skipped.

Both directions stream: ``read`` and ``keys`` parse one line at a time, and ``write`` copies the
source to the destination object by object, so memory stays flat for millions of rows (only the
set of ids seen, to refuse duplicates, grows). The price, as for CSV, is that a bad line is only
found when it is reached; ``write`` then fails inside ``atomic_write`` and leaves no output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from loom_core.errors import InputError
from loom_core.model import Record
from loom_core.ports import RowValues
from loom_core.template import PromptTemplate

from ..atomic import atomic_write
from .gzip_io import input_errors, open_binary
# The item rules are the JSON codec's, shared so that both formats say the same thing.
from .json_codec import DEFAULT_PROMPT_FIELD, ID_FIELD, json_type, prompt_of

__all__ = ["JsonlCodec"]

_BOM = "\ufeff"

# json.dumps(ensure_ascii=False) leaves these raw inside strings. JSON allows that, but
# str.splitlines() (and so many JSONL readers) splits lines on them; escaped, every output
# object stays on one line for every reader. They only ever occur inside strings, so a plain
# replace is safe.
_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class JsonlCodec:
    """Reads and writes JSON Lines: one object with an ``id`` and a prompt field per line."""

    file_type = "jsonl"
    suffix = ".jsonl"
    suffixes = (".jsonl", ".ndjson")
    output_suffix = ".jsonl"

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        for record, _item in _rows(path, prompt_column, template):
            yield record

    def keys(self, path: str) -> Iterator[Any]:
        for record, _item in _rows(path, need_prompt=False):
            yield record.key

    def write(
        self,
        source: str,
        destination: str,
        columns: Sequence[str],
        values: RowValues,
    ) -> None:
        # newline="": "\n" ends every line on every platform, as JSON Lines requires.
        with atomic_write(destination, newline="") as stream:
            for record, item in _rows(source, need_prompt=False):
                row_values = values(record)
                for column in columns:
                    # Assigning to an existing key keeps its position: a re-run overwrites
                    # llm_response in place instead of moving it to the end.
                    item[column] = row_values.get(column)
                stream.write(_dump(item))
                stream.write("\n")


def _dump(item: dict[str, Any]) -> str:
    line = json.dumps(item, ensure_ascii=False)
    # str.translate is slow; these characters are rare, and `in` is fast.
    if "\x85" in line or "\u2028" in line or "\u2029" in line:
        line = line.translate(_LINE_BREAKERS)
    return line


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """Each non-blank line with its 1-based number, decoded, without its line ending."""
    with input_errors(path):
        with open_binary(path) as stream:
            # Binary lines split on b"\n" only: a text stream would also split on a lone
            # "\r", which JSON allows as whitespace.
            for number, raw in enumerate(stream, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"{path}, line {number} is not UTF-8 text (undecodable byte "
                        f"0x{exc.object[exc.start]:02x}); save it as UTF-8 and try again"
                    ) from None
                if number == 1 and line.startswith(_BOM):
                    line = line[1:]  # Excel and Notepad like to add one
                if line.strip():
                    yield number, line


def _rows(path: str, prompt_column: str | None = None, template: PromptTemplate | None = None,
          *, need_prompt: bool = True) -> Iterator[tuple[Record, dict[str, Any]]]:
    """Parse and check ``path`` line by line; every problem is an ``InputError`` naming the line.

    Without ``need_prompt`` (merging, listing keys) objects are checked for their ids only.
    """
    prompt_field = prompt_column or DEFAULT_PROMPT_FIELD
    # The only state that grows with the file. Ids are plain str or int (bools are refused),
    # so 1 and "1" are already different dict keys: no (type, id) tuples needed.
    seen: dict[str | int, int] = {}
    index = 0
    for number, line in _lines(path):
        where = f"{path}, line {number}"
        item = _parse(line, where)
        key = item[ID_FIELD]
        first = seen.setdefault(key, number)
        if first != number:
            raise InputError(
                f"{where} repeats id {json.dumps(key, ensure_ascii=False)} "
                f"(first used on line {first}); ids must be unique"
            )
        prompt = prompt_of(item, where, prompt_field, template) if need_prompt else ""
        yield Record(index=index, key=key, prompt=prompt), item
        index += 1
    if index == 0:
        raise InputError(
            f"{path} is an empty dataset: expected one {{id, prompt}} JSON object per line"
        )


def _parse(line: str, where: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InputError(f"{where} is not usable JSON: it is nested too deeply") from None
    if not isinstance(item, dict):
        raise InputError(f"{where} is {json_type(item)}, not an object with id and prompt")
    if ID_FIELD not in item:
        raise InputError(f"{where} has no '{ID_FIELD}' field")
    key = item[ID_FIELD]
    # bool is a subclass of int in Python, but `true` is not an id anyone means.
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InputError(
            f"{where} has an id of type {json_type(key)}; ids must be strings or integers"
        )
    return item
