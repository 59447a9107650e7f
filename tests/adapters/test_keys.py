"""resolve_api_key: --api-key > environment > ./.env, and .env never overrides the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loom_core.errors import UsageError
from loom_adapters.keys import resolve_api_key

VAR = "OPENAI_API_KEY"


@pytest.fixture
def dotenv_dir(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(f"# comment\n{VAR}=sk-from-dotenv\nOTHER=1\n")
    return tmp_path


def test_flag_wins(dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "sk-from-env")
    assert resolve_api_key("sk-flag", VAR, dotenv_dir) == "sk-flag"


def test_environment_beats_dotenv(dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "sk-from-env")
    assert resolve_api_key(None, VAR, dotenv_dir) == "sk-from-env"
    assert os.environ[VAR] == "sk-from-env"


def test_dotenv_is_last_and_never_written_into_environment(dotenv_dir: Path) -> None:
    assert resolve_api_key(None, VAR, dotenv_dir) == "sk-from-dotenv"
    assert VAR not in os.environ and "OTHER" not in os.environ


def test_dotenv_in_current_directory_by_default(dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(dotenv_dir)
    assert resolve_api_key(None, VAR) == "sk-from-dotenv"


def test_dotenv_in_a_parent_directory_is_not_used(dotenv_dir: Path) -> None:
    child = dotenv_dir / "child"
    child.mkdir()
    assert resolve_api_key(None, VAR, child) is None


def test_empty_values_count_as_unset(dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "")
    assert resolve_api_key("", VAR, dotenv_dir) == "sk-from-dotenv"
    monkeypatch.setenv(VAR, "   ")
    assert resolve_api_key("  ", VAR, dotenv_dir) == "sk-from-dotenv"


def test_empty_dotenv_value_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"{VAR}=\nexport ANTHROPIC_API_KEY='sk-ant'\nGOOGLE_API_KEY\n")
    assert resolve_api_key(None, VAR, tmp_path) is None
    assert resolve_api_key(None, "ANTHROPIC_API_KEY", tmp_path) == "sk-ant"
    assert resolve_api_key(None, "GOOGLE_API_KEY", tmp_path) is None


def test_nothing_anywhere(tmp_path: Path) -> None:
    assert resolve_api_key(None, VAR, tmp_path) is None


def test_provider_without_key_variable(dotenv_dir: Path) -> None:
    assert resolve_api_key(None, None, dotenv_dir) is None
    assert resolve_api_key("sk-flag", None, dotenv_dir) == "sk-flag"


def test_unreadable_dotenv_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(f"{VAR}=caf\xe9".encode("latin-1"))
    with pytest.raises(UsageError, match=r"Cannot read .*\.env"):
        resolve_api_key(None, VAR, tmp_path)
