"""Codecs build prompts from templates and list keys without needing a prompt column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loom_adapters.codecs import CsvCodec, JsonCodec
from loom_core.errors import InputError
from loom_core.template import PromptTemplate


def test_csv_template_uses_columns_and_needs_no_prompt_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,text,lang\n1,hello,fr\n2,bye,de\n")
    records = list(CsvCodec().read(str(path), None, PromptTemplate("To {lang}: {text}")))
    assert [r.prompt for r in records] == ["To fr: hello", "To de: bye"]
    assert list(CsvCodec().keys(str(path))) == ["0", "1"]


def test_csv_template_naming_an_unknown_column_fails_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(InputError, match="no column 'lang' for the prompt template"):
        list(CsvCodec().read(str(path), None, PromptTemplate("{lang}: {text}")))


def test_json_template_uses_fields_and_names_the_item_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": "a", "text": "hi"}, {"id": "b"}]))
    codec = JsonCodec()
    template = PromptTemplate("Echo {text}")
    with pytest.raises(InputError, match=r"item 1 has no field 'text'"):
        list(codec.read(str(path), None, template))
    assert list(codec.keys(str(path))) == ["a", "b"]


def test_json_without_prompt_fields_still_merges(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": "a", "text": "hi"}]))
    out = tmp_path / "o.json"
    JsonCodec().write(str(path), str(out), ["llm_response"], lambda r: {"llm_response": r.key})
    assert json.loads(out.read_text()) == [{"id": "a", "text": "hi", "llm_response": "a"}]
