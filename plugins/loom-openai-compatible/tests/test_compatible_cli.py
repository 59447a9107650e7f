"""``loom`` end to end with the openai-compatible provider: the real openai SDK over HTTP to the
emulator's OpenAI API (``{url}/openai/v1``), as to any server that speaks it.

The emulator answers 401 to a request without a key, like OpenAI; the plugin never sends one
without a key (the SDK needs one), so "no key" means the placeholder ``not-needed`` is sent,
and that is what these tests check.
"""

from __future__ import annotations

import json
from pathlib import Path

from loom.plugin import BatchStatus
from tests.emulator.replies import reply_text

MODEL = "llama-emu"
OUT = f"p_results_openai-compatible_{MODEL}.json"


def openai_url(emulator) -> str:
    return f"{emulator.url}/openai/v1"


def no_batches_url(emulator) -> str:
    # The emulator's OpenRouter API: chat completions work, /files and /batches answer 404.
    return f"{emulator.url}/openrouter/api/v1"


def write_prompts(name: str = "p.json") -> Path:
    path = Path(name)
    path.write_text(json.dumps([{"id": 1, "prompt": "first"}, {"id": "b", "prompt": "second"}]),
                    encoding="utf-8")
    return path


def read_json(name: str) -> list[dict]:
    return json.loads(Path(name).read_text(encoding="utf-8"))


def assert_answered(name: str, model: str = MODEL) -> None:
    rows = read_json(name)
    assert [r["id"] for r in rows] == [1, "b"]
    for row in rows:
        assert row["llm_response"] == reply_text(model, row["prompt"]), row


def keys_seen(emulator, endpoint: str = "chat") -> set[str]:
    return {r["api_key"] for r in emulator.requests("openai", endpoint)}


def state_files(home: Path) -> list[Path]:
    return sorted((home / "batches").glob("*.json"))


def nothing_recorded(home: Path) -> bool:
    batches = home / "batches"
    return not batches.exists() or not any(p.is_file() for p in batches.rglob("*"))


def write_endpoints(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "endpoints.toml"
    path.write_text(text, encoding="utf-8")
    return path


def submitted_id(result) -> str:
    assert result.code == 0, result.err
    line = result.out.strip()
    assert line.startswith("Batch submitted. id=batch_"), line
    return line.split("id=")[1].split()[0]


def fetch_until_done(loom, batch_id: str, provider: str, *args: str) -> None:
    pending = loom("fetch", "--all", *args)
    assert pending.code == 0, pending.err
    assert pending.out.strip() == (f"Batch {batch_id} ({provider}, {MODEL}): validating — "
                                   f"{BatchStatus.VALIDATING.explanation}")
    done = loom("fetch", "--all", *args)
    assert done.code == 0, done.err
    assert done.out.strip().startswith(f"Fabric complete. id={batch_id} -> ")


# ---- sync -------------------------------------------------------------------------------


def test_sync_without_any_key_sends_the_placeholder_and_nothing_of_openai(env, loom,
                                                                          monkeypatch):
    # OpenAI's own settings are set, and must not reach another server.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-must-not-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-must-not-leak")
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", openai_url(env))
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL)
    assert result.code == 0, result.err
    assert "provider calls=2" in result.out
    assert_answered(OUT)
    assert keys_seen(env) == {"not-needed"}
    for request in env.requests("openai", "chat"):
        assert "openai-organization" not in request["headers"]
        assert "openai-project" not in request["headers"]


def test_sync_key_from_the_environment_variable(env, loom, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", openai_url(env))
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-compatible-env")
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL)
    assert result.code == 0, result.err
    assert keys_seen(env) == {"sk-compatible-env"}


def test_sync_flags_win_over_the_environment(env, loom, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/nowhere/v1")
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-compatible-env")
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", openai_url(env), "--api-key", "sk-flag")
    assert result.code == 0, result.err
    assert_answered(OUT)
    assert keys_seen(env) == {"sk-flag"}
    assert "sk-flag" not in result.out + result.err


def test_settings_openai_would_refuse_reach_the_server(env, loom):
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", "o3-local",
                  "--base-url", openai_url(env), "--top-k", "40", "--temperature", "0.2",
                  "--max-tokens", "64", "--stop", "a", "--stop", "b", "--stop", "c",
                  "--stop", "d", "--stop", "e")
    assert result.code == 0, result.err
    body = env.requests("openai", "chat")[0]["json"]
    # No OpenAI reasoning-model rules (o3-* is just a name here), top_k passed through.
    assert body["top_k"] == 40 and body["temperature"] == 0.2 and body["max_tokens"] == 64
    assert body["stop"] == ["a", "b", "c", "d", "e"]


