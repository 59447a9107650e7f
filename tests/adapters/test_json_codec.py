"""JsonCodec: the seed's list of {id, prompt} objects, read and merged back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from loom_core.errors import InputError
from loom_core.model import Record
from loom_adapters.codecs import JsonCodec


def _dump(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _answers(record: Record) -> dict[str, Any]:
    return {"llm_response": f"answer {record.key!r}", "llm_error": None}


ITEMS = [
    {"id": "task-001", "prompt": "Summarize Hamlet.", "lang": "en"},
    {"meta": {"n": 1}, "id": 2, "prompt": "Traduis « bonjour » 🌍"},
    {"id": "", "prompt": ""},
]


def test_read_keeps_id_types_and_order(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.json", ITEMS)
    records = list(JsonCodec().read(path, None))
    assert records == [
        Record(index=0, key="task-001", prompt="Summarize Hamlet."),
        Record(index=1, key=2, prompt="Traduis « bonjour » 🌍"),
        Record(index=2, key="", prompt=""),
    ]
    assert type(records[1].key) is int


def test_codec_identity() -> None:
    codec = JsonCodec()
    assert (codec.file_type, codec.suffix, codec.output_suffix) == ("json", ".json", ".json")


def test_write_round_trip_keeps_every_field_in_order(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.json", ITEMS)
    out = tmp_path / "out.json"
    JsonCodec().write(source, str(out), ["llm_response", "llm_error"], _answers)
    text = out.read_text(encoding="utf-8")
    assert "🌍" in text and '\n  {\n    "id": "task-001",' in text  # indent 2, not ASCII-escaped
    merged = json.loads(text)
    assert [list(item) for item in merged] == [
        ["id", "prompt", "lang", "llm_response", "llm_error"],
        ["meta", "id", "prompt", "llm_response", "llm_error"],
        ["id", "prompt", "llm_response", "llm_error"],
    ]
    assert merged[1]["meta"] == {"n": 1} and merged[1]["id"] == 2
    assert merged[1]["llm_response"] == "answer 2"
    assert merged[0]["llm_error"] is None  # None stays null


def test_existing_field_is_overwritten_in_place(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.json", [{"id": 1, "llm_response": "old", "prompt": "hi", "z": 0}])
    out = tmp_path / "out.json"
    JsonCodec().write(source, str(out), ["llm_response"], lambda r: {"llm_response": "new"})
    (item,) = json.loads(out.read_text())
    assert list(item.items()) == [("id", 1), ("llm_response", "new"), ("prompt", "hi"), ("z", 0)]


def test_missing_value_is_null(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.json", [{"id": 1, "prompt": "hi"}])
    out = tmp_path / "out.json"
    JsonCodec().write(source, str(out), ["llm_response", "llm_model"], lambda r: {"llm_response": "x"})
    assert json.loads(out.read_text()) == [{"id": 1, "prompt": "hi", "llm_response": "x", "llm_model": None}]


def test_prompt_column_names_another_field(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.json", [{"id": 1, "text": "hello"}])
    assert list(JsonCodec().read(path, "text")) == [Record(0, 1, "hello")]


def test_gzip_input_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "p.json.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + json.dumps(ITEMS).encode("utf-8")))
    records = list(JsonCodec().read(str(path), None))
    assert [r.key for r in records] == ["task-001", 2, ""]
    out = tmp_path / "out.json"
    JsonCodec().write(str(path), str(out), ["llm_response"], _answers)
    assert out.read_bytes().startswith(b"[")  # uncompressed, no BOM
    assert [item["id"] for item in json.loads(out.read_text())] == ["task-001", 2, ""]


def test_plain_file_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ITEMS[:1]).encode())
    assert [r.key for r in JsonCodec().read(str(path), None)] == ["task-001"]


@pytest.mark.parametrize("existed", [False, True])
def test_values_failing_midway_leaves_destination_alone(tmp_path: Path, existed: bool) -> None:
    source = _dump(tmp_path / "p.json", ITEMS)
    out = tmp_path / "out.json"
    if existed:
        out.write_text("old")

    def values(record: Record) -> dict[str, Any]:
        if record.index == 1:
            raise RuntimeError("provider exploded")
        return {"llm_response": "x"}

    with pytest.raises(RuntimeError):
        JsonCodec().write(source, str(out), ["llm_response"], values)
    assert (out.read_text() == "old") if existed else not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.json", "p.json"] if existed else ["p.json"])


def test_write_over_its_own_source(tmp_path: Path) -> None:
    source = _dump(tmp_path / "p.json", ITEMS)
    JsonCodec().write(source, source, ["llm_response"], _answers)
    assert json.loads(Path(source).read_text())[0]["llm_response"].startswith("answer")


# --- every way a JSON input can be wrong -------------------------------------------------


def _error(tmp_path: Path, content: Any, name: str = "p.json", raw: bytes | None = None) -> str:
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        _dump(path, content)
    with pytest.raises(InputError) as caught:
        list(JsonCodec().read(str(path), None))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert caught.value.exit_code == 2
    return message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"id": 1, "prompt": "x"}, "must hold a JSON list"),
        ("just a string", "must hold a JSON list"),
        ([], "empty dataset"),
        ([{"id": 1, "prompt": "a"}, "text"], "item 1 is a string"),
        ([{"id": 1, "prompt": "a"}, [1]], "item 1 is a list"),
        ([{"prompt": "a"}], "item 0 has no 'id'"),
        ([{"id": 1, "prompt": "a"}, {"id": 2}], "item 1 has no 'prompt'"),
        ([{"id": 1, "prompt": 5}], "item 0: 'prompt' must be a string, not a number"),
        ([{"id": 1, "prompt": None}], "item 0: 'prompt' must be a string, not null"),
        ([{"id": True, "prompt": "a"}], "item 0 has an id of type a boolean"),
        ([{"id": 1.5, "prompt": "a"}], "item 0 has an id of type a number"),
        ([{"id": None, "prompt": "a"}], "item 0 has an id of type null"),
        ([{"id": {"a": 1}, "prompt": "a"}], "item 0 has an id of type an object"),
        ([{"id": [1], "prompt": "a"}], "item 0 has an id of type a list"),
    ],
)
def test_invalid_content(tmp_path: Path, content: Any, expected: str) -> None:
    assert expected in _error(tmp_path, content)


def test_duplicate_ids_name_the_id(tmp_path: Path) -> None:
    message = _error(tmp_path, [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"}, {"id": "a", "prompt": "z"}])
    assert 'item 2 repeats id "a" (first used by item 0)' in message


def test_int_and_string_ids_are_different_ids(tmp_path: Path) -> None:
    path = _dump(tmp_path / "p.json", [{"id": 1, "prompt": "x"}, {"id": "1", "prompt": "y"}])
    assert [r.key for r in JsonCodec().read(path, None)] == [1, "1"]


def test_malformed_json_gives_line_and_column(tmp_path: Path) -> None:
    message = _error(tmp_path, None, raw=b'[\n  {"id": 1, "prompt": "a"},\n  {"id": 2 "prompt": "b"}\n]')
    assert "is not valid JSON" in message and "line 3, column 12" in message


def test_empty_file(tmp_path: Path) -> None:
    assert "is empty" in _error(tmp_path, None, raw=b"  \n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Input file not found: .*nope.json"):
        list(JsonCodec().read(str(tmp_path / "nope.json"), None))


def test_undecodable_bytes(tmp_path: Path) -> None:
    message = _error(tmp_path, None, raw=b'[{"id": 1, "prompt": "caf\xe9"}]')
    assert "is not UTF-8 text" in message and "0xe9" in message


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"id": 1, "prompt": "a"}]',  # not gzip at all
        gzip.compress(b'[{"id": 1, "prompt": "a"}]' * 50)[:-20],  # truncated
        gzip.compress(b'[{"id": 1, "prompt": "a"}]')[:-8] + b"\0" * 8,  # bad CRC
    ],
    ids=["plain-bytes", "truncated", "bad-crc"],
)
def test_corrupt_gzip(tmp_path: Path, raw: bytes) -> None:
    assert "is not a valid gzip file" in _error(tmp_path, None, name="p.json.gz", raw=raw)
