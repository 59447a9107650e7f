"""An application using ``Loom`` with the openai provider, through the real SDK against the
emulator: answers, the cache, settings in the request, files, batches, and errors raised."""

from __future__ import annotations

import pytest

from loom import (
    AuthenticationError,
    BatchStatus,
    Loom,
    MissingKeyError,
    PermanentError,
    QuotaExhaustedError,
    UnsupportedError,
)
from tests.emulator.replies import reply_text

from .support import MODEL, read_json, write_json


def test_generate_and_generate_many_then_the_cache(openai_env):
    loom = Loom("openai", MODEL)
    assert loom.generate("hello") == reply_text(MODEL, "hello")
    prompts = [f"question {i}" for i in range(12)]
    answers = loom.generate_many(prompts)
    assert [a.text for a in answers] == [reply_text(MODEL, p) for p in prompts]
    assert all(a.input_tokens and a.output_tokens for a in answers)
    assert openai_env.calls("openai", "chat") == 13

    again = Loom("openai", MODEL).generate_many(list(reversed(prompts)) + ["hello"])
    assert [a.text for a in again] == [reply_text(MODEL, p) for p in reversed(prompts)] + [
        reply_text(MODEL, "hello")]
    assert openai_env.calls("openai", "chat") == 13  # all from the cache


def test_settings_arrive_in_the_request(openai_env):
    loom = Loom("openai", MODEL, temperature=0.2, max_tokens=50, system="Be brief.",
                stop=["END"], seed=7, extra={"user": "library tests"})
    loom.generate("a question")
    body = openai_env.requests("openai", "chat")[-1]["json"]
    assert body["model"] == MODEL
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50 and body["seed"] == 7
    assert body["stop"] == ["END"] and body["user"] == "library tests"
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "a question"}]
    loom.with_settings(temperature=0.9).generate("a question")
    assert openai_env.requests("openai", "chat")[-1]["json"]["temperature"] == 0.9
    assert openai_env.calls("openai", "chat") == 2  # other settings, another cache entry


def test_an_explicit_key_and_base_url_are_used(openai_env, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        Loom("openai", MODEL).generate("x")
    loom = Loom("openai", MODEL, api_key="sk-explicit", base_url=f"{openai_env.url}/openai/v1")
    assert loom.generate("x") == reply_text(MODEL, "x")
    assert openai_env.requests("openai", "chat")[-1]["api_key"] == "sk-explicit"
    assert openai_env.calls("openai", "chat") == 1


def test_run_file(openai_env):
    write_json("p.json", [{"id": i, "prompt": f"row {i}"} for i in range(5)])
    summary = Loom("openai", MODEL).run_file("p.json", with_meta=True)
    assert (summary.rows, summary.calls, summary.errors) == (5, 5, 0)
    rows = read_json(summary.output_path)
    assert [r["llm_response"] for r in rows] == [reply_text(MODEL, f"row {i}") for i in range(5)]
    assert rows[0]["llm_model"] == MODEL
    assert Loom("openai", MODEL).run_file("p.json", overwrite=True).cache_hits == 5
    assert openai_env.calls("openai", "chat") == 5


def test_submit_file_then_fetch(openai_env, home):
    write_json("p.json", [{"id": "a", "prompt": "first"}, {"id": "b", "prompt": "second"}])
    openai_env.plan_batches("openai", ["in_progress", "completed"])
    loom = Loom("openai", MODEL, temperature=0)
    job = loom.submit_file("p.json").job
    assert job.provider == "openai" and job.settings.temperature == 0
    [pending] = loom.fetch()
    assert pending.status is BatchStatus.IN_PROGRESS and pending.output_path is None
    [done] = loom.fetch()
    assert done.status is BatchStatus.COMPLETED and done.problem is None
    rows = read_json(done.output_path)
    assert [r["llm_response"] for r in rows] == [reply_text(MODEL, "first"),
                                                 reply_text(MODEL, "second")]
    assert loom.fetch() == []


def test_a_fetch_that_fails_is_an_outcome_not_an_exception(openai_env):
    write_json("p.json", [{"id": 1, "prompt": "x"}])
    loom = Loom("openai", MODEL)
    loom.submit_file("p.json")
    [outcome] = Loom("openai", MODEL, api_key="bad-key").fetch()
    assert outcome.status is BatchStatus.UNKNOWN and "401" in outcome.problem
    assert "bad-key" not in outcome.problem


def test_errors_are_raised_as_loom_errors(openai_env):
    with pytest.raises(AuthenticationError, match="401") as caught:
        Loom("openai", MODEL, api_key="bad-key").generate("x")
    assert "bad-key" not in str(caught.value)
    openai_env.add_fault(provider="openai", endpoint="chat", status=400, times=1,
                         message="bad prompt")
    with pytest.raises(PermanentError, match="bad prompt"):
        Loom("openai", MODEL).generate("y")
    openai_env.add_fault(provider="openai", endpoint="chat", status=429, quota=True, times=1)
    with pytest.raises(QuotaExhaustedError):
        Loom("openai", MODEL).generate("z")
    with pytest.raises(UnsupportedError, match="openai does not support top_k$"):
        Loom("openai", MODEL, top_k=5).generate_many(["a", "b"])


def test_retries_follow_the_cli_rules(openai_env):
    openai_env.add_fault(provider="openai", endpoint="chat", status=429, retry_after=0, times=1)
    openai_env.add_fault(provider="openai", endpoint="chat", status=500, times=1)
    assert Loom("openai", MODEL).generate("x") == reply_text(MODEL, "x")
    assert openai_env.calls("openai", "chat") == 3
    openai_env.add_fault(provider="openai", endpoint="chat", status=503)
    answers = Loom("openai", MODEL, max_retries=1).generate_many(["p", "q"])
    assert not any(a.ok for a in answers) and all("503" in a.error for a in answers)


def test_a_failed_row_does_not_fail_the_others(openai_env):
    openai_env.add_fault(provider="openai", endpoint="chat", status=400, times=1,
                         message="bad prompt")
    answers = Loom("openai", MODEL, workers=1).generate_many(["a", "b", "c"])
    assert [a.ok for a in answers] == [False, True, True]
    assert "bad prompt" in answers[0].error
    # The failure was not cached: asking again sends only that prompt.
    calls = openai_env.calls("openai", "chat")
    assert Loom("openai", MODEL).generate_many(["a", "b", "c"])[0].ok
    assert openai_env.calls("openai", "chat") == calls + 1


def test_token_counts(openai_env):
    summary = Loom("openai", MODEL).count_tokens(["one two", "three"])
    assert summary.prompts == 2 and summary.errors == 0 and summary.total > 0
