"""``loom`` end to end with the openrouter provider against the emulator: sync runs and the
cache, its failure shapes as row errors, and the seed's refusals of batch mode and tokens."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.emulator.replies import reply_text
from tests.support import nasty_items, read_csv, read_json, write_json

MODEL = "openai/gpt-4o-mini"
SAFE_MODEL = "openai_gpt-4o-mini"
OUT_JSON = f"p_results_openrouter_{SAFE_MODEL}.json"
NASTY_IDS = ["with space", "ünïcödé ✓", "a/b/c", "z" * 100]
NO_BATCH = "Error: OpenRouter has no batch API. Re-run with --sync."
NO_TOKENS = "Token counting not available: OpenRouter has no remote token-counting API"


@pytest.fixture
def env(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openrouter")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-cli")
    return emulator






def assert_each_row_has_its_own_answer(rows: list[dict], column: str = "prompt") -> None:
    for row in rows:
        assert row["llm_response"] == reply_text(MODEL, row[column]), row


def run_sync(loom, name: str = "p.json", *extra: str):
    return loom("run", "--sync", "-f", name, "-p", "openrouter", "-m", MODEL, *extra)


def test_sync_json_merges_nasty_ids_then_serves_the_cache(env, loom):
    write_json("p.json", nasty_items(NASTY_IDS))
    first = run_sync(loom)
    assert first.code == 0, first.err
    assert f"-> {OUT_JSON}" in first.out and "provider calls=5" in first.out
    rows = read_json(OUT_JSON)
    assert [r["id"] for r in rows] == NASTY_IDS + [7]
    assert_each_row_has_its_own_answer(rows)
    assert env.calls("openrouter", "chat") == 5
    assert {r["api_key"] for r in env.requests("openrouter", "chat")} == {"sk-or-cli"}

    again = run_sync(loom, "p.json", "--force")
    assert again.code == 0, again.err
    assert "cache hits=5" in again.out and "provider calls=0" in again.out
    assert env.calls("openrouter", "chat") == 5, "a second run is served wholly from the cache"
    assert read_json(OUT_JSON) == rows

    fresh = run_sync(loom, "p.json", "--force", "--no-cache")
    assert fresh.code == 0 and "provider calls=5" in fresh.out
    assert env.calls("openrouter", "chat") == 10


def test_sync_csv_and_gzip_inputs(env, loom):
    Path("d.csv").write_text('id,text,note\n1,"first, with comma",a\n2,second,b\n',
                             encoding="utf-8")
    result = run_sync(loom, "d.csv", "-c", "text")
    assert result.code == 0, result.err
    rows = read_csv(f"d_results_openrouter_{SAFE_MODEL}.csv")
    assert [r["note"] for r in rows] == ["a", "b"]
    assert_each_row_has_its_own_answer(rows, "text")

    with gzip.open("z.json.gz", "wt", encoding="utf-8") as out:
        json.dump(nasty_items(NASTY_IDS), out, ensure_ascii=False)
    result = run_sync(loom, "z.json.gz")
    assert result.code == 0, result.err
    assert_each_row_has_its_own_answer(read_json(f"z_results_openrouter_{SAFE_MODEL}.json"))

    with gzip.open("c.csv.gz", "wt", encoding="utf-8", newline="") as out:
        out.write("q\nalpha beta\ngamma\n")
    result = run_sync(loom, "c.csv.gz", "-c", "q")
    assert result.code == 0, result.err
    assert_each_row_has_its_own_answer(read_csv(f"c_results_openrouter_{SAFE_MODEL}.csv"), "q")


def test_a_200_error_is_retried_and_null_content_is_a_row_error(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "one"}])
    env.add_fault(provider="openrouter", openrouter_200_error=True, times=1)
    result = run_sync(loom)
    assert result.code == 0, result.err
    assert env.calls("openrouter", "chat") == 2
    assert_each_row_has_its_own_answer(read_json(OUT_JSON))

    env.add_fault(provider="openrouter", null_content=True, times=1)
    result = run_sync(loom, "p.json", "--force", "--no-cache")
    assert result.code == 1
    [row] = read_json(OUT_JSON)
    assert row["llm_response"] is None and "no answer" in row["llm_error"]


def test_out_of_credits_fails_the_rows(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "one"}, {"id": "b", "prompt": "two"}])
    env.add_fault(provider="openrouter", quota=True)
    result = run_sync(loom)
    assert result.code == 1
    rows = read_json(OUT_JSON)
    assert all("402" in r["llm_error"] and "Insufficient credits" in r["llm_error"] for r in rows)


def test_batch_mode_is_refused_with_the_seed_message(env, loom, monkeypatch):
    write_json("p.json", [{"id": "a", "prompt": "one"}])
    result = loom("run", "-f", "p.json", "-p", "openrouter", "-m", MODEL)
    assert result.code == 2
    assert result.err.strip() == NO_BATCH
    # Refused before a key is looked for: the user hears the real reason first.
    monkeypatch.delenv("OPENROUTER_API_KEY")
    assert loom("run", "-f", "p.json", "-p", "openrouter", "-m", MODEL, "--batch").err.strip() \
        == NO_BATCH
    assert env.calls("openrouter") == 0


def test_tokens_is_refused(env, loom):
    write_json("p.json", [{"id": "a", "prompt": "one"}])
    result = loom("tokens", "-f", "p.json", "-p", "openrouter", "-m", MODEL)
    assert result.code == 2
    assert result.err.strip() == NO_TOKENS
    assert result.out == ""
    assert env.calls("openrouter") == 0


def test_refusals_as_a_process(env, loom_process):
    write_json("p.json", [{"id": "a", "prompt": "one"}])
    batch = loom_process("run", "-f", "p.json", "-p", "openrouter", "-m", MODEL)
    assert (batch.code, batch.err.strip()) == (2, NO_BATCH)
    tokens = loom_process("tokens", "-f", "p.json", "-p", "openrouter", "-m", MODEL)
    assert (tokens.code, tokens.err.strip()) == (2, NO_TOKENS)
