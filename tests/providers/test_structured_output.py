"""``--schema`` and ``--json`` reach every provider as its own structured-output feature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}

CASES = {
    # provider: (key variable, model, emulator endpoint, where the schema sits in the body);
    # the emulator calls Google's API "gemini".
    "openai": ("OPENAI_API_KEY", "gpt-emu", "chat",
               lambda body: body["response_format"]["json_schema"]["schema"]),
    "openrouter": ("OPENROUTER_API_KEY", "openai/gpt-emu", "chat",
                   lambda body: body["response_format"]["json_schema"]["schema"]),
    "anthropic": ("ANTHROPIC_API_KEY", "claude-emu", "messages",
                  lambda body: body["output_config"]["format"]["schema"]),
    "google": ("GOOGLE_API_KEY", "gemini-emu", "generate",
               lambda body: body["generationConfig"]["responseJsonSchema"]),
}


@pytest.mark.parametrize("provider", sorted(CASES))
def test_the_schema_arrives_in_the_providers_own_field(provider, home, emulator, loom,
                                                       monkeypatch, tmp_path):
    key, model, endpoint, schema_of = CASES[provider]
    monkeypatch.setenv("LOOM_PLUGINS", provider)
    monkeypatch.setenv(key, "k")
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "Label this."}]))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    result = loom("run", "--sync", "-f", "p.json", "-p", provider, "-m", model,
                  "--schema", str(schema))
    assert result.code == 0, result.err
    body = emulator.requests("gemini" if provider == "google" else provider, endpoint)[-1]["json"]
    assert schema_of(body) == SCHEMA


def test_gemini_json_mode_asks_for_json(home, emulator, loom, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "google")
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "x"}]))
    assert loom("run", "--sync", "-f", "p.json", "-p", "google", "-m", "g", "--json").code == 0
    body = emulator.requests("gemini", "generate")[-1]["json"]
    assert body["generationConfig"]["responseMimeType"] == "application/json"
