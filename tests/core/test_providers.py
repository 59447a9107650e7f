"""``ProviderRegistry`` and ``ProviderSpec``: lookup, modes, and the messages of what is missing."""

from __future__ import annotations

from typing import Any

import pytest

from loom_core.errors import Remedy, UnknownProviderError, UnsupportedError
from loom_core.providers import ProviderConfig, ProviderRegistry, ProviderSpec

from .fakes import FakeBatchProvider, FakeSyncProvider, FakeTokenCounter



def spec(name: str, **modes: Any) -> ProviderSpec:
    return ProviderSpec(name=name, key_env_var=f"{name.upper()}_API_KEY", **modes)


def full(name: str) -> ProviderSpec:
    return spec(name, batch=lambda c: FakeBatchProvider(), sync=lambda c: FakeSyncProvider(),
                tokens=lambda c: FakeTokenCounter())


def test_an_unknown_name_lists_the_installed_providers() -> None:
    registry = ProviderRegistry([spec("openai"), spec("anthropic"), spec("echo")])
    with pytest.raises(UnknownProviderError) as caught:
        registry.get("opnai")
    assert str(caught.value) == (
        "Unknown provider 'opnai'. Installed providers: anthropic, echo, openai.")
    assert caught.value.exit_code == 2


def test_an_empty_registry_says_none_are_installed() -> None:
    with pytest.raises(UnknownProviderError, match="Installed providers: none"):
        ProviderRegistry().get("openai")


def test_the_first_registration_of_a_name_wins() -> None:
    first, second = spec("openai", description="first"), spec("openai", description="second")
    registry = ProviderRegistry([first])
    registry.register(second)
    assert registry.get("openai") is first
    assert len(registry) == 1


def test_providers_iterate_by_name() -> None:
    registry = ProviderRegistry([spec("openrouter"), spec("anthropic"), spec("google")])
    assert registry.names() == ["anthropic", "google", "openrouter"]
    assert [s.name for s in registry] == ["anthropic", "google", "openrouter"]


def test_modes_are_the_factories_present() -> None:
    assert full("x").modes == ("batch", "sync", "tokens")
    assert spec("openrouter", sync=lambda c: FakeSyncProvider()).modes == ("sync",)
    assert spec("bare").modes == ()


def test_tokens_unavailable_message_uses_the_providers_reason() -> None:
    openai = spec("openai", no_tokens_reason="OpenAI has no remote API; use tiktoken locally")
    with pytest.raises(UnsupportedError) as caught:
        openai.require("tokens")
    assert str(caught.value) == (
        "Token counting not available: OpenAI has no remote API; use tiktoken locally")
    assert (caught.value.provider, caught.value.mode, caught.value.exit_code) == (
        "openai", "tokens", 2)


def test_tokens_unavailable_message_has_a_default_reason() -> None:
    with pytest.raises(UnsupportedError) as caught:
        spec("openrouter").require("tokens")
    assert str(caught.value).startswith("Token counting not available: ")
    assert "openrouter" in str(caught.value)


def test_batch_unavailable_uses_the_providers_reason_and_points_at_sync() -> None:
    openrouter = spec("openrouter", sync=lambda c: FakeSyncProvider(),
                      no_batch_reason="OpenRouter has no batch API")
    with pytest.raises(UnsupportedError) as caught:
        openrouter.require("batch")
    assert caught.value.parts[0] == "OpenRouter has no batch API. "
    assert caught.value.parts[1].mention is Remedy.USE_SYNC
    assert (caught.value.mode, caught.value.exit_code) == ("batch", 2)


def test_batch_unavailable_has_a_default_reason() -> None:
    with pytest.raises(UnsupportedError, match=r"^x has no batch API\. "):
        spec("x").require("batch")


def test_sync_unavailable_points_away_from_sync() -> None:
    with pytest.raises(UnsupportedError) as caught:
        spec("x", batch=lambda c: FakeBatchProvider()).require("sync")
    assert caught.value.parts[1].mention is Remedy.USE_BATCH


def test_build_hands_the_config_to_the_factory() -> None:
    configs: list[ProviderConfig] = []
    adapter = FakeSyncProvider()

    def make(config: ProviderConfig) -> FakeSyncProvider:
        configs.append(config)
        return adapter

    config = ProviderConfig(api_key="sk-test", base_url="http://127.0.0.1:9")
    assert spec("x", sync=make).build("sync", config) is adapter
    assert configs == [config]


def test_build_of_a_missing_mode_raises_before_any_factory() -> None:
    with pytest.raises(UnsupportedError):
        spec("x", sync=lambda c: FakeSyncProvider()).build("batch", ProviderConfig())


def test_the_api_key_stays_out_of_the_config_repr() -> None:
    assert "sk-secret" not in repr(ProviderConfig(api_key="sk-secret"))
