"""ParquetCodec: record batches in, the same schema plus answer columns out, pyarrow optional."""

from __future__ import annotations

import datetime
import decimal
import gzip
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loom_adapters.codecs import ParquetCodec, parquet_codec
from loom_core.errors import InputError
from loom_core.model import Record
from loom_core.template import PromptTemplate
from tests.support import said

UTC = datetime.timezone.utc


def nasty_table() -> Any:
    return pa.table(
        {
            "id": pa.array([30, 10, 20, 40], pa.int32()),
            "text": ["Explain, with \"quotes\"", "Line one\nline two", "ünïcödé 🌍", ""],
            "maybe": pa.array(["a", None, "", None], pa.large_string()),
            "score": [1.5, None, float("inf"), -0.0],
            "flag": [True, False, None, True],
            "small": pa.array([1, -2, 3, None], pa.int8()),
            "blob": [b"\x00\xff", b"", None, b"x"],
            "day": [datetime.date(2024, 2, 29), None, datetime.date(1970, 1, 1),
                    datetime.date(9999, 12, 31)],
            "when": pa.array([datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)] * 3 + [None],
                             pa.timestamp("us", tz="UTC")),
            "price": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-0.01"),
                               decimal.Decimal("999.99")], pa.decimal128(5, 2)),
            "tags": [["x", "y"], [], None, ["z"]],
            "nested": [{"a": 1, "b": "s"}, {"a": None, "b": None}, None, {"a": 4, "b": ""}],
            "cat": pa.array(["u", "v", "u", None]).dictionary_encode(),
        },
        metadata={b"origin": b"test"},
    )


def _write(path: Path, table: Any, **options: Any) -> str:
    pq.write_table(table, str(path), **options)
    return str(path)


def _answers(record: Record) -> dict[str, Any]:
    return {"llm_response": f"answer {record.key}\n✓", "llm_input_tokens": int(record.key) + 1,
            "llm_error": None}


def test_codec_identity() -> None:
    codec = ParquetCodec()
    assert (codec.file_type, codec.suffix, codec.output_suffix) == ("parquet", ".parquet", ".parquet")


def test_read_keys_rows_by_index_like_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", nasty_table())
    records = list(ParquetCodec().read(path, "text"))
    assert records == [Record(i, str(i), text)
                       for i, text in enumerate(nasty_table().column("text").to_pylist())]
    assert list(ParquetCodec().keys(path)) == ["0", "1", "2", "3"]


def test_template_over_columns_of_several_types(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", nasty_table())
    template = PromptTemplate("{id}|{maybe}|{price}|{day}|{tags}|{nested}|{cat}")
    prompts = [r.prompt for r in ParquetCodec().read(path, None, template)]
    assert prompts[0] == "30|a|1.10|2024-02-29|['x', 'y']|{'a': 1, 'b': 's'}|u"
    assert prompts[2] == "20||-0.01|1970-01-01|||u"  # nulls render empty
    assert [r.prompt for r in ParquetCodec().read(path, None, PromptTemplate("hi"))] == ["hi"] * 4


def test_round_trip_keeps_every_column_type_value_and_row(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_codec, "BATCH_ROWS", 3)  # several batches and row groups
    source = nasty_table()
    path = _write(tmp_path / "d.parquet", source, row_group_size=2)
    out = tmp_path / "out.parquet"
    ParquetCodec().write(path, str(out), ["llm_response", "llm_input_tokens", "llm_error"],
                         _answers)
    merged = pq.read_table(str(out))
    assert merged.schema.names == [*source.schema.names, "llm_response", "llm_input_tokens",
                                   "llm_error"]
    assert merged.select(source.schema.names).equals(source)  # types and values, in order
    assert merged.schema.metadata[b"origin"] == b"test"
    assert merged.schema.field("llm_response").type == pa.string()
    assert merged.schema.field("llm_input_tokens").type == pa.int64()
    assert merged.schema.field("llm_error").type == pa.string()  # all null: still a column
    assert merged.column("llm_response").to_pylist() == [f"answer {i}\n✓" for i in range(4)]
    assert merged.column("llm_input_tokens").to_pylist() == [1, 2, 3, 4]
    assert merged.column("llm_error").null_count == 4


def test_existing_column_is_replaced_where_it_stands(tmp_path: Path) -> None:
    table = pa.table({"text": ["a", "b"], "llm_response": [1, 2], "z": [True, False]})
    path = _write(tmp_path / "d.parquet", table)
    out = tmp_path / "out.parquet"
    ParquetCodec().write(path, str(out), ["llm_response", "llm_model"],
                         lambda r: {"llm_response": f"new {r.key}"})
    merged = pq.read_table(str(out))
    assert merged.schema.names == ["text", "llm_response", "z", "llm_model"]
    assert merged.to_pylist() == [
        {"text": "a", "llm_response": "new 0", "z": True, "llm_model": None},
        {"text": "b", "llm_response": "new 1", "z": False, "llm_model": None},
    ]


def test_structured_and_scalar_values_become_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"text": ["a", "b", "c"]}))
    cells = [{"k": "ü"}, 7, None]
    out = tmp_path / "out.parquet"
    ParquetCodec().write(path, str(out), ["llm_response"],
                         lambda r: {"llm_response": cells[r.index]})
    assert pq.read_table(str(out)).column("llm_response").to_pylist() == ['{"k": "ü"}', "7", None]


