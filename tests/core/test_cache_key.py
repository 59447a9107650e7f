"""The response-cache key must be the released tool's (docs/compatibility.md), computed here
independently."""

from __future__ import annotations

import hashlib
import json

from loom_core.cache_key import cache_key
from loom_core.model import GenerationSettings


def sha256_of(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def test_key_is_sha256_of_provider_model_prompt_joined_by_nul() -> None:
    expected = sha256_of("openai", "gpt-4o-mini", "Hello")
    assert cache_key("openai", "gpt-4o-mini", "Hello") == expected


def test_key_hashes_utf8_text() -> None:
    prompt = "Traduis « bonjour » en 日本語"
    expected = hashlib.sha256(f"anthropic\x00claude\x00{prompt}".encode()).hexdigest()
    assert cache_key("anthropic", "claude", prompt) == expected


def test_key_is_not_the_readme_pipe_notation() -> None:
    pipe = hashlib.sha256(b"openai|gpt-4o-mini|Hello").hexdigest()
    assert cache_key("openai", "gpt-4o-mini", "Hello") != pipe


def test_empty_settings_keep_the_three_part_key() -> None:
    three_parts = sha256_of("openai", "m", "p")
    assert cache_key("openai", "m", "p", None) == three_parts
    assert cache_key("openai", "m", "p", GenerationSettings()) == three_parts


def test_settings_add_a_fourth_part_of_canonical_json() -> None:
    settings = GenerationSettings(
        temperature=0.2, max_tokens=100, top_p=0.9, top_k=40, stop=("END", "STOP"), seed=1,
        presence_penalty=0.5, frequency_penalty=-0.5, system="Réponds en français",
        json_mode=True, extra={"reasoning": {"effort": "low"}, "a": 1},
    )
    fields = {
        "temperature": 0.2, "max_tokens": 100, "top_p": 0.9, "top_k": 40, "stop": ["END", "STOP"],
        "seed": 1, "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "system": "Réponds en français", "json_mode": True,
        "extra": {"reasoning": {"effort": "low"}, "a": 1},
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    assert cache_key("openai", "m", "p", settings) == sha256_of("openai", "m", "p", canonical)


def test_canonical_json_spells_only_the_set_fields() -> None:
    settings = GenerationSettings(temperature=0.0, stop=["x"])
    # 0.0 is set (it is not None); json_mode off and an empty extra are left out.
    assert settings.canonical_json() == '{"stop":["x"],"temperature":0.0}'
    assert cache_key("p", "m", "q", settings) == sha256_of("p", "m", "q", settings.canonical_json())


def test_canonical_json_keeps_non_ascii_and_sorts_nested_keys() -> None:
    settings = GenerationSettings(system="日本", extra={"z": 1, "b": {"y": 2, "a": 3}})
    assert settings.canonical_json() == '{"extra":{"b":{"a":3,"y":2},"z":1},"system":"日本"}'


def test_each_part_changes_the_key() -> None:
    base = cache_key("openai", "m", "p")
    assert len({base, cache_key("google", "m", "p"), cache_key("openai", "n", "p"),
                cache_key("openai", "m", "q"),
                cache_key("openai", "m", "p", GenerationSettings(temperature=1))}) == 5
