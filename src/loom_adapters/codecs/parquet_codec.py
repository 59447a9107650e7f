"""The Parquet codec: any schema, the prompt in the column ``--col`` names (``.parquet``).

Implements the ``FileCodec`` port with pyarrow, an optional extra (``loom-batch[parquet]``).
pyarrow is imported only when a Parquet file is read or written, so registering this codec
costs nothing and ``loom --help`` stays fast; without it, using a ``.parquet`` file is a one-line
``InputError`` saying what to install.

Rows are keyed like CSV rows: a row's key is its zero-based index as a string, whatever columns
the file has (Parquet has no ``id`` convention, and the batch ``id_map`` needs only unique keys).

Both directions stream record batches (``ParquetFile.iter_batches``; a ``ParquetWriter`` writes
them back one by one), so memory is bounded by one batch. The output keeps the source's schema,
metadata, every value and the row order; the answer columns are appended (or replace a column of
the same name where it stands). Their type is read off the first batch's values: integers
(token counts) become ``int64``, floats ``double``, anything else nullable strings (dicts and lists
as JSON, as in the CSV codec).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from loom_core.errors import InputError, Option
from loom_core.model import Record
from loom_core.ports import RowValues
from loom_core.template import PromptTemplate

from ..atomic import atomic_write
from .gzip_io import input_errors, is_gzip_name, open_binary

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["MISSING_PYARROW", "ParquetCodec"]

MISSING_PYARROW = ('Parquet files need pyarrow, which is not installed: '
                   'pip install "loom-batch[parquet]"')

#: Rows per record batch read and written: bounded memory, few Python round trips.
BATCH_ROWS = 16_384


def _pyarrow() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or the one-line error that says how to get them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError(MISSING_PYARROW) from None
    return pyarrow, pyarrow.parquet


class ParquetCodec:
    """Reads prompts from one column and writes every row back with the answer columns added."""

    file_type = "parquet"
    suffix = ".parquet"
    output_suffix = ".parquet"

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        with _open(path) as parquet:
            names = _check_columns(path, parquet, prompt_column, template)
            _require_text(path, parquet, prompt_column, template)
            index = 0
            for row in _rows(path, parquet, names):
                where = f"{path}, row {index}"
                if template is not None:
                    prompt = template.render(row, where)
                else:
                    prompt = row[prompt_column]
                    if prompt is None:
                        raise InputError(f"{where}: the prompt column '{prompt_column}' is null")
                yield Record(index=index, key=str(index), prompt=prompt)
                index += 1

    def keys(self, path: str) -> Iterator[str]:
        with _open(path) as parquet:
            count = _row_count(path, parquet)
        for index in range(count):
            yield str(index)

    def write(
        self,
        source: str,
        destination: str,
        columns: Sequence[str],
        values: RowValues,
    ) -> None:
        pa, pq = _pyarrow()
        # Checked first, so a bad source makes no file at all (not even a temp file).
        with _open(source) as parquet:
            _row_count(source, parquet)
            _check_duplicates(source, parquet.schema_arrow.names)
        added = list(dict.fromkeys(columns))
        with atomic_write(destination, binary=True) as stream:
            # The source is opened inside, so it is closed again before the rename (Windows
            # cannot replace a file that is open, and the output may be the source itself).
            with _open(source) as parquet:
                schema = parquet.schema_arrow
                writer = None
                index = 0
                try:
                    for batch in _batches(source, parquet):
                        rows = [values(Record(index=index + i, key=str(index + i), prompt=""))
                                for i in range(batch.num_rows)]
                        index += batch.num_rows
                        if writer is None:
                            # The new columns' types are fixed by the first batch: a Parquet
                            # file has one schema, decided before its first row group.
                            schema = _output_schema(pa, schema, added, rows)
                            writer = pq.ParquetWriter(stream, schema)
                        writer.write_batch(_merged(pa, source, schema, batch, added, rows))
                finally:
                    if writer is not None:
                        writer.close()


@contextmanager
def _open(path: str) -> Iterator[pq.ParquetFile]:
    """The file as a ``ParquetFile``; OS, gzip and Arrow failures become one-line errors."""
    _pa, pq = _pyarrow()
    # Opened by Python first: then a missing file or a directory is worded as for every other
    # format, and whatever Arrow raises afterwards (OSError included) is about the content.
    with input_errors(path):
        stream = open_binary(path)
    try:
        with _arrow_errors(path):
            if not is_gzip_name(path):
                # A plain file is read by Arrow itself: fast, no Python in the read path. A
                # gzipped one goes through gzip, which can seek (slowly), as Parquet needs.
                stream.close()
            parquet = pq.ParquetFile(path if stream.closed else stream)
    except BaseException:
        stream.close()
        raise
    # Only opening and reading are worded as read errors: the body may write the output,
    # whose failures must not be blamed on the source.
    try:
        yield parquet
    finally:
        parquet.close()
        stream.close()


@contextmanager
def _arrow_errors(path: str) -> Iterator[None]:
    pa, _pq = _pyarrow()
    with input_errors(path):  # gzip errors surface while Arrow reads through the stream
        try:
            yield
        except (gzip.BadGzipFile, EOFError, zlib.error):
            raise
        except (pa.ArrowException, OSError) as exc:
            # Arrow reports bad content as OSError too ("Couldn't deserialize thrift").
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path} is not a readable Parquet file ({reason})") from None


def _row_count(path: str, parquet: pq.ParquetFile) -> int:
    count = int(parquet.metadata.num_rows)
    if count == 0:
        raise InputError(f"{path} is an empty dataset: it has columns but no rows")
    return count


def _check_duplicates(path: str, names: list[str]) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"{path} has duplicate column names: {', '.join(duplicates)} "
                         f"(columns: {', '.join(names)})")


def _check_columns(path: str, parquet: pq.ParquetFile, prompt_column: str | None,
                   template: PromptTemplate | None) -> list[str]:
    """The columns a prompt needs, checked against the file's; as in the CSV codec."""
    names = list(parquet.schema_arrow.names)
    _check_duplicates(path, names)
    listed = ", ".join(names)
    if template is not None:
        needed = list(dict.fromkeys(template.fields))
        missing = [field for field in needed if field not in names]
        if missing:
            raise InputError(f"{path} has no column '{missing[0]}' for the prompt template "
                             f"(columns: {listed})")
        return needed
    if prompt_column is None:
        raise InputError("Parquet input needs ", Option("prompt_column"),
                         f" to name the prompt column (columns: {listed})")
    if prompt_column not in names:
        raise InputError(f"{path} has no column '{prompt_column}' (columns: {listed})")
    return [prompt_column]


