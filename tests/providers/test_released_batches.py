"""Batches the released loom-batch 0.7.0 submitted, fetched by ``loom fetch`` after the upgrade.

Each test submits a batch to the emulator exactly as 0.7.0 does (through the same SDK call,
with the same request body) and writes 0.7.0's state file for it, then runs ``loom fetch``
through the CLI. The bodies and state files below were captured from loom-batch 0.7.0 run
against the emulator (JSON and CSV inputs, one row already in its cache); only the batch id,
the paths and the cache folder are this test's own. What 0.7.0 does:

- JSON rows go out under their ids unchanged (``42`` as ``"42"``); CSV rows under
  ``row-<index>-<8 hex>``; ``id_map`` lists every row, sent or not.
- Rows its cache answered are not sent; their answers are in the state's ``cached_responses``.
- OpenAI: a ``loom_batch.jsonl`` upload of ``{"custom_id", "method", "url", "body"}`` lines.
  Anthropic: ``messages.batches.create`` with ``max_tokens`` 4096. Gemini: inline requests
  whose ``metadata`` is ``{"custom_id": ...}``, display name ``loom-batch``.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai

from tests.emulator.replies import reply_text
from tests.support import cached_entries, fetch_summary, read_csv, read_json

MODELS = {"openai": "gpt-emu", "anthropic": "claude-emu", "google": "gemini-emu"}

JSON_ROWS = [{"id": "task-001", "prompt": "Summarize Hamlet"},
             {"id": 42, "prompt": "Translate good morning"},
             {"id": "c", "prompt": "Cached question"},
             {"id": "d", "prompt": "Last one"}]
CSV_TEXT = "text,n\nSummarize Hamlet,1\nCached question,2\nTranslate good morning,3\nLast one,4\n"

#: custom id -> row key, as 0.7.0 wrote ``id_map`` (captured; CSV ids are random per run).
ID_MAPS = {
    "json": {"task-001": "task-001", "42": "42", "c": "c", "d": "d"},
    ("csv", "openai"): {"row-0-64704908": "0", "row-1-cef42f29": "1",
                        "row-2-9561f204": "2", "row-3-37b71303": "3"},
    ("csv", "anthropic"): {"row-0-45afa4b5": "0", "row-1-ac085231": "1",
                           "row-2-ad73a2d2": "2", "row-3-1578159e": "3"},
    ("csv", "google"): {"row-0-6883dac9": "0", "row-1-a6c2f345": "1",
                        "row-2-6eedb366": "2", "row-3-a6cf8276": "3"},
}
#: The row 0.7.0's cache answered, by custom id.
CACHED_IDS = {"json": "c", ("csv", "openai"): "row-1-cef42f29",
              ("csv", "anthropic"): "row-1-ac085231", ("csv", "google"): "row-1-a6c2f345"}


def id_map_for(provider: str, fmt: str) -> dict[str, str]:
    return ID_MAPS["json" if fmt == "json" else (fmt, provider)]


def cached_id_for(provider: str, fmt: str) -> str:
    return CACHED_IDS["json" if fmt == "json" else (fmt, provider)]


def write_input(fmt: str) -> tuple[str, dict[str, str]]:
    """The dataset, and each custom id's prompt (in file order)."""
    if fmt == "json":
        Path("p.json").write_text(json.dumps(JSON_ROWS), encoding="utf-8")
        return "p.json", {str(row["id"]): row["prompt"] for row in JSON_ROWS}
    Path("d.csv").write_text(CSV_TEXT, encoding="utf-8")
    prompts = [line.split(",")[0] for line in CSV_TEXT.splitlines()[1:]]
    return "d.csv", dict(zip(ID_MAPS[("csv", "openai")], prompts))


# ---- what 0.7.0 sends --------------------------------------------------------------------

def openai_jsonl(model: str, requests: list[tuple[str, str]]) -> bytes:
    # json.dumps with its default separators, one line per request (captured: 489 bytes for
    # the JSON dataset's three rows).
    return b"".join((json.dumps({
        "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": prompt}]},
    }) + "\n").encode("utf-8") for custom_id, prompt in requests)


