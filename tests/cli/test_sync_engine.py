"""The sync engine through ``loom run --sync`` with the openai provider against the emulator:
retries, fatal errors, re-runs that pay only for what is missing, answers cut short, settings
and templates arriving in the request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator.replies import reply_text
from tests.support import cached_entries

MODEL = "gpt-emu"
OUTPUT = f"p_results_openai_{MODEL}.json"


@pytest.fixture
def env(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-engine")
    return emulator


def prompts(count: int) -> list[str]:
    items = [{"id": i, "prompt": f"question {i}"} for i in range(count)]
    Path("p.json").write_text(json.dumps(items))
    return [item["prompt"] for item in items]


def run(loom, *extra: str):
    return loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL, "--force", *extra)


def rows() -> list[dict]:
    return json.loads(Path(OUTPUT).read_text())


def test_rate_limits_server_errors_and_dropped_connections_are_retried(env, loom):
    asked = prompts(6)
    env.add_fault(provider="openai", endpoint="chat", status=429, retry_after=0, times=1)
    env.add_fault(provider="openai", endpoint="chat", status=500, times=1)
    env.add_fault(provider="openai", endpoint="chat", drop=True, times=1)
    result = run(loom, "-w", "1")
    assert result.code == 0, result.err
    assert "provider calls=6, retries=3, errors=0" in result.out
    assert env.calls("openai", "chat") == 9
    assert [r["llm_response"] for r in rows()] == [reply_text(MODEL, p) for p in asked]


def test_a_failed_row_is_reported_and_a_rerun_sends_only_it(env, loom):
    prompts(5)
    env.add_fault(provider="openai", endpoint="chat", status=400, times=1, message="bad prompt")
    first = run(loom, "-w", "1")
    assert first.code == 1 and "errors=1" in first.out
    failed = [r for r in rows() if r["llm_error"]]
    assert len(failed) == 1 and failed[0]["llm_response"] is None
    assert "bad prompt" in failed[0]["llm_error"]
    calls = env.calls("openai", "chat")
    second = run(loom)
    assert second.code == 0 and "cache hits=4, provider calls=1" in second.out
    assert env.calls("openai", "chat") == calls + 1
    assert all("llm_error" not in r for r in rows())  # a clean run adds no error column


def test_transient_errors_give_up_after_max_retries(env, loom):
    prompts(1)
    env.add_fault(provider="openai", endpoint="chat", status=503)
    result = run(loom, "--max-retries", "2")
    assert result.code == 1 and env.calls("openai", "chat") == 3
    assert rows()[0]["llm_error"]


def test_a_quota_that_will_not_come_back_ends_the_run_early(env, loom):
    prompts(40)
    env.add_fault(provider="openai", endpoint="chat", status=429, quota=True)
    result = run(loom, "-w", "2")
    assert result.code == 1 and "errors=40" in result.out
    assert env.calls("openai", "chat") <= 2  # the calls in flight, then no more
    assert all("quota" in r["llm_error"].lower() for r in rows())


def test_workers_are_kept_busy(env, loom):
    prompts(40)
    env.set_latency(100)
    assert run(loom, "-w", "10").code == 0
    assert env.max_in_flight("openai") == 10


def test_an_answer_cut_short_is_an_answer_cached_with_its_reason(env, loom, home):
    asked = prompts(3)
    env.add_fault(provider="openai", endpoint="chat", finish_reason="length", times=1)
    first = run(loom, "-w", "1", "--with-meta")
    assert first.code == 0 and "errors=0, cut short=1" in first.out
    assert [r["llm_finish_reason"] for r in rows()] == ["length", None, None]
    assert rows()[0]["llm_response"] == reply_text(MODEL, asked[0])
    entries = cached_entries(home / "cache")
    assert sorted(e.get("finish_reason") or "" for e in entries) == ["", "", "length"]
    # Paid once: the re-run is served from the cache and still shows why it was cut.
    second = run(loom, "--with-meta")
    assert "cache hits=3, provider calls=0" in second.out and "cut short=1" in second.out
    assert rows()[0]["llm_finish_reason"] == "length"


def test_settings_arrive_in_the_request_and_change_the_cache_key(env, loom, tmp_path):
    prompts(1)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    result = run(loom, "-t", "0.2", "--max-tokens", "50", "--top-p", "0.9", "--stop", "END",
                 "--stop", "STOP", "--seed", "7", "--presence-penalty", "0.1",
                 "--frequency-penalty", "0.3", "--system", "Be brief.", "--param",
                 "logprobs=true", "--param", "user=loom tests")
    assert result.code == 0, result.err
    body = env.requests("openai", "chat")[-1]["json"]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50 and body["top_p"] == 0.9
    assert body["stop"] == ["END", "STOP"] and body["seed"] == 7
    assert body["presence_penalty"] == 0.1 and body["frequency_penalty"] == 0.3
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["logprobs"] is True and body["user"] == "loom tests"
    # Other settings, another answer: the cache does not serve the first one.
    again = run(loom, "-t", "0.3")
    assert "cache hits=0, provider calls=1" in again.out
    plain = run(loom)
    assert "cache hits=0, provider calls=1" in plain.out
    assert "cache hits=1, provider calls=0" in run(loom).out


def test_json_and_schema_use_the_structured_output_feature(env, loom, tmp_path):
    prompts(1)
    assert run(loom, "--json").code == 0
    assert env.requests("openai", "chat")[-1]["json"]["response_format"] == {"type": "json_object"}
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    assert run(loom, "--schema", str(schema)).code == 0
    sent = env.requests("openai", "chat")[-1]["json"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["properties"]


def test_a_setting_the_provider_cannot_honour_is_refused_before_sending(env, loom):
    prompts(3)
    result = run(loom, "--top-k", "5")
    assert result.code == 2 and result.err.strip() == "Error: openai does not support --top-k"
    assert env.calls("openai", "chat") == 0 and not Path(OUTPUT).exists()


def test_bad_setting_files_and_params_are_one_line_errors(env, loom, tmp_path):
    prompts(1)
    assert "Cannot read the schema" in run(loom, "--schema", "missing.json").err
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert "is not valid JSON" in run(loom, "--schema", str(bad)).err
    assert "--param takes KEY=VALUE" in run(loom, "--param", "novalue").err
    assert env.calls("openai", "chat") == 0


def test_a_template_builds_each_prompt_from_the_row(env, loom):
    Path("d.csv").write_text("id,text,lang\n1,hello,French\n2,bye,German\n")
    result = loom("run", "--sync", "-f", "d.csv", "-p", "openai", "-m", MODEL,
                  "--template", "Translate into {lang}: {text}")
    assert result.code == 0, result.err
    sent = [r["json"]["messages"][-1]["content"] for r in env.requests("openai", "chat")]
    assert sorted(sent) == ["Translate into French: hello", "Translate into German: bye"]
    merged = Path(f"d_results_openai_{MODEL}.csv").read_text().splitlines()
    assert merged[1].endswith(reply_text(MODEL, "Translate into French: hello"))


def test_a_template_naming_a_missing_field_names_the_row(env, loom, tmp_path):
    Path("p.json").write_text(json.dumps([{"id": "a", "text": "x"}, {"id": "b"}]))
    template = tmp_path / "t.txt"
    template.write_text("Say {text}\n")
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai", "-m", MODEL,
                  "--template-file", str(template))
    assert result.code == 2 and "item 1 has no field 'text'" in result.err
    assert env.calls("openai", "chat") == 0
