"""State files and cache entries: the released tool's JSON shapes, both ways
(docs/compatibility.md)."""

from __future__ import annotations

import json

import pytest

from loom_core.errors import StateError
from loom_core.model import BatchJob, BatchStatus, CacheEntry, GenerationSettings
from loom_core.serialization import (
    batch_job_from_dict,
    batch_job_to_dict,
    cache_entry_from_dict,
    cache_entry_to_dict,
)

SEED_FIELDS = {
    "batch_id", "provider", "model", "original_file_path", "file_type", "prompt_column",
    "id_map", "created_at", "status", "output_path", "with_meta",
}


def released_state(**changes: object) -> dict[str, object]:
    """A state file as loom-batch 0.7 wrote it for a CSV dataset (random UUID custom ids)."""
    state: dict[str, object] = {
        "batch_id": "batch_68a1f0c2",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "original_file_path": "/home/ana/data.csv",
        "file_type": "csv",
        "prompt_column": "text",
        "id_map": {"0b8e4a4c-5a2e-4a8e-9f0e-3c1b2d4e5f60": "0",
                   "7d1c2b3a-0000-4000-8000-123456789abc": "1"},
        "created_at": "2026-05-01T12:00:00+00:00",
        "status": "in_progress",
        "output_path": None,
        "with_meta": False,
    }
    state.update(changes)
    return state


def a_job(**changes: object) -> BatchJob:
    fields: dict[str, object] = dict(
        batch_id="batches/abc", provider="google", model="gemini-2.0-flash",
        original_file_path="in/prompts.json", file_type="json", prompt_column=None,
        id_map={"row-0": "task-001", "row-1": 2}, created_at="2026-05-01T12:00:00+00:00",
    )
    fields.update(changes)
    return BatchJob(**fields)  # type: ignore[arg-type]


def test_batch_job_round_trips_through_json_text() -> None:
    job = a_job(status=BatchStatus.IN_PROGRESS, output_path="out.json", with_meta=True)
    text = json.dumps(batch_job_to_dict(job), indent=2)
    assert batch_job_from_dict(json.loads(text)) == job


def test_batch_job_dict_has_exactly_the_seed_fields_without_settings() -> None:
    data = batch_job_to_dict(a_job())
    assert set(data) == SEED_FIELDS
    assert data["status"] == "validating"
    assert data["id_map"] == {"row-0": "task-001", "row-1": 2}  # JSON id types kept


def test_settings_travel_as_params_and_round_trip() -> None:
    settings = GenerationSettings(temperature=0.3, stop=["END"], json_mode=True, system="Be brief",
                                  extra={"service_tier": "flex"})
    data = batch_job_to_dict(a_job(settings=settings))
    assert data["params"] == {"temperature": 0.3, "stop": ["END"], "json_mode": True,
                              "system": "Be brief", "extra": {"service_tier": "flex"}}
    assert "settings" not in data
    assert batch_job_from_dict(json.loads(json.dumps(data))).settings == settings


def test_the_released_tools_state_file_loads() -> None:
    job = batch_job_from_dict(released_state(request_counts={"total": 2}, loom_version="0.7.0"))
    assert job.batch_id == "batch_68a1f0c2"
    assert job.file_type == "csv"
    assert job.prompt_column == "text"
    assert job.id_map["7d1c2b3a-0000-4000-8000-123456789abc"] == "1"
    assert job.status is BatchStatus.IN_PROGRESS
    assert job.output_path is None and job.with_meta is False
    assert job.settings == GenerationSettings()


def test_an_early_state_file_without_the_optional_fields_loads() -> None:
    state = released_state()
    for optional in ("prompt_column", "output_path", "with_meta", "status"):
        del state[optional]
    job = batch_job_from_dict(state)
    assert (job.prompt_column, job.output_path, job.with_meta) == (None, None, False)
    assert job.status is BatchStatus.UNKNOWN