def anthropic_body(model: str, requests: list[tuple[str, str]]) -> dict:
    return {"requests": [
        {"custom_id": custom_id, "params": {
            "model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 4096}}
        for custom_id, prompt in requests]}


def gemini_body(requests: list[tuple[str, str]]) -> dict:
    """The batchGenerateContent body 0.7.0's ``batches.create`` call puts on the wire."""
    return {"batch": {"inputConfig": {"requests": {"requests": [
        {"request": {"contents": [{"parts": [{"text": prompt}], "role": "user"}]},
         "metadata": {"custom_id": custom_id}}
        for custom_id, prompt in requests]}}, "displayName": "loom-batch"}}


def submit_as_070(emulator, provider: str, requests: list[tuple[str, str]]) -> str:
    """Submit ``requests`` (custom id, prompt) with the SDK call 0.7.0 makes; the batch id."""
    model = MODELS[provider]
    if provider == "openai":
        client = openai.OpenAI(api_key="k")
        uploaded = client.files.create(file=("loom_batch.jsonl", openai_jsonl(model, requests)),
                                       purpose="batch")
        return client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                     completion_window="24h").id
    if provider == "anthropic":
        batch = anthropic.Anthropic(api_key="k").messages.batches.create(
            **anthropic_body(model, requests))
        assert emulator.requests("anthropic", "batches_create")[-1]["json"] == anthropic_body(
            model, requests)
        return batch.id
    client = genai.Client(api_key="k")  # held: a collected client closes its connections
    job = client.batches.create(model=model, src=[
        {"contents": [{"parts": [{"text": prompt}], "role": "user"}],
         "metadata": {"custom_id": custom_id}} for custom_id, prompt in requests],
        config={"display_name": "loom-batch"})
    assert emulator.requests("gemini", "batches_create")[-1]["json"] == gemini_body(requests)
    return job.name


def write_070_state(home: Path, *, batch_id: str, provider: str, source: str, fmt: str,
                    id_map: dict[str, str], cached_responses: dict[str, str]) -> Path:
    """The state file 0.7.0 writes after ``loom run`` (captured, every field in its order)."""
    state = {
        "batch_id": batch_id,
        "provider": provider,
        "model": MODELS[provider],
        "original_file_path": str(Path(source).resolve()),
        "file_type": fmt,
        "prompt_column": "text" if fmt == "csv" else None,
        "id_map": id_map,
        "created_at": "2026-12-03T21:10:23.989067Z",
        "status": "validating",
        "output_path": None,
        "with_meta": False,
        "cached_responses": cached_responses,
        "cache_dir": str(home / "cache"),
        "source": "file",
        "params": {
            "temperature": None, "max_tokens": None, "top_p": None, "top_k": None,
            "stop": None, "seed": None, "presence_penalty": None,
            "frequency_penalty": None, "system": None, "json_mode": False, "extra": {},
        },
    }
    folder = home / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{provider}_{batch_id.replace('/', '_')}.json"
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def released(loom, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openai,anthropic,google")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.setenv(name, "k")
    return loom


def released_batch(emulator, home: Path, provider: str, fmt: str) -> tuple[str, Path, dict]:
    """0.7.0's batch of the dataset with one row answered from its cache; its cache itself
    is gone (cleared, or another machine), so only the state file holds that answer."""
    source, prompts = write_input(fmt)
    id_map = id_map_for(provider, fmt)
    prompts = dict(zip(id_map, prompts.values()))
    cached_id = cached_id_for(provider, fmt)
    cached = {cached_id: reply_text(MODELS[provider], prompts[cached_id])}
    batch_id = submit_as_070(emulator, provider, [
        (custom_id, prompt) for custom_id, prompt in prompts.items() if custom_id != cached_id])
    path = write_070_state(home, batch_id=batch_id, provider=provider, source=source, fmt=fmt,
                           id_map=id_map, cached_responses=cached)
    return batch_id, path, prompts


def output_rows(provider: str, fmt: str) -> list[tuple[str, str | None]]:
    """(prompt, answer) of each output row, in file order."""
    if fmt == "json":
        return [(row["prompt"], row["llm_response"])
                for row in read_json(f"p_results_{provider}_{MODELS[provider]}.json")]
    return [(row["text"], row["llm_response"])
            for row in read_csv(f"d_results_{provider}_{MODELS[provider]}.csv")]


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_a_batch_of_the_released_tool_merges_every_answer_and_its_cached_row(
        released, emulator, home, provider, fmt):
    batch_id, state_path, prompts = released_batch(emulator, home, provider, fmt)
    model = MODELS[provider]
    original_state = json.loads(state_path.read_text(encoding="utf-8"))

    pending = released("fetch")
    assert pending.code == 0, pending.err
    assert f"Batch {batch_id} ({provider}, {model}): " in pending.out
    # Saved again with its new status, the state still holds the answers from 0.7.0's cache.
    again = json.loads(state_path.read_text(encoding="utf-8"))
    assert again["cached_responses"] == original_state["cached_responses"]
    assert again["id_map"] == original_state["id_map"]

    done = released("fetch")
    assert done.code == 0, done.err + done.out
    assert f"Fabric complete. id={batch_id} -> " in done.out
    sent = [prompt for custom_id, prompt in prompts.items()
            if custom_id not in original_state["cached_responses"]]
    assert fetch_summary(model, 4, sent, cached=1) in done.out
    assert output_rows(provider, fmt) == [
        (prompt, reply_text(model, prompt)) for prompt in prompts.values()]
    assert not state_path.exists()
    # Every answer, the cached row's too, is in Loom's cache now.
    assert len(cached_entries(home / "cache")) == 4


def test_gemini_answers_that_lost_their_metadata_are_matched_by_position(
        released, emulator, home):
    batch_id, _state, prompts = released_batch(emulator, home, "google", "json")
    # The responses come back in request order but without the metadata the requests carried.
    emulator.add_fault(provider="gemini", endpoint="batches_get", no_metadata=True)

    assert released("fetch").code == 0
    done = released("fetch")
    assert done.code == 0, done.err + done.out
    assert f"Fabric complete. id={batch_id} -> " in done.out
    assert output_rows("google", "json") == [
        (prompt, reply_text(MODELS["google"], prompt)) for prompt in prompts.values()]


def test_gemini_answers_without_metadata_are_not_guessed_from_a_partial_list(
        released, emulator, home):
    emulator.plan_batches("gemini", ["running", "expired"], partial=2)
    batch_id, _state, prompts = released_batch(emulator, home, "google", "json")
    emulator.add_fault(provider="gemini", endpoint="batches_get", no_metadata=True)

    released("fetch")
    done = released("fetch")
    # Two of three answers came back, without ids: their positions cannot be trusted, so no
    # row gets another row's answer; the row 0.7.0's cache answered keeps that answer.
    assert f"Batch {batch_id} (google): expired" in done.out
    assert "3 of 4 rows have no answer" in done.err and done.code == 1
    rows = read_json("p_results_google_gemini-emu.json")
    assert [row["llm_response"] for row in rows] == [
        None, None, reply_text(MODELS["google"], "Cached question"), None]