def _require_text(path: str, parquet: pq.ParquetFile, prompt_column: str | None,
                  template: PromptTemplate | None) -> None:
    # A template formats any value; a bare column is sent as it is, so it must hold text.
    if template is not None or prompt_column is None:
        return
    pa, _pq = _pyarrow()
    kind = parquet.schema_arrow.field(prompt_column).type
    value_kind = kind.value_type if pa.types.is_dictionary(kind) else kind
    if not (pa.types.is_string(value_kind) or pa.types.is_large_string(value_kind)
            or getattr(pa.types, "is_string_view", lambda _t: False)(value_kind)):
        raise InputError(f"{path}: column '{prompt_column}' holds {kind}, not text (use ",
                         Option("template"), " to build prompts from other columns)")


def _batches(path: str, parquet: pq.ParquetFile,
             names: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    # Corrupt pages surface while iterating, not at open: word those errors too.
    with _arrow_errors(path):
        yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=names)


def _rows(path: str, parquet: pq.ParquetFile, names: list[str]) -> Iterator[dict[str, Any]]:
    """Each row as {column: Python value}, reading only ``names``."""
    if not names:
        # A template without placeholders reads no column; the row count is in the footer.
        for _ in range(_row_count(path, parquet)):
            yield {}
        return
    count = 0
    for batch in _batches(path, parquet, names):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for cells in zip(*columns):
            yield dict(zip(names, cells))
        count += batch.num_rows
    if count == 0:
        _row_count(path, parquet)


def _output_schema(pa: Any, schema: pa.Schema, added: list[str],
                   rows: list[Any]) -> pa.Schema:
    for name in added:
        field = pa.field(name, _infer_type(pa, [row.get(name) for row in rows]), nullable=True)
        position = schema.get_field_index(name)
        schema = (schema.set(position, field) if position >= 0 else schema.append(field))
    return schema


def _infer_type(pa: Any, cells: list[Any]) -> pa.DataType:
    present = [cell for cell in cells if cell is not None]
    # bool is an int to Python, not a count to anyone.
    if present and all(type(cell) is int for cell in present):
        return pa.int64()
    if present and all(type(cell) in (int, float) for cell in present):
        return pa.float64()
    return pa.string()


def _merged(pa: Any, path: str, schema: pa.Schema, batch: pa.RecordBatch, added: list[str],
            rows: list[Any]) -> pa.RecordBatch:
    arrays = list(batch.columns)
    for name in added:
        field = schema.field(name)
        cells = [row.get(name) for row in rows]
        if pa.types.is_string(field.type):
            cells = [_text(cell) for cell in cells]
        try:
            array = pa.array(cells, type=field.type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"{path}: a value of '{name}' does not fit the {field.type} column "
                             f"chosen from the first rows ({exc})") from None
        position = batch.schema.get_field_index(name)
        if position >= 0:
            arrays[position] = array
        else:
            arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _text(value: Any) -> str | None:
    """A value as a string cell: None stays null, structures are JSON, scalars are str()."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
