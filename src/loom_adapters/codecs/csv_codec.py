"""The CSV codec: any schema, the prompt in the column ``--col`` names (``.csv``, ``.csv.gz``).

Implements the ``FileCodec`` port with the standard library's csv module in its default dialect
(comma, double quote, QUOTE_MINIMAL, ``\\r\\n`` rows), which quotes exactly the values that need it,
so commas, quotes, CR/LF inside values and empty cells all come back byte for byte. A row's key is
its zero-based data-row index as a string (the released tool's ``id_map`` values).

Both directions stream one row at a time: ``read`` is a lazy generator and ``write`` copies the
source to the destination row by row, so memory stays flat for files of any length. The price is
that a malformed row is only found when it is reached.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, TextIO

from loom_core.errors import InputError, Option
from loom_core.model import Record
from loom_core.template import PromptTemplate
from loom_core.ports import RowValues

from ..atomic import atomic_write
from .gzip_io import input_errors, open_text

__all__ = ["CsvCodec"]


def _allow_large_fields() -> None:
    # The csv module refuses fields over 128 KiB by default; a prompt can be a whole document.
    # The limit is process-wide, so only ever raise it. C long is 32 bits on Windows.
    wanted = min(sys.maxsize, 2**31 - 1)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)


class _Table:
    """An open CSV file: header checked on entry, then its data rows one by one."""

    def __init__(self, path: str, prompt_column: str | None = None,
                 template: PromptTemplate | None = None, *, need_prompt: bool = True) -> None:
        self.path = path
        self.prompt_column = prompt_column
        self.template = template
        # Writing a merged output or listing keys needs no prompt, so no prompt column either.
        self.need_prompt = need_prompt
        self.header: list[str] = []
        self.prompt_index = 0
        self._stream: TextIO | None = None
        self._reader: Any = None

    def __enter__(self) -> _Table:
        _allow_large_fields()
        with input_errors(self.path):
            self._stream = open_text(self.path)
        try:
            self._reader = csv.reader(self._stream)
            with input_errors(self.path):
                header = self._next_row()[1]
            self._check_header(header)
        except BaseException:
            self._stream.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()

    def _next_row(self) -> tuple[int, list[str] | None]:
        """The next non-blank row and the line it starts on; None at the end of the file.

        Blank lines are skipped (as pandas does): they hold no row, not even an empty one,
        because the csv writer spells a lone empty value as ``""``. Callers turn read errors
        into ``InputError`` with ``input_errors``, once around their loop: entering it per row
        was a tenth of the time of a million-row re-run.
        """
        while True:
            # line_num counts physical lines, so a row whose quoted value spans lines
            # is reported at the line it starts on.
            line = self._reader.line_num + 1
            try:
                cells = next(self._reader, None)
            except csv.Error as exc:
                raise InputError(f"{self.path}, line {line}: malformed CSV ({exc})") from exc
            if cells != []:
                return line, cells

    def _check_header(self, header: list[str] | None) -> None:
        if header is None:
            raise InputError(f"{self.path} is empty: expected a header row and data rows")
        listed = ", ".join(header)
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise InputError(
                f"{self.path} has duplicate column names: {', '.join(duplicates)} "
                f"(columns: {listed})"
            )
        self.header = header
        if not self.need_prompt:
            return
        if self.template is not None:
            missing = [field for field in self.template.fields if field not in header]
            if missing:
                raise InputError(
                    f"{self.path} has no column '{missing[0]}' for the prompt template "
                    f"(columns: {listed})"
                )
            return
        if self.prompt_column is None:
            raise InputError(
                "CSV input needs ", Option("prompt_column"),
                f" to name the prompt column (columns: {listed})"
            )
        if self.prompt_column not in header:
            raise InputError(
                f"{self.path} has no column '{self.prompt_column}' (columns: {listed})"
            )
        self.prompt_index = header.index(self.prompt_column)

    def _prompt(self, cells: list[str], line: int) -> str:
        if not self.need_prompt:
            return ""
        if self.template is not None:
            return self.template.render(dict(zip(self.header, cells)),
                                        f"{self.path}, line {line}")
        return cells[self.prompt_index]

    def rows(self) -> Iterator[tuple[Record, list[str]]]:
        """Each data row as (record, cells), in file order."""
        width = len(self.header)
        index = 0
        with input_errors(self.path):
            while True:
                line, cells = self._next_row()
                if cells is None:
                    break
                if len(cells) != width:
                    raise InputError(
                        f"{self.path}, line {line}: row has {len(cells)} "
                        f"value{'s' if len(cells) != 1 else ''} but the header has {width}"
                    )
                yield Record(index=index, key=str(index), prompt=self._prompt(cells, line)), cells
                index += 1
        if index == 0:
            raise InputError(f"{self.path} is an empty dataset: it has a header but no rows")


class CsvCodec:
    """Reads prompts from one column and writes every row back with the answer columns added."""

    file_type = "csv"
    suffix = ".csv"
    output_suffix = ".csv"

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        with _Table(path, prompt_column, template) as table:
            for record, _cells in table.rows():
                yield record

    def keys(self, path: str) -> Iterator[str]:
        with _Table(path, need_prompt=False) as table:
            for record, _cells in table.rows():
                yield record.key

    def write(
        self,
        source: str,
        destination: str,
        columns: Sequence[str],
        values: RowValues,
    ) -> None:
        with _Table(source, need_prompt=False) as table:
            header = list(table.header)
            # An existing column of the same name is overwritten where it stands (a re-run
            # over a previous output must not grow a second llm_response).
            positions: dict[str, int] = {}
            for column in dict.fromkeys(columns):
                if column not in header:
                    header.append(column)
                positions[column] = header.index(column)
            extra = len(header) - len(table.header)
            with atomic_write(destination, newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(header)
                for record, cells in table.rows():
                    row_values = values(record)
                    out = cells + [""] * extra
                    for column, position in positions.items():
                        out[position] = _cell(row_values.get(column))
                    writer.writerow(out)


def _cell(value: Any) -> str:
    """A value as CSV text: None is an empty cell, structures are JSON, scalars are str()."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
