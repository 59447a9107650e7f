"""Prompt templates: fields by exact name, literal braces, and errors that name the row."""

from __future__ import annotations

import pytest

from loom_core.errors import InputError
from loom_core.template import PromptTemplate


def test_fields_are_filled_by_exact_name_including_spaces() -> None:
    template = PromptTemplate("Classify {text} for {the user} ({n:03d}) {{literal}}")
    assert template.fields == ("text", "the user", "n")
    rendered = template.render({"text": "hi", "the user": "Ana", "n": 7}, "row 0")
    assert rendered == "Classify hi for Ana (007) {literal}"


def test_none_renders_empty_and_other_values_as_text() -> None:
    assert PromptTemplate("[{a}|{b}]").render({"a": None, "b": [1, 2]}, "row 0") == "[|[1, 2]]"


def test_a_missing_field_names_the_row_and_what_it_has() -> None:
    with pytest.raises(InputError, match=r"row 4 has no field 'text' .*\(it has: id, prompt\)"):
        PromptTemplate("Say {text}").render({"id": 1, "prompt": "x"}, "row 4")


@pytest.mark.parametrize("text", ["unclosed {field", "stray } brace", "empty {} field",
                                  "{x!r} conversion"])
def test_malformed_templates_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        PromptTemplate(text)
