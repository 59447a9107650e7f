"""Shared fixtures: the ``loom`` command in-process or as a process, isolated from the real
home, and the provider emulator (``emulator``, from tests/emulator/fixture.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from loom_adapters.cli.main import main
from tests.emulator.fixture import emulator, emulator_server  # noqa: F401

HERE = Path(__file__).parent
PROVIDER_KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY",
                     "OPENROUTER_API_KEY", "KEYED_API_KEY", "GEMINI_API_KEY")


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


def install_test_plugin(site: Path) -> None:
    """Install ``testprov`` as a distribution with a ``loom`` entry point in ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "testprov.py", site / "loom_testprov.py")
    dist = site / "loom_testprov-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: loom-testprov\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[loom]\nkeyed = loom_testprov\n")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An isolated working directory and LOOM_HOME, with only echo and the test plugin."""
    work = tmp_path / "work"
    work.mkdir()
    loom_home = tmp_path / "loom-home"
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("LOOM_HOME", str(loom_home))
    monkeypatch.delenv("LOOM_CACHE_DIR", raising=False)
    monkeypatch.setenv("LOOM_PLUGINS", "echo,keyed")
    for name in PROVIDER_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site"
    install_test_plugin(site)
    monkeypatch.syspath_prepend(str(site))
    return loom_home


@pytest.fixture
def loom(home, capsys):
    """Run ``loom ARGS...`` in-process; returns its exit code and what it printed."""

    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def loom_process(home, tmp_path):
    """Run the installed ``loom`` console script in a subprocess (real exit codes, stderr), in
    the test's working directory or ``cwd``."""
    site = tmp_path / "site"
    script = Path(sys.executable).with_name("loom")

    def run(*args: str, env_extra: dict[str, str] | None = None,
            cwd: Path | None = None) -> Result:
        import os

        env = dict(os.environ, PYTHONPATH=str(site), **(env_extra or {}))
        done = subprocess.run([str(script), *args], capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60, cwd=cwd)
        return Result(done.returncode, done.stdout, done.stderr)

    return run