def test_the_released_tools_cache_answers_load_and_are_written_back() -> None:
    cached = {"0b8e4a4c-5a2e-4a8e-9f0e-3c1b2d4e5f60": "answered from its cache"}
    job = batch_job_from_dict(released_state(cached_responses=cached, source="file",
                                             cache_dir="/home/ana/.loom/cache"))
    assert job.cached_responses == cached
    # Only the other row went to the provider.
    assert (job.parts[0].start, job.parts[0].end) == (0, 1)
    assert list(job.sent_ids(job.parts[0])) == ["7d1c2b3a-0000-4000-8000-123456789abc"]
    assert batch_job_to_dict(job)["cached_responses"] == cached


@pytest.mark.parametrize("cached", [None, {}])
def test_a_job_without_cache_answers_keeps_the_released_layout(cached: object) -> None:
    state = released_state() if cached is None else released_state(cached_responses=cached)
    assert "cached_responses" not in batch_job_to_dict(batch_job_from_dict(state))


@pytest.mark.parametrize("status", ["finalizing", "ended", "", None, 3])
def test_a_status_this_version_does_not_know_reads_as_unknown(status: object) -> None:
    assert batch_job_from_dict(released_state(status=status)).status is BatchStatus.UNKNOWN


@pytest.mark.parametrize("status", [s.value for s in BatchStatus])
def test_every_known_status_reads_back(status: str) -> None:
    assert batch_job_from_dict(released_state(status=status)).status.value == status


def test_missing_fields_are_named_in_the_state_error() -> None:
    state = released_state()
    del state["model"]
    del state["id_map"]
    with pytest.raises(StateError) as caught:
        batch_job_from_dict(state)
    assert "model" in str(caught.value) and "id_map" in str(caught.value)
    assert "batch_id" not in str(caught.value)


@pytest.mark.parametrize("data", [[], "batch", None, 42])
def test_a_state_that_is_not_an_object_is_a_state_error(data: object) -> None:
    with pytest.raises(StateError):
        batch_job_from_dict(data)


def test_an_unknown_setting_from_a_newer_version_leaves_the_batch_readable() -> None:
    state = released_state(params={"temperature": 0.5, "reasoning_effort": "high"})
    job = batch_job_from_dict(state)
    assert job.settings.temperature == 0.5


def test_cache_entry_omits_unset_optional_fields() -> None:
    entry = CacheEntry(provider="openai", model="gpt-4o-mini", response="Bonjour",
                       created_at="2026-05-01T12:00:00+00:00")
    assert cache_entry_to_dict(entry) == {
        "provider": "openai", "model": "gpt-4o-mini", "response": "Bonjour",
        "created_at": "2026-05-01T12:00:00+00:00",
    }


def test_cache_entry_keeps_the_set_optional_fields_and_round_trips() -> None:
    entry = CacheEntry(provider="openai", model="m", response="r", created_at="t",
                       params={"temperature": 0.5}, finish_reason="length", output_tokens=7)
    data = cache_entry_to_dict(entry)
    assert data == {"provider": "openai", "model": "m", "response": "r", "created_at": "t",
                    "params": {"temperature": 0.5}, "finish_reason": "length",
                    "output_tokens": 7}
    assert cache_entry_from_dict(json.loads(json.dumps(data))) == entry


def test_the_released_tools_cache_entry_loads() -> None:
    entry = cache_entry_from_dict({"provider": "openai", "model": "gpt-4o-mini",
                                   "response": "Paris", "created_at": "2026-05-01T12:00:00+00:00"})
    assert entry.to_completion().text == "Paris"
    assert entry.params is None


@pytest.mark.parametrize("data", [{}, {"response": None}, {"response": 3}, ["Paris"], None])
def test_a_cache_entry_without_a_string_response_is_a_state_error(data: object) -> None:
    with pytest.raises(StateError):
        cache_entry_from_dict(data)
