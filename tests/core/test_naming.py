"""Names derived from user and provider data: output paths, state-file names, custom ids."""

from __future__ import annotations

import re

import pytest

from loom_core.naming import custom_id_for, default_output_path, safe_component, state_file_name

HOSTILE_IDS = [
    "", ".", "..", "...", "/", "//", "../../etc/passwd", "..\\..\\windows", "a/../../b",
    "batches/abc", "C:\\temp", "x\x00y", "line\nbreak", "  ", "~", "ünïcödé", "名前",
    "$(rm -rf)",
]


@pytest.mark.parametrize(
    ("source", "suffix", "expected"),
    [
        ("prompts.json", ".json", "prompts_results_openai_gpt-4o-mini.json"),
        ("data.csv", ".csv", "data_results_openai_gpt-4o-mini.csv"),
        ("prompts.json.gz", ".json", "prompts_results_openai_gpt-4o-mini.json"),
        ("data.csv.gz", ".csv", "data_results_openai_gpt-4o-mini.csv"),
        ("DATA.CSV.GZ", ".csv", "DATA_results_openai_gpt-4o-mini.csv"),
        ("my.data.v2.json", ".json", "my.data.v2_results_openai_gpt-4o-mini.json"),
        ("in/sub/prompts.json", ".json", "in/sub/prompts_results_openai_gpt-4o-mini.json"),
        ("/abs/dir/data.csv.gz", ".csv", "/abs/dir/data_results_openai_gpt-4o-mini.csv"),
    ],
)
def test_default_output_path(source: str, suffix: str, expected: str) -> None:
    assert default_output_path(source, "openai", "gpt-4o-mini", suffix) == expected


@pytest.mark.parametrize(
    ("model", "spelled"),
    [
        ("openai/gpt-4o-mini", "openai_gpt-4o-mini"),  # the seed's own example
        ("meta-llama/llama-3.1-8b-instruct:free", "meta-llama_llama-3.1-8b-instruct_free"),
        ("llama3:8b", "llama3_8b"),
        ("my model", "my_model"),
        ("../../escape", ".._.._escape"),
    ],
)
def test_unsafe_characters_in_the_model_id_become_underscores(model: str, spelled: str) -> None:
    path = default_output_path("dir/prompts.json", "openrouter", model, ".json")
    assert path == f"dir/prompts_results_openrouter_{spelled}.json"


def test_hostile_model_id_keeps_the_output_next_to_the_input() -> None:
    path = default_output_path("in/data.csv", "openai", "../../../etc/passwd", ".csv")
    assert path.startswith("in/") and path.count("/") == 1


@pytest.mark.parametrize("text", HOSTILE_IDS)
def test_safe_component_is_a_plain_file_name(text: str) -> None:
    safe = safe_component(text)
    assert safe
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", safe)


@pytest.mark.parametrize("batch_id", HOSTILE_IDS)
def test_state_file_name_never_names_another_folder(batch_id: str) -> None:
    for provider in ("openai", "../x", ".."):
        name = state_file_name(provider, batch_id)
        assert "/" not in name and "\\" not in name
        assert name not in (".", "..")
        assert name.endswith(".json")


def test_state_file_name_follows_the_released_tool_for_ordinary_ids() -> None:
    assert state_file_name("google", "batches/abc123") == "google_batches_abc123.json"
    assert state_file_name("openai", "batch_abc123") == "openai_batch_abc123.json"
    assert state_file_name("anthropic", "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d") == (
        "anthropic_msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d.json"
    )


@pytest.mark.parametrize("index", [0, 1, 9, 10, 12345, 10**12])
def test_custom_ids_are_valid_for_every_provider(index: int) -> None:
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", custom_id_for(index))


def test_custom_ids_are_distinct() -> None:
    assert len({custom_id_for(i) for i in range(1000)}) == 1000