def test_a_value_that_does_not_fit_the_first_batch_type(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_codec, "BATCH_ROWS", 2)
    path = _write(tmp_path / "d.parquet", pa.table({"text": list("abcd")}))
    out = tmp_path / "out.parquet"
    with pytest.raises(InputError, match="'llm_input_tokens' does not fit the int64 column"):
        ParquetCodec().write(path, str(out), ["llm_input_tokens"],
                             lambda r: {"llm_input_tokens": 1 if r.index < 2 else "many"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet"]


def test_gzipped_input(tmp_path: Path) -> None:
    plain = Path(_write(tmp_path / "d.parquet", nasty_table()))
    zipped = tmp_path / "z.parquet.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert [r.prompt for r in ParquetCodec().read(str(zipped), "text")][1] == "Line one\nline two"
    out = tmp_path / "out.parquet"
    ParquetCodec().write(str(zipped), str(out), ["llm_response"], _answers)
    assert pq.read_table(str(out)).select(nasty_table().schema.names).equals(nasty_table())


@pytest.mark.parametrize("existed", [False, True])
def test_values_failing_midway_leaves_destination_alone(tmp_path: Path, existed: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_codec, "BATCH_ROWS", 1)  # the first batch is already written
    path = _write(tmp_path / "d.parquet", nasty_table())
    out = tmp_path / "out.parquet"
    if existed:
        out.write_text("old")

    def values(record: Record) -> dict[str, Any]:
        if record.index == 2:
            raise RuntimeError("provider exploded")
        return {"llm_response": "x"}

    with pytest.raises(RuntimeError, match="exploded"):
        ParquetCodec().write(path, str(out), ["llm_response"], values)
    assert (out.read_text() == "old") if existed else not out.exists()
    expected = ["d.parquet", "out.parquet"] if existed else ["d.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected


def test_write_over_its_own_source(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", nasty_table())
    ParquetCodec().write(path, path, ["llm_response"], _answers)
    assert pq.read_table(path).column("llm_response").to_pylist()[3] == "answer 3\n✓"


def test_write_calls_values_once_per_row_in_order(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_codec, "BATCH_ROWS", 7)
    path = _write(tmp_path / "d.parquet", pa.table({"n": list(range(50))}), row_group_size=9)
    seen: list[int] = []

    def values(record: Record) -> dict[str, Any]:
        seen.append(record.index)
        return {"llm_response": record.key}

    ParquetCodec().write(path, str(tmp_path / "o.parquet"), ["llm_response"], values)
    assert seen == list(range(50))


# --- every way a Parquet input can be wrong -----------------------------------------------


def _error(path: Path | str, prompt_column: str | None = "text",
           template: PromptTemplate | None = None) -> str:
    with pytest.raises(InputError) as caught:
        list(ParquetCodec().read(str(path), prompt_column, template))
    message = said(caught.value)
    assert "\n" not in message
    assert caught.value.exit_code == 2
    return message


def test_prompt_column_is_required(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"a": ["x"], "b": [1]}))
    assert _error(path, None) == "Parquet input needs --col to name the prompt column (columns: a, b)"
    assert _error(path, "nope") == f"{path} has no column 'nope' (columns: a, b)"
    assert "no column 'c' for the prompt template" in _error(path, None, PromptTemplate("{a}{c}"))


def test_prompt_column_must_hold_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"a": ["x"], "b": [1]}))
    assert "column 'b' holds int64, not text" in _error(path, "b")
    assert [r.prompt for r in ParquetCodec().read(path, None, PromptTemplate("{b}"))] == ["1"]


