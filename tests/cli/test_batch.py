"""Batch mode end to end with the echo provider: run, list, fetch and the state it leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import cached_entries

SEED_STATE_FIELDS = {"batch_id", "provider", "model", "original_file_path", "file_type",
                     "prompt_column", "id_map", "created_at", "status", "output_path",
                     "with_meta"}


def state_path(home: Path, batch_id: str) -> Path:
    """The state file of the job that holds ``batch_id`` (files are named by Loom's job id)."""
    for path in (home / "batches").glob("*.json"):
        data = json.loads(path.read_text())
        if data["batch_id"] == batch_id:
            return path
    raise AssertionError(f"no state file for {batch_id}")


def submit(loom, *extra: str) -> str:
    result = loom("run", "-f", "p.json", "-p", "echo", "-m", "upper", *extra)
    assert result.code == 0, result.err
    line = result.out.strip()
    assert line.startswith("Batch submitted. id=echo-") and line.endswith(" provider=echo")
    return line.split("id=")[1].split()[0]


def test_run_remembers_the_batch_with_the_seed_fields(loom, home):
    Path("p.json").write_text(json.dumps([{"id": "a b/ü", "prompt": "x"}, {"id": 2, "prompt": "y"}]))
    batch_id = submit(loom)
    state = json.loads(state_path(home, batch_id).read_text())
    assert SEED_STATE_FIELDS <= set(state)
    assert state["status"] == "validating" and state["file_type"] == "json"
    assert sorted(state["id_map"].values(), key=str) == [2, "a b/ü"]
    listing = loom("list").out
    assert batch_id in listing and "upper" in listing and "p.json" in listing


def test_fetch_merges_and_removes_the_state(loom, home):
    Path("p.json").write_text(json.dumps([{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"}]))
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"Fabric complete. id={batch_id} -> p_results_echo_upper.json")
    rows = json.loads(Path("p_results_echo_upper.json").read_text())
    assert [r["llm_response"] for r in rows] == ["X", "Y"]
    assert not list((home / "batches").glob("*.json"))
    assert loom("fetch").out.strip() == "No pending batches."


def test_keep_id_and_force(loom, home):
    Path("d.csv").write_text("id,q\n1,first\n2,second\n")
    result = loom("run", "-f", "d.csv", "-c", "q", "-p", "echo", "-m", "echo", "--with-meta")
    batch_id = result.out.split("id=")[1].split()[0]
    assert loom("fetch", "--id", batch_id, "--keep").code == 0
    state = json.loads(state_path(home, batch_id).read_text())
    assert state["status"] == "completed"
    assert Path("d_results_echo_echo.csv").read_text().splitlines() == [
        "id,q,llm_response,llm_provider,llm_model,llm_finish_reason,llm_input_tokens,"
        "llm_output_tokens", "1,first,first,echo,echo,,1,1", "2,second,second,echo,echo,,1,1"]
    # A kept, merged batch is not fetched again by --all, but --id looks again; the output
    # exists now, so without --force it is refused and the state stays.
    assert loom("fetch").out.strip() == "No pending batches."
    again = loom("fetch", "-i", batch_id)
    assert again.code == 1 and "already exists" in again.err
    assert state_path(home, batch_id).exists()
    assert loom("fetch", "-i", batch_id, "--force").code == 0
    assert not list((home / "batches").glob("*.json"))


def test_fetch_needs_id_or_all(loom):
    result = loom("fetch", "--no-all")
    assert result.code == 2 and "--id" in result.err


def test_fetch_of_an_unknown_id(loom):
    result = loom("fetch", "--id", "nope")
    assert result.code == 2 and "No batch with id nope" in result.err


def test_a_failing_batch_is_recorded_unknown_and_the_others_still_merge(loom, home):
    Path("p.json").write_text(json.dumps([{"id": "a", "prompt": "x"}]))
    broken = submit(loom)
    # The provider no longer knows this batch (its file is gone).
    (home / "echo" / f"{broken}.jsonl").unlink()
    healthy = submit(loom, "-o", "other.json")
    result = loom("fetch")
    assert result.code == 1
    assert f"Batch {broken} (echo): unknown — echo has no batch" in result.err
    assert f"Fabric complete. id={healthy} -> other.json" in result.out
    state = json.loads(state_path(home, broken).read_text())
    assert state["status"] == "unknown"
    assert "unknown" in loom("list").out


def test_an_unreadable_state_file_is_reported_not_fatal(loom, home):
    (home / "batches").mkdir(parents=True)
    (home / "batches" / "openai_bad.json").write_text("{not json")
    Path("p.json").write_text(json.dumps([{"id": "a", "prompt": "x"}]))
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 1
    assert "openai_bad.json" in result.err
    assert f"Fabric complete. id={batch_id}" in result.out


def test_batch_mode_of_a_provider_without_it(loom, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "k")
    Path("p.json").write_text(json.dumps([{"id": "a", "prompt": "x"}]))
    result = loom("run", "-f", "p.json", "-p", "keyed", "-m", "m")
    assert result.code == 2
    assert result.err.strip() == "Error: keyed has no batch API. Re-run with --sync."


def test_tokens_total_and_unsupported_provider(loom, monkeypatch):
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "one two three"},
                                          {"id": 2, "prompt": "four five"},
                                          {"id": 3, "prompt": "one two three"}]))
    result = loom("tokens", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert result.code == 0
    assert result.out.strip() == (
        "Total input tokens: 8 across 3 prompts (provider=echo, model=echo, errors=0)")
    monkeypatch.setenv("KEYED_API_KEY", "k")
    result = loom("tokens", "-f", "p.json", "-p", "keyed", "-m", "m")
    assert result.code == 2
    assert result.err.strip() == "Token counting not available: keyed has no remote API"


def test_cache_clear(loom, home, monkeypatch):
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"}]))
    loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    refused = loom("cache", "clear")
    assert refused.code == 2 and "--yes" in refused.err
    assert len(cached_entries(home / "cache")) == 2
    result = loom("cache", "clear", "--yes")
    assert result.code == 0 and "Deleted 2 cached responses" in result.out
    assert cached_entries(home / "cache") == []
    again = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--force")
    assert "cache hits=0, provider calls=2" in again.out


def test_cache_stats_by_provider_and_model(loom, home):
    empty = loom("cache", "stats")
    assert empty.code == 0 and empty.out.startswith(f"0 cached responses in {home / 'cache'}")
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": f"p{i}"} for i in range(3)]))
    loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "upper")
    Path("q.json").write_text(json.dumps([{"id": 1, "prompt": "another"}]))
    loom("run", "--sync", "-f", "q.json", "-p", "echo", "-m", "upper")
    result = loom("cache", "stats")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"7 cached responses in {home / 'cache'}, ")
    assert lines[0].endswith(" on disk.") and "KB" in lines[0]
    assert [line.split() for line in lines[1:]] == [["echo", "upper", "4"], ["echo", "echo", "3"]]


def test_cache_prune_deletes_only_older_entries(loom, home):
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"}]))
    loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    kept = loom("cache", "prune", "--older-than", "1")
    assert kept.code == 0 and kept.out.startswith("Deleted 0 cached responses older than 1 days")
    assert len(cached_entries(home / "cache")) == 2
    pruned = loom("cache", "prune", "--older-than", "0")
    assert pruned.code == 0 and "Deleted 2 cached responses" in pruned.out
    assert cached_entries(home / "cache") == []


@pytest.mark.parametrize("value, message", [
    ("soon", "expected a number of days, got 'soon'"),
    ("-3", "must be a number of days, 0 or more, got -3"),
    ("nan", "must be a number of days, 0 or more, got nan"),
])
def test_cache_prune_refuses_a_bad_number_of_days(loom_process, value, message):
    result = loom_process("cache", "prune", "--older-than", value)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


def test_cache_prune_needs_older_than(loom_process):
    result = loom_process("cache", "prune")
    assert result.code == 2 and "--older-than" in result.err
