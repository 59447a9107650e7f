"""FileStateStore: the released tool's batches/<provider>_<safe_id>.json files, both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loom_core.errors import StateError
from loom_core.model import BatchJob, BatchStatus, GenerationSettings
from loom_adapters.paths import LoomPaths
from loom_adapters.state import FileStateStore


def _job(batch_id: str = "batch_abc123", provider: str = "openai", created_at: str = "2026-05-01T12:00:00+00:00", **kw) -> BatchJob:
    return BatchJob(
        batch_id=batch_id,
        provider=provider,
        model="gpt-4o-mini",
        original_file_path="/data/prompts.json",
        file_type="json",
        prompt_column=None,
        id_map={"row-0": "task-001", "row-1": 2},
        created_at=created_at,
        **kw,
    )


@pytest.fixture
def store(tmp_path: Path) -> FileStateStore:
    return FileStateStore(tmp_path / "batches")


def test_released_tool_file_loads(store: FileStateStore) -> None:
    # Written by hand the way loom-batch 0.x writes it (docs/compatibility.md), plus a field
    # from the future.
    store.directory.mkdir()
    released = {
        "batch_id": "batches/abc",
        "provider": "google",
        "model": "gemini-2.0-flash",
        "original_file_path": "/home/u/data.csv.gz",
        "file_type": "csv",
        "prompt_column": "text",
        "id_map": {"5b6f0a52-8f5e-4d39-9a4e-6a2a3f1c9e10": "0", "c0ffee00-0000-4000-8000-000000000001": "1"},
        "created_at": "2025-11-02T08:15:30.123456",
        "status": "in_progress",
        "output_path": None,
        "with_meta": True,
        "added_by_a_newer_version": {"anything": [1, 2]},
    }
    (store.directory / "google_batches_abc.json").write_text(json.dumps(released, indent=2))
    job = store.load("google", "batches/abc")
    assert job == BatchJob(
        batch_id="batches/abc",
        provider="google",
        model="gemini-2.0-flash",
        original_file_path="/home/u/data.csv.gz",
        file_type="csv",
        prompt_column="text",
        id_map={"5b6f0a52-8f5e-4d39-9a4e-6a2a3f1c9e10": "0", "c0ffee00-0000-4000-8000-000000000001": "1"},
        created_at="2025-11-02T08:15:30.123456",
        status=BatchStatus.IN_PROGRESS,
        output_path=None,
        with_meta=True,
    )
    assert list(store.all()) == [job]


def test_oldest_released_file_without_optional_fields(store: FileStateStore) -> None:
    store.directory.mkdir()
    (store.directory / "openai_batch_1.json").write_text(json.dumps({
        "batch_id": "batch_1", "provider": "openai", "model": "gpt-4o-mini",
        "original_file_path": "p.json", "file_type": "json", "id_map": {"task-1": "task-1"},
        "created_at": "2025-01-01T00:00:00", "status": "validating",
    }))
    job = store.load("openai", "batch_1")
    assert job is not None and job.prompt_column is None and job.with_meta is False and job.output_path is None


def test_save_writes_the_released_format(store: FileStateStore) -> None:
    job = _job(batch_id="batches/xyz", provider="google", status=BatchStatus.IN_PROGRESS)
    store.save(job)  # creates the directory on demand
    path = store.directory / "google_batches_xyz.json"
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "batch_id": "batches/xyz",\n  "provider": "google",')
    assert json.loads(text) == {
        "batch_id": "batches/xyz",
        "provider": "google",
        "model": "gpt-4o-mini",
        "original_file_path": "/data/prompts.json",
        "file_type": "json",
        "prompt_column": None,
        "id_map": {"row-0": "task-001", "row-1": 2},
        "created_at": "2026-05-01T12:00:00+00:00",
        "status": "in_progress",
        "output_path": None,
        "with_meta": False,
    }
    assert [p.name for p in store.directory.iterdir()] == ["google_batches_xyz.json"]


def test_round_trip_with_settings(store: FileStateStore) -> None:
    job = _job(settings=GenerationSettings(temperature=0.2, stop=["END"]), output_path="/o.json", with_meta=True)
    store.save(job)
    assert store.load("openai", "batch_abc123") == job


def test_save_overwrites_with_new_status(store: FileStateStore) -> None:
    job = _job()
    store.save(job)
    job.status = BatchStatus.COMPLETED
    store.save(job)
    assert store.load("openai", "batch_abc123").status is BatchStatus.COMPLETED
    assert len(list(store.directory.iterdir())) == 1


def test_load_missing_is_none(store: FileStateStore) -> None:
    assert store.load("openai", "nope") is None
    assert list(store.all()) == []  # no directory yet: nothing, no error


def test_load_corrupt_is_state_error_naming_file(store: FileStateStore) -> None:
    store.directory.mkdir()
    (store.directory / "openai_bad.json").write_text("{not json")
    with pytest.raises(StateError, match="openai_bad.json"):
        store.load("openai", "bad")


def test_all_sorts_by_created_at_and_reports_bad_files(store: FileStateStore) -> None:
    store.save(_job("b-late", created_at="2026-05-02T00:00:00+00:00"))
    store.save(_job("b-early", created_at="2026-04-30T23:00:00Z"))
    store.save(_job("b-mid-naive", created_at="2026-05-01T10:00:00"))
    store.save(_job("b-tie-z", created_at="2026-05-01T10:00:00+00:00", provider="anthropic"))
    (store.directory / "openai_broken.json").write_text('{"batch_id": "x"}')
    (store.directory / "openai_garbage.json").write_bytes(b"\xff\xfe")
    (store.directory / ".openai_tmp.json.1234.tmp").write_text("partial")  # a write in flight
    (store.directory / "README.txt").write_text("not state")
    items = list(store.all())
    jobs = [item for item in items if isinstance(item, BatchJob)]
    errors = [item for item in items if isinstance(item, StateError)]
    # Equal instants tie-break on the text, then on the file name.
    assert [j.batch_id for j in jobs] == ["b-early", "b-mid-naive", "b-tie-z", "b-late"]
    assert items[: len(jobs)] == jobs  # errors come after every readable job
    assert sorted(str(e).split(":")[0] for e in errors) == [
        f"Cannot read batch state {store.directory / 'openai_broken.json'}",
        f"Cannot read batch state {store.directory / 'openai_garbage.json'}",
    ]
    assert "missing" in str(next(e for e in errors if "broken" in str(e)))


def test_delete(store: FileStateStore) -> None:
    job = _job()
    store.save(job)
    store.delete(job)
    assert list(store.directory.iterdir()) == []
    store.delete(job)  # already gone: fine


@pytest.mark.parametrize("batch_id", ["../../etc/x", "a\\b", "..", ".", "/abs/path", "a/../../b", "x\0y", ""])
def test_no_batch_id_escapes_the_directory(store: FileStateStore, tmp_path: Path, batch_id: str) -> None:
    job = _job(batch_id=batch_id)
    store.save(job)
    (written,) = store.directory.iterdir()
    assert written.parent == store.directory
    assert [p.name for p in tmp_path.iterdir()] == ["batches"]
    assert store.load("openai", batch_id) == job
    store.delete(job)
    assert list(store.directory.iterdir()) == []


def test_provider_name_cannot_escape_either(store: FileStateStore, tmp_path: Path) -> None:
    store.save(_job(provider="../x"))
    assert [p.name for p in tmp_path.iterdir()] == ["batches"]


def test_hand_renamed_file_is_moved_to_its_proper_name_on_save(store: FileStateStore) -> None:
    # The seed's troubleshooting has users edit batch_id by hand; if they forget to rename,
    # a save after fetch must not leave two files for one batch.
    store.directory.mkdir()
    data = {
        "batch_id": "batches/abc", "provider": "google", "model": "m", "original_file_path": "p.json",
        "file_type": "json", "prompt_column": None, "id_map": {}, "created_at": "2026-01-01T00:00:00",
        "status": "in_progress", "output_path": None, "with_meta": False,
    }
    (store.directory / "google_abc.json").write_text(json.dumps(data, indent=2))
    (job,) = store.all()
    job.status = BatchStatus.UNKNOWN
    store.save(job)
    assert [p.name for p in store.directory.iterdir()] == ["google_batches_abc.json"]
    (job,) = store.all()
    store.delete(job)
    assert list(store.directory.iterdir()) == []


def test_default_location_is_loom_home(isolated_home: Path) -> None:
    store = FileStateStore(LoomPaths.from_env().batches)
    store.save(_job())
    assert (isolated_home / ".loom" / "batches" / "openai_batch_abc123.json").is_file()

