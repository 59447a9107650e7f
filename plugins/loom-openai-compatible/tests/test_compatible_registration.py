"""The plugin on its own: the endpoints file, the specs it registers, and the entry point.
No network: these tests stop before any adapter sends a request."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

import pytest

from loom.plugin import (
    MissingSettingError,
    ProviderConfig,
    ProviderSpec,
    UnsupportedError,
    UsageError,
)
from loom_openai_compatible import GENERIC_SPEC, loom_register_providers
from loom_openai_compatible.endpoints import read_endpoints
from loom_openai_compatible.server import (PLACEHOLDER_KEY, display_url, endpoint_server,
                                           generic_server)


@pytest.fixture
def loom_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LOOM_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("LOOM_ENDPOINTS_FILE", "OPENAI_COMPATIBLE_BASE_URL",
                 "OPENAI_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def registered(home: Path) -> dict[str, ProviderSpec]:
    specs: list[ProviderSpec] = []
    loom_register_providers(specs.append, str(home))
    return {spec.name: spec for spec in specs}


def test_the_entry_point_is_installed() -> None:
    points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="loom")}
    assert points.get("openai-compatible") == "loom_openai_compatible"


def test_generic_provider_takes_an_optional_key_and_reads_its_base_url_variable(
        loom_home) -> None:
    assert list(registered(loom_home)) == ["openai-compatible"]
    assert GENERIC_SPEC.key_env_var == "OPENAI_COMPATIBLE_API_KEY"
    assert GENERIC_SPEC.key_required is False
    assert GENERIC_SPEC.base_url_env_var == "OPENAI_COMPATIBLE_BASE_URL"
    assert GENERIC_SPEC.modes == ("batch", "sync")
    with pytest.raises(UnsupportedError) as refused:
        GENERIC_SPEC.require("tokens")
    assert str(refused.value) == ("Token counting not available: OpenAI-compatible servers have "
                                  "no standard token-counting endpoint")


def test_without_a_base_url_the_error_names_both_ways_to_give_one(loom_home) -> None:
    for mode in ("sync", "batch"):
        with pytest.raises(MissingSettingError) as missing:
            GENERIC_SPEC.build(mode, ProviderConfig())
        assert (missing.value.option, missing.value.env_var) == (
            "base_url", "OPENAI_COMPATIBLE_BASE_URL")
        message = str(missing.value)
        assert "base_url" in message and "OPENAI_COMPATIBLE_BASE_URL" in message
        assert "\n" not in message and missing.value.exit_code == 2


def test_a_base_url_must_be_http(loom_home) -> None:
    with pytest.raises(UsageError, match="must start with http"):
        generic_server(ProviderConfig(base_url="localhost:11434/v1"))


def test_the_key_loom_resolved_is_sent_else_a_placeholder(loom_home) -> None:
    url = "http://localhost:8000/v1"
    keyless = generic_server(ProviderConfig(base_url=url))
    assert keyless.api_key is None and keyless.config().api_key == PLACEHOLDER_KEY
    flagged = generic_server(ProviderConfig(api_key="sk-flag", base_url=url))
    assert flagged.api_key == "sk-flag" and "sk-flag" not in repr(flagged)


def test_display_url_drops_credentials_and_query() -> None:
    assert display_url("https://user:secret@host:8000/v1/?token=x") == "https://host:8000/v1"


def test_named_endpoints_register_under_the_prefix(loom_home) -> None:
    (loom_home / "endpoints.toml").write_text(
        '# local and hosted\n'
        '[ollama]\nbase_url = "http://localhost:11434/v1"\n\n'
        '[together]\nbase_url = "https://api.together.xyz/v1"\nkey_env = "TOGETHER_API_KEY"\n',
        encoding="utf-8")
    specs = registered(loom_home)
    assert sorted(specs) == ["openai-compatible", "openai-compatible:ollama",
                             "openai-compatible:together"]
    assert specs["openai-compatible:ollama"].key_env_var is None
    assert specs["openai-compatible:together"].key_env_var == "TOGETHER_API_KEY"
    assert specs["openai-compatible:ollama"].base_url_env_var is None
    assert specs["openai-compatible:ollama"].modes == ("batch", "sync")

    (ollama,) = [e for e in read_endpoints(str(loom_home)).endpoints if e.name == "ollama"]
    assert endpoint_server(ollama, ProviderConfig()).base_url == "http://localhost:11434/v1"
    moved = endpoint_server(ollama, ProviderConfig(base_url="http://gpu-box:11434/v1"))
    assert moved.base_url == "http://gpu-box:11434/v1", "--base-url still overrides the file"


def test_loom_endpoints_file_names_another_file(loom_home, tmp_path, monkeypatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('[vllm]\nbase_url = "http://localhost:8000/v1"\n', encoding="utf-8")
    monkeypatch.setenv("LOOM_ENDPOINTS_FILE", str(other))
    assert "openai-compatible:vllm" in registered(loom_home)


@pytest.mark.parametrize(("table", "problem"), [
    ('[a]\nkey_env = "X"\n', "base_url is missing"),
    ('[a]\nbase_url = "localhost:1/v1"\n', "must start with http"),
    ('[a]\nbase_url = "http://h/v1"\nbase-url = "x"\n', "unknown setting 'base-url'"),
    ('a = "http://h/v1"\n', "must be a table"),
    ('["has space"]\nbase_url = "http://h/v1"\n', "endpoint names may only hold"),
])
def test_an_unusable_endpoint_explains_itself_when_used(loom_home, table, problem) -> None:
    (loom_home / "endpoints.toml").write_text(table, encoding="utf-8")
    (name,) = [n for n in registered(loom_home) if n != "openai-compatible"]
    spec = registered(loom_home)[name]
    with pytest.raises(UsageError) as refused:
        spec.build("sync", ProviderConfig())
    message = str(refused.value)
    assert problem in message and str(loom_home / "endpoints.toml") in message


@pytest.mark.parametrize("table", [
    '[a]\nbase_url = "http://h/v1"\napi_key = "sk-secret-in-file"\n',
    '[a]\nbase_url = "http://h/v1"\nkey_env = "sk-secret-in-file"\n',
])
def test_a_key_in_the_file_is_refused_without_repeating_it(loom_home, table) -> None:
    (loom_home / "endpoints.toml").write_text(table, encoding="utf-8")
    spec = registered(loom_home)["openai-compatible:a"]
    with pytest.raises(UsageError) as refused:
        spec.build("batch", ProviderConfig())
    assert "sk-secret-in-file" not in str(refused.value)
    assert "environment variable" in str(refused.value)
    assert "sk-secret-in-file" not in spec.description


@pytest.mark.parametrize(("content", "problem"), [
    (b'[ollama\nbase_url = "http://localhost:11434/v1"\n', "is not valid TOML"),
    (b'[a]\nbase_url = "\xff"\n', "is not UTF-8"),
])
def test_a_broken_file_is_skipped_with_one_warning(loom_home, caplog, content, problem) -> None:
    (loom_home / "endpoints.toml").write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="loom_openai_compatible"):
        assert list(registered(loom_home)) == ["openai-compatible"]
        assert list(registered(loom_home)) == ["openai-compatible"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, "warned once per process, not once per registration"
    assert warnings[0].startswith("Warning: endpoints file skipped: ") and problem in warnings[0]


def test_a_named_file_that_is_missing_is_reported(loom_home, monkeypatch) -> None:
    monkeypatch.setenv("LOOM_ENDPOINTS_FILE", str(loom_home / "nope.toml"))
    found = read_endpoints(str(loom_home))
    assert found.endpoints == () and "LOOM_ENDPOINTS_FILE names" in found.problem


def test_no_file_at_all_is_the_quiet_default(loom_home, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert list(registered(loom_home)) == ["openai-compatible"]
    assert caplog.records == []
