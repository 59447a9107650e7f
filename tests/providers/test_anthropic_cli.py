"""``loom`` end to end with the anthropic provider against the emulator: sync runs and the
cache, token counts, and batch runs through every status Anthropic can report."""

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

MODEL = "claude-emu"
OUT_JSON = f"p_results_anthropic_{MODEL}.json"
NASTY_IDS = ["with space", "ünïcödé ✓", "a/b/c", "x" * 100]


@pytest.fixture
def env(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-cli")
    return emulator






def assert_each_row_has_its_own_answer(rows: list[dict]) -> None:
    for row in rows:
        assert row["llm_response"] == reply_text(MODEL, row["prompt"]), row


def closed_port_url() -> str:
    port = closed_port()
    return f"http://127.0.0.1:{port}/anthropic"


# ---- sync ------------------------------------------------------------------------------


def test_sync_json_merges_nasty_ids_then_serves_the_cache(env, loom):
    write_json("p.json", nasty_items(NASTY_IDS))
    first = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL)
    assert first.code == 0, first.err
    assert f"-> {OUT_JSON}" in first.out and "provider calls=5" in first.out
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == NASTY_IDS + [7]
    assert_each_row_has_its_own_answer(rows)
    calls = env.calls("anthropic", "messages")
    assert calls == 5

    again = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL,
                 "--force")
    assert again.code == 0 and "cache hits=5" in again.out and "provider calls=0" in again.out
    assert env.calls("anthropic", "messages") == calls
    assert read_json(OUT_JSON) == rows

    fresh = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL,
                 "--force", "--no-cache")
    assert fresh.code == 0 and "provider calls=5" in fresh.out
    assert env.calls("anthropic", "messages") == calls + 5


def test_sync_csv_and_gzip_inputs(env, loom):
    Path("d.csv").write_text('id,text,n\n1,"Explain, with commas",a\n2,"Line one\nline two",b\n',
                             encoding="utf-8")
    with gzip.open("g.json.gz", "wt", encoding="utf-8") as stream:
        json.dump([{"id": "z", "prompt": "zipped prompt"}], stream)
    assert loom("run", "--sync", "-f", "d.csv", "-c", "text", "-p", "anthropic", "-m", MODEL,
                "--with-meta").code == 0
    rows = read_csv(f"d_results_anthropic_{MODEL}.csv")
    assert [r["id"] for r in rows] == ["1", "2"] and [r["n"] for r in rows] == ["a", "b"]
    for row in rows:
        assert row["llm_response"] == reply_text(MODEL, row["text"])
        assert row["llm_provider"] == "anthropic" and row["llm_model"] == MODEL
        assert row["llm_input_tokens"] == str(count_words(row["text"]))
    assert loom("run", "--sync", "-f", "g.json.gz", "-p", "anthropic", "-m", MODEL,
                "-q").code == 0
    assert_each_row_has_its_own_answer(read_json(f"g_results_anthropic_{MODEL}.json"))


def test_sync_row_errors_land_in_llm_error_and_are_not_cached(env, loom):
    write_json("p.json", [{"id": 1, "prompt": "fine"}, {"id": 2, "prompt": "also fine"}])
    env.add_fault(provider="anthropic", endpoint="messages", status=400,
                  message="prompt is too long", times=1)
    result = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL,
                  "--workers", "1")
    assert result.code == 1 and "errors=1" in result.out
    rows = read_json(OUT_JSON)
    (failed,) = [r for r in rows if r.get("llm_error")]
    assert failed["llm_error"] == "anthropic: HTTP 400 invalid_request_error: prompt is too long"
    again = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL, "--force")
    assert again.code == 0 and "cache hits=1" in again.out and "provider calls=1" in again.out
    assert_each_row_has_its_own_answer(read_json(OUT_JSON))


def test_sync_rides_out_a_rate_limit(env, loom):
    write_json("p.json", [{"id": 1, "prompt": "one"}])
    env.add_fault(provider="anthropic", endpoint="messages", status=429, retry_after=0, times=1)
    result = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL)
    assert result.code == 0, result.err
    assert env.calls("anthropic", "messages") == 2
    assert_each_row_has_its_own_answer(read_json(OUT_JSON))


def test_sync_with_a_bad_key_fails_every_row_with_the_reason(env, loom):
    write_json("p.json", [{"id": 1, "prompt": "one"}, {"id": 2, "prompt": "two"}])
    result = loom("run", "--sync", "-f", "p.json", "-p", "anthropic", "-m", MODEL,
                  "--api-key", "bad-key")
    assert result.code == 1
    assert {r["llm_error"] for r in read_json(OUT_JSON)} == {
        "anthropic: HTTP 401 authentication_error: invalid x-api-key"}
    assert "bad-key" not in result.out + result.err


# ---- tokens ----------------------------------------------------------------------------


