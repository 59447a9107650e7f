"""``submit_batch``: custom ids every provider accepts, an id map back to the rows, state saved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loom_core.errors import InputError
from loom_core.model import BatchJob, BatchStatus, GenerationSettings
from loom_core.services.submit import SubmitRequest, submit_batch

from .fakes import AlwaysGuard, FakeBatchProvider, InMemoryCache, InMemoryStateStore, MemoryCodec

NOW = "2026-05-01T12:00:00+00:00"
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SEED_FIELDS = {
    "batch_id", "provider", "model", "original_file_path", "file_type", "prompt_column",
    "id_map", "created_at", "status", "output_path", "with_meta",
}


class World:
    def __init__(self, files: dict[str, list[dict[str, object]]]) -> None:
        self.codec = MemoryCodec(files)
        self.provider = FakeBatchProvider()
        self.store = InMemoryStateStore()
        self.cache = InMemoryCache()

    def submit(self, source: str, **request: Any) -> BatchJob:
        fields: dict[str, Any] = dict(source=source, provider="anthropic", model="claude")
        fields.update(request)
        return submit_batch(SubmitRequest(**fields), codecs=self.codec.registry(),
                            provider=self.provider, store=self.store, cache=self.cache,
                            guard=AlwaysGuard(), now=lambda: NOW).job


HOSTILE_IDS = ["task 1", "a/b", "ü", "x" * 100, 7, "", "7"]


def test_custom_ids_are_unique_and_valid_whatever_the_row_ids() -> None:
    rows = [{"id": row_id, "prompt": f"p{i}"} for i, row_id in enumerate(HOSTILE_IDS)]
    world = World({"in.mem": rows})

    job = world.submit("in.mem")

    requests = world.provider.submissions[job.batch_id].requests
    custom_ids = [req.custom_id for req in requests]
    assert len(set(custom_ids)) == len(rows)
    assert all(CUSTOM_ID.fullmatch(custom_id) for custom_id in custom_ids)
    assert [req.prompt for req in requests] == [f"p{i}" for i in range(len(rows))]


def test_id_map_brings_each_custom_id_back_to_its_json_id() -> None:
    rows = [{"id": row_id, "prompt": f"p{i}"} for i, row_id in enumerate(HOSTILE_IDS)]
    world = World({"in.mem": rows})

    job = world.submit("in.mem")

    requests = world.provider.submissions[job.batch_id].requests
    by_prompt = {req.prompt: job.id_map[req.custom_id] for req in requests}
    assert by_prompt == {f"p{i}": row_id for i, row_id in enumerate(HOSTILE_IDS)}
    assert job.id_map[requests[4].custom_id] == 7  # an int id stays an int


def test_id_map_maps_csv_rows_to_their_index_as_a_string() -> None:
    rows = [{"text": "a"}, {"text": "b"}, {"text": "c"}]
    world = World({"in.mem": rows})

    job = world.submit("in.mem", prompt_column="text")

    requests = world.provider.submissions[job.batch_id].requests
    assert [job.id_map[req.custom_id] for req in requests] == ["0", "1", "2"]
    assert [req.prompt for req in requests] == ["a", "b", "c"]


def test_the_state_is_saved_with_the_seeds_fields() -> None:
    world = World({"data/in.mem": [{"text": "a"}, {"text": "b"}]})

    job = world.submit("data/in.mem", prompt_column="text", with_meta=True)

    saved = world.store.saved[("anthropic", job.name)]
    # The seed's fields, with batch_id naming the provider's batch, plus Loom's job and parts.
    assert set(saved) == SEED_FIELDS | {"job_id", "parts"}
    assert {k: v for k, v in saved.items() if k in SEED_FIELDS} == {
        "batch_id": "batch_1", "provider": "anthropic", "model": "claude",
        "original_file_path": "data/in.mem", "file_type": "mem", "prompt_column": "text",
        "id_map": job.id_map, "created_at": NOW, "status": "validating",
        "output_path": None, "with_meta": True,
    }
    assert saved["job_id"].startswith("loom-20260501T120000-")
    assert saved["parts"] == [{"index": 0, "start": 0, "end": 2, "batch_id": "batch_1",
                               "status": "validating"}]
    assert job.status is BatchStatus.VALIDATING


def test_a_chosen_output_path_is_remembered() -> None:
    world = World({"in.mem": [{"id": 1, "prompt": "p"}]})
    job = world.submit("in.mem", output="out/answers.mem")
    assert world.store.saved[("anthropic", job.name)]["output_path"] == "out/answers.mem"


def test_settings_go_to_the_provider_and_into_the_state() -> None:
    settings = GenerationSettings(max_tokens=50, system="Terse")
    world = World({"in.mem": [{"id": 1, "prompt": "p"}]})

    job = world.submit("in.mem", settings=settings)

    submission = world.provider.submissions[job.batch_id]
    assert submission.settings == settings and submission.model == "claude"
    assert world.store.saved[("anthropic", job.name)]["params"] == {"max_tokens": 50,
                                                                     "system": "Terse"}
    assert world.store.load("anthropic", job.name) == job


def test_metadata_names_the_job_and_the_part() -> None:
    world = World({"in.mem": [{"id": 1, "prompt": "p"}]})
    job = world.submit("in.mem")
    assert world.provider.submissions[job.batch_id].metadata == {
        "loom_job": job.job_id, "loom_part": "0"}


def test_an_empty_dataset_is_refused_before_the_provider_is_called() -> None:
    world = World({"in.mem": []})
    with pytest.raises(InputError, match="empty"):
        world.submit("in.mem")
    assert world.provider.submissions == {}
    assert world.store.saved == {}


def test_an_unsupported_file_is_refused_before_the_provider_is_called() -> None:
    world = World({"in.txt": [{"id": 1, "prompt": "p"}]})
    with pytest.raises(InputError, match="Unsupported file type"):
        world.submit("in.txt")
    assert world.provider.submissions == {}
