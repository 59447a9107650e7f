"""The JSON codec: the seed's ``[{"id": ..., "prompt": ...}, ...]`` files (``.json``, ``.json.gz``).

Implements the ``FileCodec`` port. A row's key is its ``id`` with its JSON type kept (``1`` stays
an int, ``"task-1"`` a string), because that is what the released tool put in ``id_map`` and what
the merged output must show. The whole document is parsed and checked before the first record is
yielded: a JSON file cannot be streamed anyway, and a bad item at the end should stop a run before
anything is sent to a provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from loom_core.errors import InputError
from loom_core.model import Record
from loom_core.template import PromptTemplate
from loom_core.ports import RowValues

from ..atomic import atomic_write
from .gzip_io import ENCODING, input_errors, open_binary

__all__ = ["JsonCodec"]

ID_FIELD = "id"
DEFAULT_PROMPT_FIELD = "prompt"


class JsonCodec:
    """Reads and writes a JSON list of objects, each with an ``id`` and a prompt field."""

    file_type = "json"
    suffix = ".json"
    output_suffix = ".json"

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        for record, _item in _load(path, prompt_column, template):
            yield record

    def keys(self, path: str) -> Iterator[Any]:
        for record, _item in _load(path, need_prompt=False):
            yield record.key

    def write(
        self,
        source: str,
        destination: str,
        columns: Sequence[str],
        values: RowValues,
    ) -> None:
        rows = _load(source, need_prompt=False)
        merged: list[dict[str, Any]] = []
        for record, item in rows:
            row_values = values(record)
            out = dict(item)
            for column in columns:
                # Assigning to an existing key keeps its position: a re-run overwrites
                # llm_response in place instead of moving it to the end.
                out[column] = row_values.get(column)
            merged.append(out)
        # Everything is computed before the destination is opened, so a failing values()
        # cannot even create the temp file; atomic_write covers failures while writing.
        text = json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
        with atomic_write(destination) as stream:
            stream.write(text)


def _load(path: str, prompt_column: str | None = None, template: PromptTemplate | None = None,
          *, need_prompt: bool = True) -> list[tuple[Record, dict[str, Any]]]:
    """Parse and validate ``path``; every problem is an ``InputError`` naming the file.

    Without ``need_prompt`` (merging, listing keys) items are checked for their ids only.
    """
    prompt_field = prompt_column or DEFAULT_PROMPT_FIELD
    with input_errors(path):
        with open_binary(path) as stream:
            text = stream.read().decode(ENCODING)
    if not text.strip():
        raise InputError(f"{path} is empty: expected a JSON list of {{id, prompt}} objects")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InputError(f"{path} is not usable JSON: it is nested too deeply") from exc
    if not isinstance(document, list):
        raise InputError(
            f"{path} must hold a JSON list of {{id, prompt}} objects, "
            f"not {json_type(document)}"
        )
    if not document:
        raise InputError(f"{path} is an empty dataset: the list has no items")

    rows: list[tuple[Record, dict[str, Any]]] = []
    seen: dict[tuple[type, Any], int] = {}
    for index, item in enumerate(document):
        where = f"{path}: item {index}"
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
        prompt = prompt_of(item, where, prompt_field, template) if need_prompt else ""
        # Keyed by type too: 1 and "1" are different JSON ids and stay different keys.
        identity = (type(key), key)
        if identity in seen:
            raise InputError(
                f"{where} repeats id {json.dumps(key, ensure_ascii=False)} "
                f"(first used by item {seen[identity]}); ids must be unique"
            )
        seen[identity] = index
        rows.append((Record(index=index, key=key, prompt=prompt), item))
    return rows


def prompt_of(item: dict[str, Any], where: str, prompt_field: str,
            template: PromptTemplate | None) -> str:
    if template is not None:
        return template.render(item, where)
    if prompt_field not in item:
        raise InputError(f"{where} has no '{prompt_field}' field")
    prompt = item[prompt_field]
    if not isinstance(prompt, str):
        raise InputError(f"{where}: '{prompt_field}' must be a string, not {json_type(prompt)}")
    return prompt


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