def test_tokens_total_is_the_sum_of_the_prompts(env, loom):
    prompts = ["one two three", "four five", "one two three", "six"]
    write_json("p.json", [{"id": i, "prompt": p} for i, p in enumerate(prompts)])
    result = loom("tokens", "-f", "p.json", "-p", "anthropic", "-m", MODEL)
    assert result.code == 0, result.err
    total = sum(count_words(p) for p in prompts)
    assert result.out.strip() == (f"Total input tokens: {total} across 4 prompts "
                                  f"(provider=anthropic, model={MODEL}, errors=0)")
    assert env.calls("anthropic", "count_tokens") == 3  # a repeated prompt is counted once


# ---- batch -----------------------------------------------------------------------------


def submit(loom, source: str = "p.json", *extra: str) -> str:
    result = loom("run", "-f", source, "-p", "anthropic", "-m", MODEL, *extra)
    assert result.code == 0, result.err
    line = result.out.strip()
    assert line.startswith("Batch submitted. id=msgbatch_") and line.endswith(" provider=anthropic")
    return line.split("id=")[1].split()[0]


def state_files(home: Path) -> list[Path]:
    return sorted((home / "batches").glob("anthropic_*.json"))


def summary(rows: int, answered: list[str], cached: int = 0) -> str:
    return fetch_summary(MODEL, rows, answered, cached)


def test_batch_run_list_fetch_merges_by_custom_id(env, loom, home):
    items = nasty_items(NASTY_IDS) + [{"id": "bad", "prompt": f"explode {FAIL_MARKER}"}]
    write_json("p.json", items)
    env.plan_batches("anthropic", ["running", "completed"])
    batch_id = submit(loom)
    sent = env.requests("anthropic", "batches_create")[-1]["json"]["requests"]
    assert [r["custom_id"] for r in sent] == [f"row-{i}" for i in range(len(items))]
    state = state_of(home, batch_id)
    assert state["status"] == "validating" and state["batch_id"] == batch_id
    assert state_path(home, batch_id).name == f"anthropic_{state['job_id']}.json"
    assert state["parts"] == [{"index": 0, "start": 0, "end": len(items),
                               "batch_id": batch_id, "status": "validating"}]
    listing = loom("list").out
    assert batch_id in listing and "anthropic" in listing and MODEL in listing

    pending = loom("fetch")
    assert pending.code == 0
    assert pending.out.strip() == (
        f"Batch {batch_id} (anthropic, {MODEL}): in_progress — Provider is actively running the "
        f"prompts; check back later.")
    state = state_of(home, batch_id)
    assert state["status"] == "in_progress"
    assert [part["status"] for part in state["parts"]] == ["in_progress"]

    done = loom("fetch")
    assert done.code == 1  # one row has no answer
    assert done.out.splitlines() == [
        f"Fabric complete. id={batch_id} -> {OUT_JSON}",
        summary(len(items), [item["prompt"] for item in items[:-1]])]
    assert "1 of 6 rows have no answer" in done.err
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == NASTY_IDS + [7, "bad"]
    assert_each_row_has_its_own_answer(rows[:-1])
    assert rows[-1]["llm_error"].startswith("anthropic: request errored: invalid_request_error")
    assert state_files(home) == []
    assert loom("fetch").out.strip() == "No pending batches."


def test_batch_csv_gz_with_keep_id_and_force(env, loom, home):
    with gzip.open("d.csv.gz", "wt", encoding="utf-8", newline="") as stream:
        stream.write("key,question\nα,first question\nβ,second question\n")
    env.plan_batches("anthropic", ["completed"])
    batch_id = submit(loom, "d.csv.gz", "-c", "question")
    output = f"d_results_anthropic_{MODEL}.csv"
    kept = loom("fetch", "--id", batch_id, "--keep")
    assert kept.code == 0, kept.err
    assert kept.out.splitlines() == [f"Fabric complete. id={batch_id} -> {output}",
                                     summary(2, ["first question", "second question"])]
    state = state_of(home, batch_id)
    assert state["status"] == "completed"
    assert [part["status"] for part in state["parts"]] == ["completed"]
    rows = read_csv(output)
    assert [r["key"] for r in rows] == ["α", "β"]
    for row in rows:
        assert row["llm_response"] == reply_text(MODEL, row["question"])
    refused = loom("fetch", "-i", batch_id)
    assert refused.code == 1 and "already exists" in refused.err
    forced = loom("fetch", "-i", batch_id, "--force")
    assert forced.code == 0 and f"Fabric complete. id={batch_id} -> {output}" in forced.out
    assert state_files(home) == []


