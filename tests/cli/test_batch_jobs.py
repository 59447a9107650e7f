"""Batch jobs end to end with the ``tiny`` test provider (3 requests per batch): jobs in
parts, crashes at each step, locks, cancelling, and the cache in batch mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loom_adapters.state.file_store import FileStateStore

ROWS = [{"id": f"r{i}", "prompt": f"question {i}"} for i in range(7)]
OUTPUT = "p_results_tiny_m.json"


@pytest.fixture
def tiny(home, tmp_path, monkeypatch):
    Path("p.json").write_text(json.dumps(ROWS))
    log = tmp_path / "tiny.log"
    monkeypatch.setenv("TINY_LOG", str(log))
    return log


def events(log: Path, kind: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith(kind)] \
        if log.exists() else []


def answers() -> list[str]:
    return [row["llm_response"] for row in json.loads(Path(OUTPUT).read_text())]


def only_job(home: Path) -> dict:
    (path,) = (home / "batches").glob("*.json")
    return json.loads(path.read_text())


def run_process(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("loom")
    return subprocess.run([str(script), *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(tmp_path / "site"), **env),
                          stdin=subprocess.DEVNULL, timeout=60)


def test_a_dataset_over_the_limit_is_one_job_in_parts(tiny, loom, home):
    result = loom("run", "-f", "p.json", "-p", "tiny", "-m", "m")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Batch submitted. id=loom-") and lines[0].endswith("parts=3")
    assert [line.split()[1] for line in lines[1:4]] == ["1/3:", "2/3:", "3/3:"]
    assert "(3 rows)" in lines[1] and "(1 rows)" in lines[3]
    assert len(events(tiny, "submit")) == 3
    listing = loom("list").out
    assert "part 1/3" in listing and "part 3/3" in listing
    fetched = loom("fetch")
    assert fetched.code == 0, fetched.err
    assert fetched.out.startswith("Fabric complete. id=loom-")
    assert answers() == [f"tiny: question {i}" for i in range(7)]
    assert not list((home / "batches").glob("*.json"))  # merged: the state is gone


def test_a_crash_after_the_provider_accepted_a_part_orphans_nothing(tiny, home, tmp_path, loom):
    crashed = run_process(tmp_path, "run", "-f", "p.json", "-p", "tiny", "-m", "m",
                          TINY_CRASH="after-accept:1")
    assert crashed.returncode == 9
    job = only_job(home)
    # Part 2 reached the provider, but Loom never heard its id; part 3 was never sent.
    assert [p["batch_id"] is None for p in job["parts"]] == [False, True, True]
    assert len(events(tiny, "submit")) == 2
    result = loom("fetch")
    assert result.code == 0, result.err
    # Part 2 was found by its metadata, not sent again; only part 3 went out now.
    assert len(events(tiny, "submit")) == 3
    assert answers() == [f"tiny: question {i}" for i in range(7)]


def test_a_crash_while_merging_needs_no_second_download(home, tmp_path, loom, monkeypatch):
    log = tmp_path / "tiny.log"
    monkeypatch.setenv("TINY_LOG", str(log))
    Path("d.crashcsv").write_text("q\na\nb\nc\n")
    assert loom("run", "-f", "d.crashcsv", "-c", "q", "-p", "tiny", "-m", "m").code == 0
    crashed = run_process(tmp_path, "fetch", CRASH_WRITE="1", TINY_LOG=str(log))
    assert crashed.returncode == 9
    assert not Path("d_results_tiny_m.csv").exists()
    assert len(events(log, "results")) == 1
    assert (home / "batches").glob("*.results.jsonl")
    assert only_job(home)["status"] != "completed"  # the state stays until the output is there
    result = loom("fetch")
    assert result.code == 0, result.err
    assert len(events(log, "results")) == 1  # merged from the results kept on disk
    assert Path("d_results_tiny_m.csv").read_text().splitlines()[1:] == [
        "a,tiny: a", "b,tiny: b", "c,tiny: c"]
    assert not list((home / "batches").glob("*.json*"))


def test_a_job_another_process_is_fetching_is_skipped(tiny, home, loom):
    assert loom("run", "-f", "p.json", "-p", "tiny", "-m", "m").code == 0
    (job,) = FileStateStore(home / "batches").all()
    with FileStateStore(home / "batches").lock(job):
        result = loom("fetch")
    assert result.code == 1 and "being worked on by another loom process" in result.err
    assert not Path(OUTPUT).exists() and events(tiny, "results") == []
    assert loom("fetch").code == 0 and Path(OUTPUT).exists()


def test_cancel_records_it_and_fetch_keeps_what_was_finished(tiny, home, loom, monkeypatch):
    monkeypatch.setenv("TINY_STATUS", "in_progress")
    assert loom("run", "-f", "p.json", "-p", "tiny", "-m", "m").code == 0
    job_id = only_job(home)["job_id"]
    result = loom("cancel", "--id", job_id)
    assert result.code == 0, result.err
    # tiny stops a batch at once; the job is still to be merged, so a plain fetch takes it.
    assert result.out.startswith(f"Cancel requested. id={job_id} provider=tiny "
                                 f"status=cancelling")
    assert only_job(home)["status"] == "cancelling"
    assert {part["status"] for part in only_job(home)["parts"]} == {"cancelled"}
    fetched = loom("fetch")
    assert fetched.code == 1
    assert "cancelled — Batch was cancelled" in fetched.out and "Kept the 3 answers" in fetched.out
    assert "4 of 7 rows have no answer" in fetched.err
    assert answers() == ["tiny: question 0", None, None, "tiny: question 3", None, None,
                         "tiny: question 6"]
    # The answers kept went into the cache: running the job again sends only the rest.
    monkeypatch.setenv("TINY_STATUS", "completed")
    again = loom("run", "-f", "p.json", "-p", "tiny", "-m", "m")
    assert "3 of 7 rows were answered from the cache and not sent" in again.out
    assert loom("fetch", "--force").code == 0
    assert answers() == [f"tiny: question {i}" for i in range(7)]
    everything = loom("run", "-f", "p.json", "-p", "tiny", "-m", "m", "--force")
    assert everything.out.startswith("All 7 rows were answered from the cache; nothing was sent")


def test_cancel_needs_an_id_or_all(loom):
    result = loom("cancel")
    assert result.code == 2 and "--id" in result.err
    assert loom("cancel", "--all").out.strip() == "No running batches to cancel."
