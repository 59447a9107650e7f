"""``loom`` end to end with the openai provider against the emulator: sync runs and the cache,
token counts, and batch runs through every status of the seed's table."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from loom_core.model import BatchStatus
from tests.emulator.replies import FAIL_MARKER, count_words, reply_text
from tests.support import (
    fetch_summary,
    closed_port,
    nasty_items,
    read_csv,
    read_json,
    state_of,
    state_path,
    write_json,
)

MODEL = "gpt-emu"
OUT_JSON = f"p_results_openai_{MODEL}.json"
NASTY_IDS = ["with space", "ünïcödé ✓", "a/b/c", "y" * 100]


@pytest.fixture
def env(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-cli")
    return emulator






def assert_each_row_has_its_own_answer(rows: list[dict], column: str = "prompt") -> None:
    for row in rows:
        assert row["llm_response"] == reply_text(MODEL, row[column]), row


def closed_port_url() -> str:
    port = closed_port()
    return f"http://127.0.0.1:{port}/openai/v1"


def state_files(home: Path) -> list[Path]:
    return sorted((home / "batches").glob("openai_*.json"))


def summary(rows: int, answered: list[str], cached: int = 0) -> str:
    return fetch_summary(MODEL, rows, answered, cached)


# ---- sync ------------------------------------------------------------------------------


def test_sync_json_merges_nasty_ids_then_serves_the_cache(env, loom):
    write_json("p.json", nasty_items(NASTY_IDS))
    first = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL)
    assert first.code == 0, first.err
    assert f"-> {OUT_JSON}" in first.out and "provider calls=5" in first.out
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == NASTY_IDS + [7]
    assert_each_row_has_its_own_answer(rows)
    assert env.calls("openai", "chat") == 5
    assert {r["api_key"] for r in env.requests("openai", "chat")} == {"sk-openai-cli"}

    again = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL, "--force")
    assert again.code == 0, again.err
    assert "cache hits=5" in again.out and "provider calls=0" in again.out
    assert env.calls("openai", "chat") == 5, "a second run is served wholly from the cache"
    assert read_json(OUT_JSON) == rows

    fresh = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL,
                 "--force", "--no-cache")
    assert fresh.code == 0 and "provider calls=5" in fresh.out
    assert env.calls("openai", "chat") == 10


def test_sync_csv_and_gzip_inputs(env, loom):
    Path("d.csv").write_text('id,text,note\n1,"first, with comma",a\n2,second line,b\n',
                             encoding="utf-8")
    result = loom("run", "--sync", "-f", "d.csv", "-c", "text", "-p", "openai", "-m", MODEL)
    assert result.code == 0, result.err
    rows = read_csv(f"d_results_openai_{MODEL}.csv")
    assert [r["note"] for r in rows] == ["a", "b"]
    assert_each_row_has_its_own_answer(rows, "text")

    with gzip.open("z.json.gz", "wt", encoding="utf-8") as out:
        json.dump(nasty_items(NASTY_IDS), out, ensure_ascii=False)
    result = loom("run", "--sync", "-f", "z.json.gz", "-p", "openai", "-m", MODEL)
    assert result.code == 0, result.err
    assert_each_row_has_its_own_answer(read_json(f"z_results_openai_{MODEL}.json"))

    with gzip.open("c.csv.gz", "wt", encoding="utf-8", newline="") as out:
        out.write("q\nalpha beta\ngamma\n")
    result = loom("run", "--sync", "-f", "c.csv.gz", "-c", "q", "-p", "openai", "-m", MODEL,
                  "-q")
    assert result.code == 0, result.err
    assert_each_row_has_its_own_answer(read_csv(f"c_results_openai_{MODEL}.csv"), "q")


def test_sync_row_errors_land_in_llm_error(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "fine"}, {"id": "b", "prompt": "fails"}])
    env.add_fault(provider="openai", endpoint="chat", status=400, message="Bad 'seed'.",
                  times=1)
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL,
                  "-w", "1")
    assert result.code == 1
    rows = {r["id"]: r for r in read_json(OUT_JSON)}
    assert sum(1 for r in rows.values() if r.get("llm_error")) == 1
    failed = next(r for r in rows.values() if r.get("llm_error"))
    assert failed["llm_response"] is None and "Bad 'seed'." in failed["llm_error"]


def test_sync_retries_a_rate_limit_and_a_dropped_connection(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "one"}])
    env.add_fault(provider="openai", endpoint="chat", status=429, retry_after=0, times=1)
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL)
    assert result.code == 0, result.err
    assert env.calls("openai", "chat") == 2
    env.add_fault(provider="openai", endpoint="chat", drop=True, times=1)
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL,
                  "--no-cache", "--force")
    assert result.code == 0, result.err
    assert_each_row_has_its_own_answer(read_json(OUT_JSON))


def test_sync_bad_key_fails_the_run_without_leaking_it(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "one"}, {"id": "b", "prompt": "two"}])
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL,
                  "--api-key", "bad-key")
    assert result.code != 0
    text = result.out + result.err + Path(OUT_JSON).read_text()
    assert "bad-key" not in text
    assert all("401" in r["llm_error"] for r in read_json(OUT_JSON))


# ---- tokens ----------------------------------------------------------------------------


def test_tokens_total_is_the_sum_of_the_counts(env, loom):
    items = nasty_items(NASTY_IDS) + [{"id": "dup", "prompt": "prompt for with space"}]
    write_json("p.json", items)
    result = loom("tokens", "-f", "p.json", "-p", "openai", "-m", MODEL)
    assert result.code == 0, result.err
    total = sum(count_words(item["prompt"]) for item in items)
    assert result.out.strip() == (f"Total input tokens: {total:,} across {len(items)} prompts "
                                  f"(provider=openai, model={MODEL}, errors=0)")
    assert env.calls("openai", "count_tokens") == len(items) - 1  # duplicates counted once


# ---- batch -----------------------------------------------------------------------------


def submit(loom, name: str = "p.json", *extra: str) -> str:
    result = loom("run", "-f", name, "-p", "openai", "-m", MODEL, *extra)
    assert result.code == 0, result.err
    line = result.out.strip()
    assert line.startswith("Batch submitted. id=batch_") and line.endswith(" provider=openai")
    return line.split("id=")[1].split()[0]


def test_batch_run_fetch_merges_nasty_ids(env, loom, home):
    write_json("p.json", nasty_items(NASTY_IDS))
    batch_id = submit(loom)
    state = state_of(home, batch_id)
    assert state["status"] == "validating" and state["provider"] == "openai"
    assert state["batch_id"] == batch_id
    assert state["job_id"].startswith("loom-")
    assert state_path(home, batch_id).name == f"openai_{state['job_id']}.json"
    assert state["parts"] == [{"index": 0, "start": 0, "end": len(NASTY_IDS) + 1,
                               "batch_id": batch_id, "status": "validating"}]
    listing = loom("list")
    assert listing.code == 0 and batch_id in listing.out and MODEL in listing.out

    pending = loom("fetch")
    assert pending.code == 0, pending.err
    assert pending.out.strip() == (f"Batch {batch_id} (openai, {MODEL}): validating — "
                                   f"{BatchStatus.VALIDATING.explanation}")
    done = loom("fetch")
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        f"Fabric complete. id={batch_id} -> {OUT_JSON}",
        summary(len(NASTY_IDS) + 1, [item["prompt"] for item in nasty_items(NASTY_IDS)])]
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == NASTY_IDS + [7]
    assert_each_row_has_its_own_answer(rows)
    assert state_files(home) == []
    assert loom("fetch").out.strip() == "No pending batches."


def test_batch_csv_gzip_input(env, loom):
    with gzip.open("c.csv.gz", "wt", encoding="utf-8", newline="") as out:
        out.write("id,q\n1,alpha beta\n2,gamma\n3,delta\n")
    env.plan_batches("openai", ["completed"])
    submit(loom, "c.csv.gz", "-c", "q")
    result = loom("fetch")
    assert result.code == 0, result.err
    rows = read_csv(f"c_results_openai_{MODEL}.csv")
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert_each_row_has_its_own_answer(rows, "q")


@pytest.mark.parametrize("state, shown", [
    ("in_progress", BatchStatus.IN_PROGRESS), ("finalizing", BatchStatus.IN_PROGRESS),
    # Cancelled on the dashboard, say: still stopping.
    ("cancelling", BatchStatus.CANCELLING)])
def test_fetch_reports_a_running_batch(env, loom, home, state, shown):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    env.plan_batches("openai", [state])
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 0, result.err
    assert result.out.strip() == (f"Batch {batch_id} (openai, {MODEL}): {shown.value} — "
                                  f"{shown.explanation}")
    saved = state_of(home, batch_id)
    assert saved["status"] == shown.value
    assert [part["status"] for part in saved["parts"]] == [shown.value]


def test_fetch_reports_a_failed_batch_and_merges_nothing(env, loom, home):
    write_json("p.json", [{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"}])
    env.plan_batches("openai", ["failed"], partial=1)
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 1
    assert result.out.strip() == (f"Batch {batch_id} (openai, {MODEL}): failed — "
                                  f"{BatchStatus.FAILED.explanation}")
    state = state_of(home, batch_id)
    assert state["status"] == "failed"
    assert [part["status"] for part in state["parts"]] == ["failed"]
    assert not Path(OUT_JSON).exists()
    # A terminal batch is reported once; --all passes it by afterwards.
    assert loom("fetch").out.strip() == "No pending batches."


@pytest.mark.parametrize("state", ["expired", "cancelled"])
def test_an_expired_or_cancelled_batch_keeps_the_answers_it_has(env, loom, home, state):
    write_json("p.json", [{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"}])
    env.plan_batches("openai", [state], partial=1)
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 1
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == [1, 2]
    (answered,) = [r for r in rows if r["llm_error"] is None]
    assert answered["llm_response"] == reply_text(MODEL, answered["prompt"])
    (lost,) = [r for r in rows if r["llm_error"] is not None]
    assert lost["llm_response"] is None and state in lost["llm_error"]
    status = BatchStatus(state)
    assert result.out.splitlines() == [
        f"Batch {batch_id} (openai): {state} — {status.explanation} "
        f"Kept the 1 answers it has -> {OUT_JSON}",
        summary(2, [answered["prompt"]])]
    assert result.err.strip() == ("1 of 2 rows have no answer; see the llm_error column. "
                                  "Run the same loom run again to send only those rows.")
    assert state_files(home) == []
    assert loom("fetch").out.strip() == "No pending batches."

    # The answers it had went into the cache: the same run again sends only the other row.
    env.plan_batches("openai", ["completed"])
    again = loom("run", "-f", "p.json", "-p", "openai", "-m", MODEL)
    assert again.code == 0, again.err
    retry = again.out.split("id=")[1].split()[0]
    assert again.out.splitlines()[1] == "  1 of 2 rows were answered from the cache and not sent."
    assert env.batches("openai")[-1]["requests"] == 1
    filled = loom("fetch", "--force")
    assert filled.code == 0, filled.err
    assert filled.out.splitlines() == [f"Fabric complete. id={retry} -> {OUT_JSON}",
                                       summary(2, [lost["prompt"]], cached=1)]
    assert_each_row_has_its_own_answer(read_json(OUT_JSON))


def test_per_request_errors_land_in_llm_error(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "fine"},
                          {"id": "b", "prompt": f"broken {FAIL_MARKER}"},
                          {"id": "c", "prompt": "also fine"}])
    env.plan_batches("openai", ["completed"])
    submit(loom)
    result = loom("fetch")
    assert result.code == 1
    assert "1 of 3 rows have no answer; see the llm_error column." in result.err
    rows = {r["id"]: r for r in read_json(OUT_JSON)}
    assert rows["a"]["llm_response"] == reply_text(MODEL, "fine") and rows["a"]["llm_error"] is None
    assert rows["b"]["llm_response"] is None and "400" in rows["b"]["llm_error"]
    assert rows["c"]["llm_response"] == reply_text(MODEL, "also fine")


def test_unknown_when_the_key_is_bad(env, loom, home):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    batch_id = submit(loom)
    result = loom("fetch", "--api-key", "bad-key")
    assert result.code == 1
    assert f"Batch {batch_id} (openai): unknown" in result.err and "401" in result.err
    assert "bad-key" not in result.err + result.out
    assert state_of(home, batch_id)["status"] == "unknown"
    # unknown is not terminal: the next fetch with a good key goes on.
    assert loom("fetch").code == 0
    assert loom("fetch").out.startswith("Fabric complete.")


def test_unknown_id_and_unreachable_host_do_not_stop_the_others(env, loom, home, monkeypatch):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    submitted = submit(loom, "p.json", "-o", "lost.json")
    # A batch the provider does not know: its remembered id is one OpenAI never gave out.
    lost = "batch_gone"
    path = state_path(home, submitted)
    state = state_of(home, submitted)
    state["batch_id"] = state["parts"][0]["batch_id"] = lost
    path.write_text(json.dumps(state))
    kept = submit(loom, "p.json", "-o", "kept.json")
    first = loom("fetch")
    assert first.code == 1
    assert f"Batch {lost} (openai): unknown" in first.err and "404" in first.err
    assert f"Batch {kept} (openai, {MODEL}): validating" in first.out
    second = loom("fetch")
    assert second.code == 1
    assert f"Fabric complete. id={kept} -> kept.json" in second.out
    assert state_of(home, lost)["status"] == "unknown"
    assert [part["status"] for part in state_of(home, lost)["parts"]] == ["unknown"]
    assert_each_row_has_its_own_answer(read_json("kept.json"))

    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url())
    unreachable = loom("fetch")
    assert unreachable.code == 1
    assert f"Batch {lost} (openai): unknown" in unreachable.err
    assert "could not reach" in unreachable.err


def test_fetch_id_keep_and_force(env, loom, home):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    env.plan_batches("openai", ["completed"])
    one = submit(loom)
    other = submit(loom, "p.json", "-o", "other.json")
    result = loom("fetch", "--id", one, "--keep")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"Fabric complete. id={one} -> {OUT_JSON}",
                                       summary(1, ["a"])]
    assert state_of(home, one)["status"] == "completed"
    assert [part["status"] for part in state_of(home, one)["parts"]] == ["completed"]
    assert state_of(home, other)["status"] == "validating", "--id fetched only that batch"

    again = loom("fetch", "-i", one)
    assert again.code == 1 and "already exists" in again.err
    forced = loom("fetch", "-i", one, "--force")
    assert forced.code == 0, forced.err
    other_job = state_of(home, other)["job_id"]
    assert [p.name for p in state_files(home)] == [f"openai_{other_job}.json"]
    assert loom("fetch", "--all").out.splitlines() == [
        f"Fabric complete. id={other} -> other.json", summary(1, ["a"])]
