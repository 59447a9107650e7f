"""Fixtures for the plugin's tests: Loom's own ``home``/``loom``/``loom_process`` fixtures and
its provider emulator, with only this plugin loaded and no OpenAI-compatible settings inherited
from the machine running the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The emulator and the CLI fixtures live in the Loom repository's tests package; make it
# importable however pytest was started (`pytest plugins/...` does not load tests/conftest.py).
_REPO = Path(__file__).resolve().parents[3]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from tests.conftest import home, loom, loom_process  # noqa: E402,F401
from tests.emulator.fixture import emulator, emulator_server  # noqa: E402,F401

PLUGIN = "openai-compatible"
_SETTINGS = ("OPENAI_COMPATIBLE_BASE_URL", "OPENAI_COMPATIBLE_API_KEY", "LOOM_ENDPOINTS_FILE",
             "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_CUSTOM_HEADERS")


@pytest.fixture
def env(home, emulator, monkeypatch):
    """An isolated Loom home with only this plugin, and the emulator running."""
    monkeypatch.setenv("LOOM_PLUGINS", PLUGIN)
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return emulator
