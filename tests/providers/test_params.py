"""Where a ``--param`` lands in the body each provider's API receives, through ``loom run``.

OpenAI, OpenRouter, Anthropic and an OpenAI-compatible server take a ``--param`` as a field at
the root of the request body. For Gemini a ``--param`` names a field of google-genai's
``GenerateContentConfig`` and lands where that config puts it (a generation field under
``generationConfig``, a request-level one at the root), alike in sync mode, inline batches and
file batches. The emulator refuses an unknown root field of a Gemini request as the API does,
so a field put in the wrong place fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google import genai
from google.genai import types
from openai import OpenAI

from tests.emulator.replies import reply_text

PROMPTS = ["first question", "second question"]
SAFETY = [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]


def write_prompts() -> None:
    items = [{"id": i, "prompt": p} for i, p in enumerate(PROMPTS)]
    Path("p.json").write_text(json.dumps(items), encoding="utf-8")


def answers(output: str) -> list:
    rows = json.loads(Path(output).read_text(encoding="utf-8"))
    assert all(row.get("llm_error") is None for row in rows), rows
    return [row["llm_response"] for row in rows]


# ---- sync, every provider --------------------------------------------------------------

#: provider -> (plugins, key variable, model, emulator API, endpoint, --param flags, where the
#: body holds what the flags asked for)
SYNC = {
    "openai": ("openai", "OPENAI_API_KEY", "gpt-emu", "openai", "chat",
               ["logprobs=true", "service_tier=flex"],
               lambda body: (body["logprobs"], body["service_tier"]) == (True, "flex")),
    "openrouter": ("openrouter", "OPENROUTER_API_KEY", "openai/gpt-emu", "openrouter", "chat",
                   ['provider={"order": ["Emulated"]}'],
                   lambda body: body["provider"] == {"order": ["Emulated"]}),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY", "claude-emu", "anthropic", "messages",
                  ['metadata={"user_id": "u-1"}'],
                  lambda body: body["metadata"] == {"user_id": "u-1"}),
    "openai-compatible": ("openai-compatible", "OPENAI_COMPATIBLE_API_KEY", "llama-emu",
                          "openai", "chat", ["repetition_penalty=1.1"],
                          lambda body: body["repetition_penalty"] == 1.1),
    "google": ("google", "GOOGLE_API_KEY", "gemini-emu", "gemini", "generate",
               ["candidate_count=1", f"safety_settings={json.dumps(SAFETY)}"],
               lambda body: (body["generationConfig"], body["safetySettings"]) == (
                   {"candidateCount": 1}, SAFETY)),
}


@pytest.mark.parametrize("provider", sorted(SYNC))
def test_a_param_lands_where_the_providers_api_takes_it(provider, home, emulator, loom,
                                                        monkeypatch):
    plugins, key, model, api, endpoint, params, placed = SYNC[provider]
    monkeypatch.setenv("LOOM_PLUGINS", plugins)
    monkeypatch.setenv(key, "k")
    write_prompts()
    extra = ["--base-url", f"{emulator.url}/openai/v1"] if provider == "openai-compatible" else []
    flags = [arg for param in params for arg in ("--param", param)]
    result = loom("run", "--sync", "-f", "p.json", "-p", provider, "-m", model, *extra, *flags)
    assert result.code == 0, result.err
    bodies = [sent["json"] for sent in emulator.requests(api, endpoint)]
    assert len(bodies) == len(PROMPTS) and all(placed(body) for body in bodies)
    output = f"p_results_{provider}_{model.replace('/', '_')}.json"
    assert answers(output) == [reply_text(model, prompt) for prompt in PROMPTS]


# ---- batches ---------------------------------------------------------------------------

def submit(loom, provider: str, model: str, *flags: str) -> str:
    result = loom("run", "-f", "p.json", "-p", provider, "-m", model, *flags)
    assert result.code == 0, result.err
    return result.out.strip().splitlines()[-1].split("id=")[1].split()[0]


def fetch_until_merged(loom, output: str) -> None:
    for _ in range(3):  # the emulator ends a batch on its second look
        result = loom("fetch")
        assert result.code == 0, result.err
        if Path(output).exists():
            return
    raise AssertionError(f"{output} was never written")


@pytest.fixture
def gemini(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "google")
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    write_prompts()
    return emulator


GEMINI_OUT = "p_results_google_gemini-emu.json"
GEMINI_FLAGS = ("-t", "0.5", "--param", "candidate_count=1",
                "--param", f"safetySettings={json.dumps(SAFETY)}")
GEMINI_PLACED = {"generationConfig": {"temperature": 0.5, "candidateCount": 1},
                 "safetySettings": SAFETY}


def test_gemini_inline_batch_takes_params_where_sync_does(gemini, loom):
    submit(loom, "google", "gemini-emu", *GEMINI_FLAGS)
    source = gemini.requests("gemini", "batches_create")[-1]["json"]["batch"]["inputConfig"]
    requests = [entry["request"] for entry in source["requests"]["requests"]]
    assert [{k: r[k] for k in GEMINI_PLACED} for r in requests] == [GEMINI_PLACED] * 2
    fetch_until_merged(loom, GEMINI_OUT)
    assert answers(GEMINI_OUT) == [reply_text("gemini-emu", p) for p in PROMPTS]


def test_gemini_file_batch_takes_params_where_sync_does(gemini, loom, monkeypatch):
    from loom_adapters.providers.google import batch

    # Any request is "too large" to go inline: the batch goes as an uploaded JSONL file.
    monkeypatch.setattr(batch, "INLINE_LIMIT_BYTES", 1)
    submit(loom, "google", "gemini-emu", *GEMINI_FLAGS)
    source = gemini.requests("gemini", "batches_create")[-1]["json"]["batch"]["inputConfig"]
    # The real API cannot serve an uploaded file back; the emulator can, for this look.
    client = genai.Client(api_key="k", http_options=types.HttpOptions(
        base_url=gemini.env()["GOOGLE_GEMINI_BASE_URL"]))
    lines = [json.loads(line)
             for line in client.files.download(file=source["fileName"]).splitlines()]
    assert [{k: line["request"][k] for k in GEMINI_PLACED} for line in lines] == (
        [GEMINI_PLACED] * 2)
    fetch_until_merged(loom, GEMINI_OUT)
    assert answers(GEMINI_OUT) == [reply_text("gemini-emu", p) for p in PROMPTS]


@pytest.mark.parametrize("mode", [["--sync"], []], ids=["sync", "batch"])
@pytest.mark.parametrize("param, message", [
    pytest.param("candidate_countt=1",
                 "Error: google: --param candidate_countt is not a field of google-genai's "
                 "GenerateContentConfig", id="unknown-name"),
    pytest.param("candidate_count=many",
                 "Error: google: --param candidate_count: Input should be a valid integer, "
                 "unable to parse string as an integer", id="bad-value"),
    pytest.param('http_options={"timeout": 5}',
                 "Error: google: --param http_options configures the google-genai client, not "
                 "the request Gemini receives", id="client-option"),
])
def test_a_gemini_param_the_config_cannot_take_is_refused_before_sending(
        gemini, loom, home, mode, param, message):
    result = loom("run", *mode, "-f", "p.json", "-p", "google", "-m", "gemini-emu",
                  "--param", param)
    assert result.code == 2
    assert result.err.strip() == message
    assert gemini.calls("gemini") == 0
    assert not Path(GEMINI_OUT).exists() and not list(home.glob("batches/*.json"))


def test_openai_and_anthropic_batches_carry_params_at_the_root(home, emulator, loom,
                                                               monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openai,anthropic")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    write_prompts()
    submit(loom, "openai", "gpt-emu", "--param", "logprobs=true")
    client = OpenAI(api_key="k", base_url=emulator.env()["OPENAI_BASE_URL"])
    file_id = emulator.requests("openai", "batches_create")[-1]["json"]["input_file_id"]
    lines = [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line]
    assert [line["body"]["logprobs"] for line in lines] == [True, True]
    submit(loom, "anthropic", "claude-emu", "--param", 'metadata={"user_id": "u-1"}')
    sent = emulator.requests("anthropic", "batches_create")[-1]["json"]["requests"]
    assert [r["params"]["metadata"] for r in sent] == [{"user_id": "u-1"}] * 2
    fetch_until_merged(loom, "p_results_anthropic_claude-emu.json")
    assert answers("p_results_openai_gpt-emu.json") == [
        reply_text("gpt-emu", p) for p in PROMPTS]
