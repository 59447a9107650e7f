"""``write_merged``: answers become columns, matched to rows by key, never by position."""

from __future__ import annotations

from loom_core.merge import NO_ANSWER, write_merged
from loom_core.model import Completion

from .fakes import MemoryCodec

ROWS = [{"id": "a", "prompt": "pa"}, {"id": 2, "prompt": "pb"}, {"id": "c", "prompt": "pc"}]


def merge(answers: dict[object, Completion], *, with_meta: bool = False) -> tuple[MemoryCodec, object]:
    codec = MemoryCodec({"in.mem": [dict(row) for row in ROWS]})
    keys = [row["id"] for row in ROWS]
    stats = write_merged(codec, "in.mem", "out.mem", answers, keys=keys,
                         provider="openai", model="gpt-4o-mini", with_meta=with_meta)
    return codec, stats


def test_answers_land_in_their_rows_whatever_the_mapping_order() -> None:
    answers = {"c": Completion(text="C"), "a": Completion(text="A"), 2: Completion(text="B")}
    codec, stats = merge(answers)
    assert codec.files["out.mem"] == [
        {"id": "a", "prompt": "pa", "llm_response": "A"},
        {"id": 2, "prompt": "pb", "llm_response": "B"},
        {"id": "c", "prompt": "pc", "llm_response": "C"},
    ]
    assert codec.columns["out.mem"] == ["llm_response"]
    assert (stats.rows, stats.answered, stats.errors) == (3, 3, 0)


def test_the_source_is_left_as_it_was() -> None:
    codec, _ = merge({"a": Completion(text="A"), 2: Completion(text="B"), "c": Completion("C")})
    assert codec.files["in.mem"] == ROWS


def test_meta_columns_follow_the_response() -> None:
    answers = {"a": Completion(text="A"), "c": Completion("C"),
               2: Completion(text="B", finish_reason="length", input_tokens=3, output_tokens=9)}
    codec, _ = merge(answers, with_meta=True)
    assert codec.columns["out.mem"] == ["llm_response", "llm_provider", "llm_model",
                                        "llm_finish_reason", "llm_input_tokens",
                                        "llm_output_tokens"]
    assert codec.files["out.mem"][1] == {"id": 2, "prompt": "pb", "llm_response": "B",
                                         "llm_provider": "openai", "llm_model": "gpt-4o-mini",
                                         "llm_finish_reason": "length", "llm_input_tokens": 3,
                                         "llm_output_tokens": 9}


def test_a_failed_row_adds_the_error_column_to_every_row() -> None:
    answers = {"a": Completion(text="A"), 2: Completion.failure("400: bad"), "c": Completion("C")}
    codec, stats = merge(answers, with_meta=True)
    assert codec.columns["out.mem"] == ["llm_response", "llm_provider", "llm_model",
                                        "llm_finish_reason", "llm_input_tokens",
                                        "llm_output_tokens", "llm_error"]
    out = codec.files["out.mem"]
    assert [(row["llm_response"], row["llm_error"]) for row in out] == [
        ("A", None), (None, "400: bad"), ("C", None)]
    assert (stats.rows, stats.answered, stats.errors) == (3, 2, 1)


def test_a_row_without_an_answer_says_so() -> None:
    codec, stats = merge({"a": Completion(text="A"), "c": Completion(text="C")})
    row = codec.files["out.mem"][1]
    assert row["llm_response"] is None and row["llm_error"] == NO_ANSWER
    assert stats.errors == 1


def test_an_unanswered_row_gets_an_error_even_when_the_answer_count_matches() -> None:
    answers = {"a": Completion(text="A"), 2: Completion(text="B"), "gone": Completion("X")}
    codec, stats = merge(answers)
    row = codec.files["out.mem"][2]
    assert row["llm_response"] is None and row.get("llm_error") == NO_ANSWER
