"""Fixtures for the adapter tests: every test runs with a throwaway home and no Loom variables,
so nothing here can read or write the real ~/.loom or pick up a developer's API keys."""

from __future__ import annotations

from pathlib import Path

import pytest

_ISOLATED_VARS = (
    "LOOM_HOME",
    "LOOM_CACHE_DIR",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Outside tmp_path, so tests can assert on exactly what they put in tmp_path.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name in _ISOLATED_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    return home
