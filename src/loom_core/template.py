"""Prompt templates: ``--template "Classify the sentiment: {text}"`` builds a prompt per row.

Placeholders name a row's columns (CSV, Parquet) or fields (JSON, JSONL) exactly as they are
spelled, spaces included; ``{{`` and ``}}`` are literal braces. A row that lacks a named field
is an error that names the row, before anything is sent.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import InputError

__all__ = ["PromptTemplate"]


@attrs.frozen
class PromptTemplate:
    """A parsed template: literal text and the fields to fill in, in order."""

    text: str
    _parts: tuple[tuple[str, str | None, str], ...] = attrs.field(init=False, repr=False,
                                                                   eq=False)

    def __attrs_post_init__(self) -> None:
        parts = []
        try:
            for literal, field, spec, conversion in string.Formatter().parse(self.text):
                if conversion:
                    raise InputError(f"Template placeholder {{{field}!{conversion}}}: "
                                     f"conversions are not supported.")
                parts.append((literal, field, spec or ""))
        except ValueError as error:
            raise InputError(f"Invalid prompt template: {error} (write {{{{ and }}}} for "
                             f"literal braces).") from None
        for _literal, field, _spec in parts:
            if field == "":
                raise InputError("Invalid prompt template: an empty {} must name a field.")
        object.__setattr__(self, "_parts", tuple(parts))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for _literal, field, _spec in self._parts if field is not None)

    def render(self, values: Mapping[str, Any], where: str) -> str:
        """The prompt for one row; ``where`` names the row in errors (``"row 3"``)."""
        pieces: list[str] = []
        for literal, field, spec in self._parts:
            pieces.append(literal)
            if field is None:
                continue
            if field not in values:
                known = ", ".join(sorted(map(str, values))) or "none"
                raise InputError(f"{where} has no field '{field}' for the prompt template "
                                 f"(it has: {known}).")
            value = values[field]
            pieces.append(format(value, spec) if spec else ("" if value is None else str(value)))
        return "".join(pieces)
