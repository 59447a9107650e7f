"""CsvCodec: any schema, prompts from one column, every byte of every other value kept."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from loom_core.errors import InputError
from loom_core.model import Record
from loom_adapters.codecs import CsvCodec
from tests.support import said

NASTY_HEADER = ["id", "text", "llm_response", "note", "ünïcode"]
NASTY_ROWS = [
    ["1", "Explain, with commas, please", "stale answer", "", "é"],
    ["2", 'She said "hi" and left', "", "line1\nline2", "日本語"],
    ["3", "windows\r\nnewline", "x", "bare\rcarriage", ""],
    ["4", "", "", "", ""],
    ["5", " leading and trailing ", '"', ",", "🙂"],
]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write(path: Path, rows: list[list[str]]) -> str:
    path.write_bytes(_csv_bytes(rows))
    return str(path)


def _parse(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


def _answers(record: Record) -> dict[str, Any]:
    return {"llm_response": f"answer to row {record.key}", "llm_error": None}


def test_codec_identity() -> None:
    codec = CsvCodec()
    assert (codec.file_type, codec.suffix, codec.output_suffix) == ("csv", ".csv", ".csv")


def test_read_yields_row_index_keys_and_exact_prompts(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", [NASTY_HEADER, *NASTY_ROWS])
    records = list(CsvCodec().read(path, "text"))
    assert records == [Record(index=i, key=str(i), prompt=row[1]) for i, row in enumerate(NASTY_ROWS)]


def test_nasty_round_trip(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [NASTY_HEADER, *NASTY_ROWS])
    out = tmp_path / "out.csv"
    CsvCodec().write(source, str(out), ["llm_response", "llm_error"], _answers)
    # llm_response already existed: overwritten where it stands; llm_error appended.
    expected = [NASTY_HEADER + ["llm_error"]]
    for i, row in enumerate(NASTY_ROWS):
        new = list(row)
        new[2] = f"answer to row {i}"
        expected.append(new + [""])
    assert _parse(out) == expected
    # Byte for byte what the csv module's default dialect writes: nothing was re-quoted or lost.
    assert out.read_bytes() == _csv_bytes(expected)


def test_unchanged_columns_are_byte_identical(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [NASTY_HEADER, *NASTY_ROWS])
    out = tmp_path / "out.csv"
    CsvCodec().write(source, str(out), ["llm_response"], lambda r: {"llm_response": NASTY_ROWS[r.index][2]})
    assert out.read_bytes() == Path(source).read_bytes()


def test_value_types_become_text(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [["p"], ["a"]])
    out = tmp_path / "out.csv"
    values = {"none": None, "int": 3, "float": 0.5, "dict": {"a": "é"}, "list": [1, 2]}
    CsvCodec().write(source, str(out), list(values), lambda r: values)
    assert _parse(out) == [["p", "none", "int", "float", "dict", "list"], ["a", "", "3", "0.5", '{"a": "é"}', "[1, 2]"]]


def test_gzip_input_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + _csv_bytes([NASTY_HEADER, *NASTY_ROWS])))
    assert [r.prompt for r in CsvCodec().read(str(path), "id")] == ["1", "2", "3", "4", "5"]
    out = tmp_path / "out.csv"
    CsvCodec().write(str(path), str(out), ["llm_response"], lambda r: {"llm_response": "ok"})
    assert out.read_bytes().startswith(b"id,text,")  # uncompressed, BOM not copied
    assert [row[2] for row in _parse(out)[1:]] == ["ok"] * 5


def test_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbfid,text\r\n1,hi\r\n")
    assert list(CsvCodec().read(str(path), "id")) == [Record(0, "0", "1")]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\nid,text\n\n1,a\n\n2,b\n\n")
    assert [(r.key, r.prompt) for r in CsvCodec().read(str(path), "text")] == [("0", "a"), ("1", "b")]


def test_lone_empty_value_in_single_column_file(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [["p"], [""], ["x"]])
    assert [r.prompt for r in CsvCodec().read(source, "p")] == ["", "x"]


def test_field_larger_than_csv_default_limit(tmp_path: Path) -> None:
    big = "w" * 300_000
    source = _write(tmp_path / "d.csv", [["p"], [big]])
    assert [r.prompt for r in CsvCodec().read(source, "p")] == [big]


def test_read_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\nbroken\n")
    records = CsvCodec().read(str(path), "a")
    assert next(records) == Record(0, "0", "1")  # the bad line 4 has not been reached yet
    assert next(records) == Record(1, "1", "3")
    with pytest.raises(InputError, match="line 4"):
        next(records)


@pytest.mark.parametrize("existed", [False, True])
def test_values_failing_midway_leaves_destination_alone(tmp_path: Path, existed: bool) -> None:
    source = _write(tmp_path / "d.csv", [NASTY_HEADER, *NASTY_ROWS])
    out = tmp_path / "out.csv"
    if existed:
        out.write_text("old")

    def values(record: Record) -> dict[str, Any]:
        if record.index == 3:
            raise RuntimeError("provider exploded")
        return {"llm_response": "x"}

    with pytest.raises(RuntimeError, match="exploded"):
        CsvCodec().write(source, str(out), ["llm_response"], values)
    assert (out.read_text() == "old") if existed else not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["d.csv", "out.csv"] if existed else ["d.csv"])


def test_bad_row_found_while_writing_leaves_destination_alone(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n1,2\n3\n")
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="line 3"):
        CsvCodec().write(str(path), str(out), ["llm_response"], _answers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_write_over_its_own_source(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [["p"], ["a"], ["b"]])
    CsvCodec().write(source, source, ["llm_response"], lambda r: {"llm_response": f"#{r.key}"})
    assert _parse(Path(source)) == [["p", "llm_response"], ["a", "#0"], ["b", "#1"]]


def test_write_calls_values_once_per_row_in_order(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.csv", [["p"], *[[str(i)] for i in range(50)]])
    seen: list[int] = []

    def values(record: Record) -> dict[str, Any]:
        seen.append(record.index)
        return {"llm_response": ""}

    CsvCodec().write(source, str(tmp_path / "o.csv"), ["llm_response"], values)
    assert seen == list(range(50))


# --- every way a CSV input can be wrong ---------------------------------------------------


def _error(path: Path, prompt_column: str | None = "text") -> str:
    with pytest.raises(InputError) as caught:
        list(CsvCodec().read(str(path), prompt_column))
    message = said(caught.value)
    assert "\n" not in message
    assert caught.value.exit_code == 2
    return message


def test_prompt_column_is_required(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n")
    message = _error(path, None)
    assert message == "CSV input needs --col to name the prompt column (columns: a, b, c)"


def test_unknown_column_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n")
    message = _error(path, "prompt")
    assert str(path) in message and "'prompt'" in message and "(columns: a, b, c)" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id,text\n1,a\n2\n", "line 3: row has 1 value but the header has 2"),
        (b"id,text\n1,a\n2,b,c\n", "line 3: row has 3 values but the header has 2"),
        # The multi-line quoted value occupies lines 2-3, so the bad row starts on line 4.
        (b'id,text\n1,"two\nlines"\n2,b,c\n', "line 4: row has 3 values"),
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"id,text\n", "empty dataset"),
        (b"id,text\n\n\n", "empty dataset"),
        (b"id,text,id\n1,2,3\n", "duplicate column names: id (columns: id, text, id)"),
        (b"id,text\n1,caf\xe9\n", "is not UTF-8 text"),
    ],
)
def test_invalid_content(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    message = _error(path)
    assert expected in message and str(path) in message


def test_missing_file(tmp_path: Path) -> None:
    assert "Input file not found" in _error(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "raw",
    [b"id,text\n1,a\n", gzip.compress(b"id,text\n" + b"1,a\n" * 500)[:-30]],
    ids=["plain-bytes", "truncated"],
)
def test_corrupt_gzip(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "d.csv.gz"
    path.write_bytes(raw)
    message = _error(path)
    assert "is not a valid gzip file" in message and str(path) in message
