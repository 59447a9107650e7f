"""The google provider end to end: the ``loom`` command, the real SDK, the emulator.

Sync runs (JSON, CSV, gzip, awkward row ids, the cache), ``loom tokens``, and batch mode from
``loom run`` through every status ``loom fetch`` can print, per-request errors, the failures
that leave a batch ``unknown``, the flags of ``loom fetch``, ``loom list``, and a state file
written by an older Loom with a bare Gemini batch id.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from google import genai
from google.genai import types

from loom_core.model import BatchStatus
from tests.emulator.replies import count_words, reply_text
from tests.support import closed_port, fetch_summary, state_of, state_path

MODEL = "gemini-emu"
OUTPUT = f"p_results_google_{MODEL}.json"

AWKWARD_IDS = ["with space", "ünïcödé ✓", "a/b/../c", "x" * 100, 7, "row-0"]


@pytest.fixture
def gloom(loom, emulator, monkeypatch):
    """``loom`` with the google (and echo) plugins, a key, and the emulator as the API."""
    monkeypatch.setenv("LOOM_PLUGINS", "google,echo")
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    return loom


def write_prompts(prompts: list[str], ids: list | None = None, path: str = "p.json") -> None:
    ids = ids or [f"task-{i}" for i in range(len(prompts))]
    items = [{"id": i, "prompt": p} for i, p in zip(ids, prompts, strict=True)]
    Path(path).write_text(json.dumps(items), encoding="utf-8")


def rows(path: str = OUTPUT) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def submit(gloom, *extra: str) -> str:
    result = gloom("run", "-f", "p.json", "-p", "google", "-m", MODEL, *extra)
    assert result.code == 0, result.err
    line = result.out.strip().splitlines()[-1]
    assert line.startswith("Batch submitted. id=batches/") and line.endswith(" provider=google")
    return line.split("id=")[1].split()[0]


def state(home: Path, batch_id: str) -> dict:
    return state_of(home, batch_id)


def remembered(home: Path, batch_id: str) -> bool:
    """Whether any state file still holds ``batch_id``."""
    try:
        state_path(home, batch_id)
    except AssertionError:
        return False
    return True


def summary(rows: int, answered: list[str], cached: int = 0) -> str:
    return fetch_summary(MODEL, rows, answered, cached)


# ---- sync ------------------------------------------------------------------------------

def test_sync_json_rows_with_awkward_ids_each_get_their_own_answer(gloom, emulator):
    prompts = [f"prompt for row {i}" for i in range(len(AWKWARD_IDS))]
    write_prompts(prompts, AWKWARD_IDS)
    result = gloom("run", "--sync", "-f", "p.json", "-p", "google", "-m", MODEL)
    assert result.code == 0, result.err
    assert "Done." in result.out
    assert [(r["id"], r["llm_response"]) for r in rows()] == [
        (row_id, reply_text(MODEL, prompt))
        for row_id, prompt in zip(AWKWARD_IDS, prompts, strict=True)]
    assert emulator.calls("gemini", "generate") == len(prompts)


def test_sync_csv_and_gzip_inputs(gloom):
    table = 'id,text,note\n1,"Explain, with commas",a\n2,"Line one\nline two",ü\n3,Haiku,\n'
    Path("d.csv").write_text(table, encoding="utf-8")
    with gzip.open("z.csv.gz", "wt", encoding="utf-8", newline="") as stream:
        stream.write(table)
    with gzip.open("j.json.gz", "wt", encoding="utf-8") as stream:
        json.dump([{"id": "a", "prompt": "zipped prompt"}], stream)
    for name in ("d.csv", "z.csv.gz"):
        assert gloom("run", "--sync", "-f", name, "-c", "text", "-p", "google",
                     "-m", MODEL).code == 0
        stem = name.split(".")[0]
        merged = list(csv.reader(io.StringIO(
            Path(f"{stem}_results_google_{MODEL}.csv").read_text(encoding="utf-8"))))
        original = list(csv.reader(io.StringIO(table)))
        assert merged[0] == original[0] + ["llm_response"]
        assert [row[:-1] for row in merged[1:]] == original[1:]
        assert [row[-1] for row in merged[1:]] == [reply_text(MODEL, row[1])
                                                   for row in original[1:]]
    assert gloom("run", "--sync", "-f", "j.json.gz", "-p", "google", "-m", MODEL).code == 0
    assert rows(f"j_results_google_{MODEL}.json")[0]["llm_response"] == reply_text(
        MODEL, "zipped prompt")


def test_second_sync_run_is_served_from_the_cache_and_no_cache_calls_again(gloom, emulator):
    write_prompts(["one", "two", "three"])
    assert gloom("run", "--sync", "-f", "p.json", "-p", "google", "-m", MODEL).code == 0
    assert emulator.calls("gemini") == 3
    emulator.reset()
    again = gloom("run", "--sync", "-f", "p.json", "-p", "google", "-m", MODEL, "--force")
    assert again.code == 0, again.err
    assert emulator.calls("gemini") == 0
    assert [r["llm_response"] for r in rows()] == [reply_text(MODEL, p)
                                                   for p in ("one", "two", "three")]
    fresh = gloom("run", "--sync", "-f", "p.json", "-p", "google", "-m", MODEL, "--force",
                  "--no-cache")
    assert fresh.code == 0, fresh.err
    assert emulator.calls("gemini", "generate") == 3


def test_tokens_total_is_the_sum_of_the_prompts(gloom, emulator):
    prompts = ["one two three", "four five", "six", "one two three"]
    write_prompts(prompts)
    result = gloom("tokens", "-f", "p.json", "-p", "google", "-m", MODEL)
    assert result.code == 0, result.err
    total = sum(count_words(p) for p in prompts)
    assert f"Total input tokens: {total:,} across 4 prompts (provider=google, model={MODEL}, " \
           "errors=0)" in result.out
    assert emulator.calls("gemini", "count_tokens") == 3  # the repeated prompt is asked once


# ---- batch -----------------------------------------------------------------------------

def test_batch_run_fetch_merge_and_state(gloom, emulator, home):
    prompts = [f"batch prompt {i}" for i in range(len(AWKWARD_IDS))]
    write_prompts(prompts, AWKWARD_IDS)
    batch_id = submit(gloom)
    assert batch_id == f"batches/{emulator.batches('gemini')[0]['id']}"
    saved = state(home, batch_id)
    assert saved["batch_id"] == batch_id and saved["provider"] == "google"
    assert saved["status"] == "validating"
    assert state_path(home, batch_id).name == f"google_{saved['job_id']}.json"
    assert saved["parts"] == [{"index": 0, "start": 0, "end": len(AWKWARD_IDS),
                               "batch_id": batch_id, "status": "validating"}]

    first = gloom("fetch")
    assert first.code == 0, first.err
    assert first.out.strip() == (f"Batch {batch_id} (google, {MODEL}): validating — "
                                 f"{BatchStatus.VALIDATING.explanation}")
    done = gloom("fetch")
    assert done.code == 0, done.err
    assert done.out.splitlines() == [f"Fabric complete. id={batch_id} -> {OUTPUT}",
                                     summary(len(prompts), prompts)]
    assert [(r["id"], r["llm_response"]) for r in rows()] == [
        (row_id, reply_text(MODEL, prompt))
        for row_id, prompt in zip(AWKWARD_IDS, prompts, strict=True)]
    assert list((home / "batches").glob("*.json")) == []


@pytest.mark.parametrize("provider_state, status, code", [
    ("pending", BatchStatus.VALIDATING, 0),
    ("running", BatchStatus.IN_PROGRESS, 0),
    ("failed", BatchStatus.FAILED, 1),
])
def test_fetch_prints_each_status_with_its_explanation(gloom, emulator, home, provider_state,
                                                       status, code):
    write_prompts(["a", "b"])
    batch_id = submit(gloom)
    emulator.set_batch_state("gemini", batch_id, provider_state)
    result = gloom("fetch")
    assert result.code == code
    assert result.out.strip() == (f"Batch {batch_id} (google, {MODEL}): {status.value} — "
                                  f"{status.explanation}")
    saved = state(home, batch_id)
    assert saved["status"] == status.value
    assert [part["status"] for part in saved["parts"]] == [status.value]
    assert not Path(OUTPUT).exists()


@pytest.mark.parametrize("provider_state, status", [
    ("expired", BatchStatus.EXPIRED),
    ("cancelled", BatchStatus.CANCELLED),
])
def test_an_expired_or_cancelled_batch_is_merged_with_the_answers_it_has(
        gloom, emulator, home, provider_state, status):
    write_prompts(["a", "b"])
    batch_id = submit(gloom)
    emulator.set_batch_state("gemini", batch_id, provider_state, partial=1)
    result = gloom("fetch")
    assert result.code == 1
    merged = rows()
    assert [r["id"] for r in merged] == ["task-0", "task-1"]
    (answered,) = [r for r in merged if r.get("llm_error") is None]
    assert answered["llm_response"] == reply_text(MODEL, answered["prompt"])
    (missing,) = [r for r in merged if r.get("llm_error") is not None]
    assert missing["llm_response"] is None
    assert missing["llm_error"] == "no answer for this row in the provider's results"
    assert result.out.splitlines() == [
        f"Batch {batch_id} (google): {status.value} — {status.explanation} "
        f"Kept the 1 answers it has -> {OUTPUT}",
        summary(2, [answered["prompt"]])]
    assert result.err.strip() == ("1 of 2 rows have no answer; see the llm_error column. "
                                  "Run the same loom run again to send only those rows.")
    assert not remembered(home, batch_id)
    assert gloom("fetch").out.strip() == "No pending batches."


def test_per_request_errors_land_in_llm_error_and_are_reported(gloom, emulator):
    write_prompts(["fine", "broken [[fail]]", "also fine"])
    batch_id = submit(gloom)
    gloom("fetch")
    result = gloom("fetch")
    assert result.code == 1
    assert f"Fabric complete. id={batch_id}" in result.out
    assert "1 of 3 rows have no answer" in result.err
    merged = rows()
    assert merged[0]["llm_response"] == reply_text(MODEL, "fine")
    assert merged[2]["llm_response"] == reply_text(MODEL, "also fine")
    assert "Gemini API error 400" in merged[1]["llm_error"]
    assert merged[0].get("llm_error") is None


def test_a_bad_key_leaves_the_batch_unknown_and_other_batches_go_on(gloom, emulator, home):
    write_prompts(["a"])
    google_id = submit(gloom)
    echo = gloom("run", "-f", "p.json", "-p", "echo", "-m", "upper", "-o", "echo.json")
    echo_id = echo.out.split("id=")[1].split()[0]
    result = gloom("fetch", "--api-key", "bad-key")
    assert result.code == 1
    assert f"Batch {google_id} (google): unknown — Gemini API rejected the API key" in result.err
    assert "bad-key" not in result.err
    assert f"Fabric complete. id={echo_id} -> echo.json" in result.out
    saved = state(home, google_id)
    assert saved["status"] == "unknown"
    assert [part["status"] for part in saved["parts"]] == ["unknown"]
    assert "unknown" in gloom("list").out
    # With the right key the next fetch picks it up again.
    assert "validating" in gloom("fetch").out


def test_an_unknown_batch_id_is_unknown_and_the_others_still_merge(gloom, emulator, home):
    write_prompts(["a"])
    real = submit(gloom, "-o", "real.json")
    gloom("fetch")  # real: pending -> validating
    # A second job, like real's but for a batch the API never gave out.
    nope = state(home, real)
    nope["job_id"] = nope["job_id"].rsplit("-", 1)[0] + "-0badc0de"
    nope["batch_id"] = nope["parts"][0]["batch_id"] = "batches/nope"
    nope["output_path"] = "nope.json"
    (home / "batches" / f"google_{nope['job_id']}.json").write_text(json.dumps(nope))
    result = gloom("fetch")
    assert result.code == 1
    assert "Batch batches/nope (google): unknown — Gemini API error 404" in result.err
    assert f"Fabric complete. id={real} -> real.json" in result.out
    saved = state(home, "batches/nope")
    assert saved["status"] == "unknown"
    assert [part["status"] for part in saved["parts"]] == ["unknown"]
    assert not Path("nope.json").exists()


def test_an_unreachable_api_leaves_the_batch_unknown(gloom, emulator, home, monkeypatch):
    write_prompts(["a"])
    batch_id = submit(gloom)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://127.0.0.1:{closed_port()}/gemini")
    result = gloom("fetch")
    assert result.code == 1
    assert f"Batch {batch_id} (google): unknown — Gemini API unreachable" in result.err
    assert state(home, batch_id)["status"] == "unknown"


def test_fetch_id_keep_force_all_and_list(gloom, emulator, home):
    write_prompts(["first"])
    one = submit(gloom, "-o", "one.json")
    two = submit(gloom, "-o", "two.json")
    listing = gloom("list").out
    assert one in listing and two in listing and "google" in listing and MODEL in listing
    assert "validating" in gloom("fetch", "--id", one).out
    assert {r["path"] for r in emulator.requests("gemini", "batches_get")} == {
        f"/gemini/v1/{one}"}  # two was not looked at
    kept = gloom("fetch", "-i", one, "--keep")
    assert kept.code == 0 and kept.out.splitlines() == [
        f"Fabric complete. id={one} -> one.json", summary(1, ["first"])]
    assert state(home, one)["status"] == "completed"
    assert [part["status"] for part in state(home, one)["parts"]] == ["completed"]
    assert state(home, two)["status"] == "validating"
    assert rows("one.json")[0]["llm_response"] == reply_text(MODEL, "first")
    refused = gloom("fetch", "-i", one)
    assert refused.code == 1 and "already exists" in refused.err
    assert gloom("fetch", "-i", one, "--force").code == 0
    assert not remembered(home, one) and remembered(home, two)
    gloom("fetch", "--all")
    assert gloom("fetch", "--all").code == 0
    assert rows("two.json")[0]["llm_response"] == reply_text(MODEL, "first")
    assert gloom("fetch").out.strip() == "No pending batches."


# ---- a state file from an older Loom, with a bare batch id ---------------------------------

def released_tool_batch(emulator, home: Path, items: list[dict]) -> str:
    """Submit as the released tool did (its custom ids are the JSON ids) and write its state
    file by hand, in its format, with the batch id stripped of ``batches/``."""
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url=emulator.env()["GOOGLE_GEMINI_BASE_URL"]))
    job = client.batches.create(model=MODEL, src=[
        {"contents": [{"role": "user", "parts": [{"text": item["prompt"]}]}],
         "metadata": {"key": item["id"]}} for item in items])
    bare = job.name.removeprefix("batches/")
    (home / "batches").mkdir(parents=True, exist_ok=True)
    (home / "batches" / f"google_{bare}.json").write_text(json.dumps({
        "batch_id": bare, "provider": "google", "model": MODEL,
        "original_file_path": str(Path("p.json").resolve()), "file_type": "json",
        "prompt_column": None, "id_map": {item["id"]: item["id"] for item in items},
        "created_at": "2026-05-01T12:00:00+00:00", "status": "validating",
        "output_path": None, "with_meta": False,
    }, indent=2))
    return bare


@pytest.mark.parametrize("keep", [False, True])
def test_a_bare_id_from_an_older_loom_fetches_and_merges(gloom, emulator, home, keep):
    items = [{"id": "task-001", "prompt": "Summarize Hamlet"},
             {"id": "task-002", "prompt": "Translate good morning"}]
    Path("p.json").write_text(json.dumps(items))
    bare = released_tool_batch(emulator, home, items)
    flags = ["--keep"] if keep else []

    first = gloom("fetch", *flags)
    assert first.code == 0, first.err
    assert f"Batch batches/{bare} (google, {MODEL}): validating" in first.out
    # The state file now carries the prefixed id under the matching name.
    assert not (home / "batches" / f"google_{bare}.json").exists()
    assert state(home, f"batches/{bare}")["batch_id"] == f"batches/{bare}"

    done = gloom("fetch", *flags)
    assert done.code == 0, done.err
    assert f"Fabric complete. id=batches/{bare} -> " in done.out
    assert [(r["id"], r["llm_response"]) for r in rows()] == [
        (item["id"], reply_text(MODEL, item["prompt"])) for item in items]
    assert (home / "batches" / f"google_batches_{bare}.json").exists() is keep
    assert sorted(p.name for p in (home / "batches").glob("*.json")) == (
        [f"google_batches_{bare}.json"] if keep else [])
    # Every call used the full name: the SDK would have refused the bare one.
    assert {r["path"] for r in emulator.requests("gemini", "batches_get")} == {
        f"/gemini/v1/batches/{bare}"}