def test_errors_name_the_provider_not_openai(env, loom):
    write_prompts()
    env.add_fault(provider="openai", endpoint="chat", status=400, message="Bad 'top_k'.")
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", openai_url(env))
    assert result.code == 1
    errors = [row["llm_error"] for row in read_json(OUT)]
    assert all(e.startswith("openai-compatible 400") and "Bad 'top_k'." in e for e in errors)


def test_a_server_that_wants_a_key_says_how_to_give_one(env, loom):
    write_prompts()
    env.add_fault(provider="openai", endpoint="chat", status=401)
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", openai_url(env))
    assert result.code == 1
    for row in read_json(OUT):
        assert "401" in row["llm_error"]
        assert "no API key was given: pass --api-key or set OPENAI_COMPATIBLE_API_KEY" in (
            row["llm_error"])


def test_missing_base_url_is_one_line_naming_both_ways(env, loom, home):
    write_prompts()
    for args in (("--sync",), ()):
        result = loom("run", *args, "-f", "p.json", "-p", "openai-compatible", "-m", MODEL)
        assert result.code == 2
        message = result.err.strip()
        assert "\n" not in message
        assert "--base-url" in message and "OPENAI_COMPATIBLE_BASE_URL" in message
    assert env.requests("openai") == [] and nothing_recorded(home)


def test_tokens_are_not_available_and_exit_2(env, loom):
    write_prompts()
    result = loom("tokens", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", openai_url(env))
    assert result.code == 2
    assert result.err.strip() == ("Token counting not available: OpenAI-compatible servers have "
                                  "no standard token-counting endpoint")


# ---- named endpoints -----------------------------------------------------------------


def test_named_endpoints_from_the_file(env, loom, home, monkeypatch):
    write_endpoints(home, f'[local]\nbase_url = "{openai_url(env)}"\n\n'
                          f'[hosted]\nbase_url = "{openai_url(env)}"\nkey_env = "HOSTED_KEY"\n')
    listing = loom("providers")
    assert listing.code == 0, listing.err
    lines = {line.split()[0]: line for line in listing.out.splitlines()[1:]}
    assert set(lines) == {"openai-compatible", "openai-compatible:hosted",
                          "openai-compatible:local"}
    assert "HOSTED_KEY" in lines["openai-compatible:hosted"]

    write_prompts()
    local = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:local", "-m", MODEL)
    assert local.code == 0, local.err
    assert_answered(f"p_results_openai-compatible_local_{MODEL}.json")
    assert keys_seen(env) == {"not-needed"}

    # key_env makes the key required: the container names the variable.
    missing = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:hosted",
                   "-m", MODEL)
    assert missing.code == 2 and "HOSTED_KEY" in missing.err
    monkeypatch.setenv("HOSTED_KEY", "sk-hosted")
    # Another server's key is never sent to a named endpoint.
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-for-the-generic-one")
    env.reset()
    hosted = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:hosted", "-m", MODEL)
    assert hosted.code == 0, hosted.err
    assert keys_seen(env) == {"sk-hosted"}
    local = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:local", "-m", MODEL,
                 "--force", "--no-cache")
    assert local.code == 0 and keys_seen(env) == {"sk-hosted", "not-needed"}


def test_endpoints_file_from_loom_endpoints_file(env, loom, tmp_path, monkeypatch):
    path = tmp_path / "my-endpoints.toml"
    path.write_text(f'[vllm]\nbase_url = "{openai_url(env)}"\n', encoding="utf-8")
    monkeypatch.setenv("LOOM_ENDPOINTS_FILE", str(path))
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:vllm", "-m", MODEL)
    assert result.code == 0, result.err
    assert_answered(f"p_results_openai-compatible_vllm_{MODEL}.json")


def test_a_broken_endpoints_file_warns_and_loom_still_works(env, loom_process, home):
    write_endpoints(home, '[local\nbase_url = "http://localhost:11434/v1"\n')
    listing = loom_process("providers", env_extra={"LOOM_PLUGINS": "openai-compatible"})
    assert listing.code == 0
    assert listing.out.splitlines()[1].split()[0] == "openai-compatible"
    (warning,) = listing.err.strip().splitlines()
    assert warning.startswith("Warning: endpoints file skipped: ")
    assert "endpoints.toml is not valid TOML" in warning

    write_prompts()
    result = loom_process("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m",
                          MODEL, "--base-url", openai_url(env),
                          env_extra={"LOOM_PLUGINS": "openai-compatible"})
    assert result.code == 0, result.err
    assert_answered(OUT)


def test_an_unusable_endpoint_is_a_one_line_error(env, loom, home):
    write_endpoints(home, '[bad]\nbase_url = "http://x/v1"\napi_key = "sk-in-the-file"\n')
    write_prompts()
    result = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible:bad", "-m", MODEL)
    assert result.code == 2
    assert result.err.startswith("Error: cannot use openai-compatible:bad: 'api_key' does not "
                                 "belong in the endpoints file")
    assert "sk-in-the-file" not in result.err