def test_null_prompt_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"text": ["a", None]}))
    assert _error(path) == f"{path}, row 1: the prompt column 'text' is null"


def test_dictionary_encoded_prompt_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", nasty_table())
    records = ParquetCodec().read(path, "cat")
    assert [next(records).prompt, next(records).prompt] == ["u", "v"]


def test_duplicate_column_names(tmp_path: Path) -> None:
    table = pa.Table.from_arrays([pa.array(["x"]), pa.array(["y"])], names=["text", "text"])
    path = _write(tmp_path / "d.parquet", table)
    assert "duplicate column names: text" in _error(path)
    with pytest.raises(InputError, match="duplicate column names"):
        ParquetCodec().write(path, str(tmp_path / "o.parquet"), ["llm_response"], _answers)
    assert [p.name for p in tmp_path.iterdir()] == ["d.parquet"]


def test_empty_dataset(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"text": pa.array([], pa.string())}))
    assert "is an empty dataset" in _error(path)
    with pytest.raises(InputError, match="empty dataset"):
        list(ParquetCodec().keys(path))
    with pytest.raises(InputError, match="empty dataset"):
        ParquetCodec().write(path, str(tmp_path / "o.parquet"), ["llm_response"], _answers)
    assert [p.name for p in tmp_path.iterdir()] == ["d.parquet"]


@pytest.mark.parametrize(
    "raw", [b"", b"text\nhello\n", b"PAR1" + b"\0" * 40 + b"PAR1"], ids=["empty", "csv", "garbage"]
)
def test_not_parquet(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "d.parquet"
    path.write_bytes(raw)
    assert f"{path} is not a readable Parquet file (" in _error(path)


def test_truncated_file(tmp_path: Path) -> None:
    good = Path(_write(tmp_path / "good.parquet", nasty_table()))
    path = tmp_path / "d.parquet"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "is not a readable Parquet file" in _error(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.parquet").startswith("Input file not found:")
    (tmp_path / "dir.parquet").mkdir()
    assert str(tmp_path / "dir.parquet") in _error(tmp_path / "dir.parquet")


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert "is not a valid gzip file" in _error(path)


# --- without pyarrow ----------------------------------------------------------------------

WITHOUT_PYARROW = textwrap.dedent(
    """
    import sys
    sys.modules["pyarrow"] = None  # makes `import pyarrow` fail as if it were not installed
    import pluggy
    from loom_core import hookspecs
    from loom_core.codecs import CodecRegistry
    from loom_core.errors import InputError
    import loom_adapters.codecs as builtin

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin)
    registry = CodecRegistry()
    manager.hook.loom_register_codecs(register=registry.register)
    codec = registry.for_path(sys.argv[1])
    for call in (lambda: list(codec.read(sys.argv[1], "text")),
                 lambda: list(codec.keys(sys.argv[1])),
                 lambda: codec.write(sys.argv[1], sys.argv[1] + ".out", ["x"], dict)):
        try:
            call()
        except InputError as error:
            print(error)
    """
)


def test_without_pyarrow_every_use_says_what_to_install(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"text": ["a"]}))
    done = subprocess.run([sys.executable, "-c", WITHOUT_PYARROW, path], capture_output=True,
                          text=True, check=True, timeout=60)
    expected = 'Parquet files need pyarrow, which is not installed: pip install "loom-batch[parquet]"'
    assert done.stdout.splitlines() == [expected] * 3, done.stderr
    assert not Path(path + ".out").exists()


def test_registering_the_codecs_does_not_import_pyarrow() -> None:
    script = ("import sys, loom_adapters.codecs as c; c.ParquetCodec(); "
              "print('pyarrow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "False"
