"""The shape of the code: dependencies point inward, and the core stays pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_core_modules_each_say_their_place():
    for module in (ROOT / "src" / "loom_core").rglob("*.py"):
        text = module.read_text()
        if module.name == "__init__.py" and not text.strip():
            continue
        assert text.lstrip().startswith('"""'), f"{module} has no module docstring"