# ---- batch ------------------------------------------------------------------------------


def test_batch_run_and_fetch_reach_the_server_given_by_flag(env, loom, home, monkeypatch):
    # The variable points elsewhere: fetch must use the address the batch was submitted to.
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/nowhere/v1")
    write_prompts()
    batch_id = submitted_id(loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                                 "--base-url", openai_url(env)))
    (state,) = state_files(home)
    saved = json.loads(state.read_text())
    assert saved["provider"] == "openai-compatible" and saved["base_url"] == openai_url(env)
    fetch_until_done(loom, batch_id, "openai-compatible")
    assert_answered(OUT)
    assert keys_seen(env, "batches_create") == {"not-needed"}
    assert state_files(home) == []


def test_batch_with_the_environment_variable_and_a_key(env, loom, home, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", openai_url(env))
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-batch")
    write_prompts()
    batch_id = submitted_id(loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL))
    (state,) = state_files(home)
    assert json.loads(state.read_text())["base_url"] == openai_url(env)
    # The variable moves on to another server: the batch is still on the first one.
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/nowhere/v1")
    fetch_until_done(loom, batch_id, "openai-compatible")
    assert_answered(OUT)
    assert keys_seen(env, "files_upload") == keys_seen(env, "batches_get") == {"sk-batch"}


def test_batch_of_a_named_endpoint_is_fetched_by_its_name(env, loom, home):
    write_endpoints(home, f'[vllm]\nbase_url = "{openai_url(env)}"\n')
    write_prompts()
    batch_id = submitted_id(loom("run", "-f", "p.json", "-p", "openai-compatible:vllm",
                                 "-m", MODEL))
    (state,) = state_files(home)
    assert json.loads(state.read_text())["provider"] == "openai-compatible:vllm"
    # No --base-url, no variable: the provider name finds the endpoint, and so the server.
    fetch_until_done(loom, batch_id, "openai-compatible:vllm")
    assert_answered(f"p_results_openai-compatible_vllm_{MODEL}.json")


def test_a_cancelled_batch_is_cancelling_until_the_server_has_stopped_it(env, loom, home,
                                                                          monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", openai_url(env))
    env.plan_batches("openai", ["running"], cancelling=None)
    write_prompts()
    batch_id = submitted_id(loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL))
    cancelled = loom("cancel", "--id", batch_id)
    assert cancelled.code == 0, cancelled.err
    assert "status=cancelling" in cancelled.out
    still = loom("fetch")
    assert still.code == 0, still.err
    assert still.out.strip() == (f"Batch {batch_id} (openai-compatible, {MODEL}): cancelling — "
                                 f"{BatchStatus.CANCELLING.explanation}")
    env.set_batch_state("openai", batch_id, "cancelled", partial=1)
    ended = loom("fetch")
    assert ended.code == 1
    assert ended.out.startswith(f"Batch {batch_id} (openai-compatible): cancelled — ")
    rows = read_json(OUT)
    assert sum(row["llm_error"] is None for row in rows) == 1
    assert state_files(home) == []


def test_a_server_without_a_batch_api_is_a_one_line_error(env, loom, home):
    write_prompts()
    url = no_batches_url(env)
    # The same server answers chat completions...
    synced = loom("run", "--sync", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", url)
    assert synced.code == 0, synced.err
    assert_answered(OUT)
    # ...but has neither /files nor /batches (--no-cache: the answers above are cached).
    result = loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", url, "--no-cache")
    assert result.code == 2
    assert result.err.strip() == (f"Error: the server at {url} has no batch API "
                                  f"(POST /files answered 404). Re-run with --sync.")
    assert result.out == "" and nothing_recorded(home)


def test_a_404_from_post_batches_is_the_same_error(env, loom, home):
    write_prompts()
    env.add_fault(provider="openai", endpoint="batches_create", status=404)
    result = loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL,
                  "--base-url", openai_url(env))
    assert result.code == 2
    assert result.err.strip() == (f"Error: the server at {openai_url(env)} has no batch API "
                                  f"(POST /batches answered 404). Re-run with --sync.")
    assert nothing_recorded(home)


def test_fetch_that_asks_the_wrong_server_says_where_it_looked(env, loom, home, monkeypatch):
    # Only --base-url moves a batch: a variable changed since is not where the batch is.
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", openai_url(env))
    write_prompts()
    batch_id = submitted_id(loom("run", "-f", "p.json", "-p", "openai-compatible", "-m", MODEL))
    elsewhere = f"{env.url}/openrouter/api/v1"
    result = loom("fetch", "--all", "--base-url", elsewhere)
    assert result.code == 1
    assert batch_id in result.err and f"asked the server at {elsewhere}" in result.err
    assert len(state_files(home)) == 1, "the batch is kept for a fetch from the right place"