@pytest.mark.parametrize("states, partial, status, reason", [
    (["expired"], 0, "expired", "anthropic: request expired before it was processed "
                                "(the batch reached its 24-hour limit)"),
    (["cancelled"], 0, "cancelled", "anthropic: request canceled before it was processed "
                                    "(the batch was cancelled)"),
])
def test_batch_that_ended_without_answers(env, loom, home, states, partial, status, reason):
    write_json("p.json", [{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"}])
    env.plan_batches("anthropic", states, partial=partial)
    batch_id = submit(loom)
    result = loom("fetch")
    assert result.code == 1
    # Merged all the same: every row says why it has no answer.
    assert result.out.splitlines() == [
        f"Batch {batch_id} (anthropic): {status} — {BatchStatus(status).explanation} "
        f"Kept the 0 answers it has -> {OUT_JSON}",
        summary(2, [])]
    assert result.err.strip() == ("2 of 2 rows have no answer; see the llm_error column. "
                                  "Run the same loom run again to send only those rows.")
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == [1, 2]
    assert [(r["llm_response"], r["llm_error"]) for r in rows] == [(None, reason)] * 2
    assert state_files(home) == []
    assert loom("fetch").out.strip() == "No pending batches."
    assert batch_id not in loom("list").out


def test_an_expired_batch_with_some_answers_merges_them(env, loom):
    write_json("p.json", [{"id": i, "prompt": f"prompt {i}"} for i in range(4)])
    env.plan_batches("anthropic", ["expired"], partial=3)
    batch_id = submit(loom)
    result = loom("fetch")
    assert f"Fabric complete. id={batch_id}" in result.out
    rows = read_json(OUT_JSON)
    answered = [r for r in rows if not r.get("llm_error")]
    assert len(answered) == 3
    assert_each_row_has_its_own_answer(answered)
    (lost,) = [r for r in rows if r.get("llm_error")]
    assert "expired" in lost["llm_error"]


def test_set_batch_state_cancelled_with_partial_results(env, loom, home):
    write_json("p.json", [{"id": i, "prompt": f"prompt {i}"} for i in range(3)])
    batch_id = submit(loom)
    env.set_batch_state("anthropic", batch_id, "cancelled", partial=0)
    result = loom("fetch")
    assert result.code == 1
    assert result.out.startswith(
        f"Batch {batch_id} (anthropic): cancelled — {BatchStatus.CANCELLED.explanation} "
        f"Kept the 0 answers it has -> {OUT_JSON}\n")
    assert "3 of 3 rows have no answer; see the llm_error column." in result.err
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == [0, 1, 2]
    assert all(r["llm_response"] is None for r in rows)
    assert {r["llm_error"] for r in rows} == {
        "anthropic: request canceled before it was processed (the batch was cancelled)"}
    assert state_files(home) == []


def test_fetch_failures_are_unknown_and_do_not_stop_the_others(env, loom, home, monkeypatch):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    env.plan_batches("anthropic", ["completed"])
    healthy = submit(loom, "p.json", "-o", "healthy.json")
    ghost = submit(loom, "p.json", "-o", "ghost.json")
    # The provider no longer knows this one (e.g. deleted on the console).
    path = state_path(home, ghost)
    state = state_of(home, ghost)
    state["batch_id"] = state["parts"][0]["batch_id"] = "msgbatch_gone"
    path.write_text(json.dumps(state))

    result = loom("fetch")
    assert result.code == 1
    assert ("Batch msgbatch_gone (anthropic): unknown — anthropic: HTTP 404 not_found_error: "
            "Message batch msgbatch_gone not found.") in result.err
    assert f"Fabric complete. id={healthy} -> healthy.json" in result.out
    gone = state_of(home, "msgbatch_gone")
    assert gone["status"] == "unknown"
    assert [part["status"] for part in gone["parts"]] == ["unknown"]
    assert "unknown" in loom("list").out


@pytest.mark.parametrize("how", ["bad-key", "dead-host"])
def test_fetch_that_cannot_reach_the_provider_is_unknown(env, loom, home, monkeypatch, how):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    env.plan_batches("anthropic", ["completed"])
    batch_id = submit(loom)
    args = ["fetch"]
    if how == "bad-key":
        args += ["--api-key", "bad-key"]
        reason = "anthropic: HTTP 401 authentication_error: invalid x-api-key"
    else:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())
        reason = "anthropic: connection failed"
    result = loom(*args)
    assert result.code == 1
    assert f"Batch {batch_id} (anthropic): unknown — {reason}" in result.err
    assert "bad-key" not in result.err.replace("--api-key bad-key", "")
    assert state_of(home, batch_id)["status"] == "unknown"
    # Once the provider answers again, the next fetch picks the batch up.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env.env()["ANTHROPIC_BASE_URL"])
    retry = loom("fetch", "--id", batch_id)
    assert retry.code == 0 and f"Fabric complete. id={batch_id}" in retry.out


def test_batch_without_a_key_is_refused_before_any_call(env, loom, monkeypatch):
    write_json("p.json", [{"id": 1, "prompt": "a"}])
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    result = loom("run", "-f", "p.json", "-p", "anthropic", "-m", MODEL)
    assert result.code == 2 and "ANTHROPIC_API_KEY" in result.err
    assert env.calls("anthropic") == 0
