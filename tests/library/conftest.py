"""Fixtures for using ``loom`` the way an application does: an isolated ``LOOM_HOME`` (the
``home`` fixture: echo and the keyed test plugin), or the openai plugin against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def openai_env(home, emulator, monkeypatch):
    """Only the openai plugin, a key, and the SDK pointed at the emulator."""
    monkeypatch.setenv("LOOM_PLUGINS", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-library")
    return emulator


@pytest.fixture
def call_log(home, monkeypatch) -> Path:
    """Where the keyed test provider logs each prompt it is sent (one line per call)."""
    log = home.parent / "keyed-calls.log"
    monkeypatch.setenv("KEYED_CALL_LOG", str(log))
    return log
