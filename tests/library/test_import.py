"""``import loom`` is cheap: no provider SDK is loaded before a call needs one; and the package
declares its public names."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import loom

SDKS = ("openai", "anthropic", "google.genai")

PROBE = """
import json, sys
import loom
from loom import Loom
stages = {"import": sorted(sys.modules)}
Loom("openai", "gpt-emu"), Loom("anthropic", "claude"), Loom("google", "gemini")
stages["construct"] = sorted(sys.modules)
Loom("echo", "echo").generate("offline")
stages["echo call"] = sorted(sys.modules)
Loom("openai", "gpt-emu").generate("online")
stages["openai call"] = sorted(sys.modules)
print(json.dumps(stages))
"""


def sdks_in(modules: list[str]) -> list[str]:
    return [sdk for sdk in SDKS if sdk in modules]


def test_no_sdk_is_imported_before_a_call_needs_it(openai_env):
    env = dict(os.environ, LOOM_PLUGINS="openai,anthropic,google,echo")
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    stages = json.loads(done.stdout)
    assert sdks_in(stages["import"]) == []
    assert sdks_in(stages["construct"]) == []
    assert sdks_in(stages["echo call"]) == []
    assert sdks_in(stages["openai call"]) == ["openai"]  # the probe does see an SDK load


def test_import_time_lists_no_sdk():
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import loom"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "loom" in imported
    assert [sdk for sdk in SDKS + ("google",) if sdk in imported] == []


def test_public_names_resolve():
    assert loom.__doc__ and loom.__all__
    for name in loom.__all__:
        assert hasattr(loom, name), name
    assert issubclass(loom.AuthenticationError, loom.ProviderError)
    assert issubclass(loom.ProviderError, loom.LoomError)
