"""JsonlCodec: one {id, prompt} object per line, read lazily and merged back line by line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from loom_core.errors import InputError
from loom_core.model import Record
from loom_core.template import PromptTemplate
from loom_adapters.codecs import JsonlCodec

ITEMS: list[dict[str, Any]] = [
    {"id": "task-001", "prompt": "Summarize Hamlet.", "lang": "en"},
    {"meta": {"n": [1, {"deep": None}]}, "id": 2, "prompt": "Traduis « bonjour » 🌍\nsur deux lignes"},
    {"id": "", "prompt": "", "empty": "", "nothing": None, "flag": False, "x": 1.5},
    {"id": "sep", "prompt": "line\u2028separator \u0085 and \r carriage"},
]


def _dump(path: Path, items: list[Any], *, blank_lines: bool = False) -> str:
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    text = ("\n\n   \n".join(lines) if blank_lines else "\n".join(lines)) + "\n"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _answers(record: Record) -> dict[str, Any]:
    return {"llm_response": f"answer {record.key!r}\n✓", "llm_error": None}


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").split("\n") if line]


def test_codec_identity() -> None:
    codec = JsonlCodec()
    assert (codec.file_type, codec.output_suffix) == ("jsonl", ".jsonl")
    assert codec.suffixes == (".jsonl", ".ndjson")


def test_read_keeps_id_types_order_and_exact_prompts(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.jsonl", ITEMS, blank_lines=True)
    records = list(JsonlCodec().read(path, None))
    assert records == [Record(index=i, key=item["id"], prompt=item["prompt"])
                       for i, item in enumerate(ITEMS)]
    assert type(records[1].key) is int
    assert list(JsonlCodec().keys(path)) == ["task-001", 2, "", "sep"]


def test_write_round_trip_keeps_every_field_in_order(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.jsonl", ITEMS, blank_lines=True)
    out = tmp_path / "out.jsonl"
    JsonlCodec().write(source, str(out), ["llm_response", "llm_error"], _answers)
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and b"\r\n" not in raw and "🌍".encode() in raw  # not escaped
    lines = raw.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(ITEMS)  # one object per line, blank lines gone
    assert all(line.splitlines() == [line] for line in lines)  # U+2028, NEL, CR escaped
    merged = _load(out)
    for before, after in zip(ITEMS, merged):
        assert list(after) == [*before, "llm_response", "llm_error"]
        assert {k: after[k] for k in before} == before
        assert after["llm_error"] is None
    assert merged[1]["llm_response"] == "answer 2\n✓"


def test_existing_field_is_overwritten_in_place(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.jsonl", [{"id": 1, "llm_response": "old", "prompt": "hi"}])
    out = tmp_path / "out.jsonl"
    JsonlCodec().write(source, str(out), ["llm_response", "llm_model"],
                       lambda r: {"llm_response": "new"})
    assert out.read_text(encoding="utf-8") == (
        '{"id": 1, "llm_response": "new", "prompt": "hi", "llm_model": null}\n')


def test_prompt_column_and_template(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.jsonl", [{"id": 1, "text": "hello", "n": 3, "o": {"a": 1}}])
    assert list(JsonlCodec().read(path, "text")) == [Record(0, 1, "hello")]
    template = PromptTemplate("{text} x{n} {o}")
    assert list(JsonlCodec().read(path, None, template)) == [Record(0, 1, "hello x3 {'a': 1}")]
    with pytest.raises(InputError, match=r"line 1 has no field 'nope'"):
        list(JsonlCodec().read(path, None, PromptTemplate("{nope}")))


@pytest.mark.parametrize("name", ["p.jsonl.gz", "p.ndjson.gz"])
def test_gzip_input_with_bom_and_crlf(tmp_path: Path, name: str) -> None:
    text = "\r\n".join(json.dumps(item) for item in ITEMS[:2])
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert [r.key for r in JsonlCodec().read(str(path), None)] == ["task-001", 2]
    out = tmp_path / "out.jsonl"
    JsonlCodec().write(str(path), str(out), ["llm_response"], _answers)
    assert out.read_bytes().startswith(b'{"id": "task-001"')  # plain, no BOM
    assert [item["id"] for item in _load(out)] == ["task-001", 2]


def test_read_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": 1, "prompt": "a"}\n{"id": 2, "prompt": "b"}\n{broken\n')
    records = JsonlCodec().read(str(path), None)
    assert next(records) == Record(0, 1, "a")  # line 3 has not been reached yet
    assert next(records) == Record(1, 2, "b")
    with pytest.raises(InputError, match="line 3"):
        next(records)


def test_write_streams_values_once_per_row_in_order(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.jsonl", [{"id": i, "prompt": str(i)} for i in range(200)])
    seen: list[Any] = []

    def values(record: Record) -> dict[str, Any]:
        seen.append(record.key)
        return {"llm_response": record.index}

    JsonlCodec().write(source, str(tmp_path / "o.jsonl"), ["llm_response"], values)
    assert seen == list(range(200))


@pytest.mark.parametrize("existed", [False, True])
def test_values_failing_midway_leaves_destination_alone(tmp_path: Path, existed: bool) -> None:
    source = _dump(tmp_path / "p.jsonl", ITEMS)
    out = tmp_path / "out.jsonl"
    if existed:
        out.write_text("old")

    def values(record: Record) -> dict[str, Any]:
        if record.index == 2:
            raise RuntimeError("provider exploded")
        return {"llm_response": "x"}

    with pytest.raises(RuntimeError, match="exploded"):
        JsonlCodec().write(source, str(out), ["llm_response"], values)
    assert (out.read_text() == "old") if existed else not out.exists()
    expected = ["out.jsonl", "p.jsonl"] if existed else ["p.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected


def test_bad_line_found_while_writing_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}\n')
    with pytest.raises(InputError, match="line 2 repeats id 1"):
        JsonlCodec().write(str(path), str(tmp_path / "o.jsonl"), ["llm_response"], _answers)
    assert [p.name for p in tmp_path.iterdir()] == ["p.jsonl"]


def test_write_over_its_own_source(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.jsonl", ITEMS)
    JsonlCodec().write(source, source, ["llm_response"], _answers)
    assert [item["llm_response"] for item in _load(Path(source))][0] == "answer 'task-001'\n✓"


# --- every way a JSONL input can be wrong -------------------------------------------------


def _error(tmp_path: Path, raw: bytes, name: str = "p.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(InputError) as caught:
        list(JsonlCodec().read(str(path), None))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert caught.value.exit_code == 2
    return message


OK = b'{"id": 1, "prompt": "a"}\n'
MANY = b"".join(b'{"id": %d, "prompt": "a"}\n' % i for i in range(200))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty dataset"),
        (b"\n  \n\n", "empty dataset"),
        (OK + b'"text"\n', "line 2 is a string, not an object"),
        (OK + b"\n[1]\n", "line 3 is a list, not an object"),
        (b"null\n", "line 1 is null"),
        (b'{"prompt": "a"}\n', "line 1 has no 'id'"),
        (OK + b'{"id": 2}\n', "line 2 has no 'prompt'"),
        (b'{"id": 1, "prompt": 5}\n', "line 1: 'prompt' must be a string, not a number"),
        (b'{"id": true, "prompt": "a"}\n', "line 1 has an id of type a boolean"),
        (b'{"id": 1.5, "prompt": "a"}\n', "line 1 has an id of type a number"),
        (b'{"id": null, "prompt": "a"}\n', "line 1 has an id of type null"),
        (OK + b'{"id": 2 "prompt": "b"}\n', "line 2 is not valid JSON: Expecting ',' delimiter at column 10"),
        (b'[{"id": 1, "prompt": "a"}]\n', "line 1 is a list"),  # a JSON file named .jsonl
        (b'{"id": 1,\n "prompt": "a"}\n', "line 1 is not valid JSON"),  # pretty-printed
        (OK + b'{"id": 2, "prompt": "caf\xe9"}\n', "line 2 is not UTF-8 text (undecodable byte 0xe9)"),
        (b"[" * 100_000 + b"\n", "nested too deeply"),
    ],
)
def test_invalid_content(tmp_path: Path, raw: bytes, expected: str) -> None:
    assert expected in _error(tmp_path, raw)


def test_duplicate_ids_name_the_id_and_lines(tmp_path: Path) -> None:
    raw = b'{"id": "a", "prompt": "x"}\n\n{"id": "b", "prompt": "y"}\n{"id": "a", "prompt": "z"}\n'
    message = _error(tmp_path, raw)
    assert 'line 4 repeats id "a" (first used on line 1); ids must be unique' in message


def test_int_and_string_ids_are_different_ids(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.jsonl", [{"id": 1, "prompt": "x"}, {"id": "1", "prompt": "y"}])
    assert list(JsonlCodec().keys(path)) == [1, "1"]


def test_keys_check_ids_but_not_prompts(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.jsonl", [{"id": 1}, {"id": 2, "prompt": 3}])
    assert list(JsonlCodec().keys(path)) == [1, 2]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Input file not found: .*nope.jsonl"):
        list(JsonlCodec().read(str(tmp_path / "nope.jsonl"), None))


@pytest.mark.parametrize(
    "raw",
    [OK, gzip.compress(MANY)[:-20], gzip.compress(OK)[:-8] + b"\0" * 8],
    ids=["plain-bytes", "truncated", "bad-crc"],
)
def test_corrupt_gzip(tmp_path: Path, raw: bytes) -> None:
    assert "is not a valid gzip file" in _error(tmp_path, raw, name="p.jsonl.gz")


# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "file_type"),
    [("a.jsonl", "jsonl"), ("a.NDJSON", "jsonl"), ("dir/a.jsonl.gz", "jsonl"),
     ("a.ndjson.gz", "jsonl"), ("a.parquet", "parquet"), ("a.json", "json")],
)
def test_registered_through_the_codec_hook(path: str, file_type: str) -> None:
    import pluggy

    import loom_adapters.codecs as builtin
    from loom_core import hookspecs
    from loom_core.codecs import CodecRegistry

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin)
    registry = CodecRegistry()
    manager.hook.loom_register_codecs(register=registry.register)
    assert registry.for_path(path).file_type == file_type
    assert registry.for_file_type(file_type).file_type == file_type
