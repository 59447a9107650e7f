"""The shape of the code: dependencies point inward, and the core stays pure."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_core_modules_each_say_their_place():
    for module in (ROOT / "src" / "loom_core").rglob("*.py"):
        text = module.read_text()
        if module.name == "__init__.py" and not text.strip():
            continue
        assert text.lstrip().startswith('"""'), f"{module} has no module docstring"


def _messages(module: Path) -> list[tuple[int, str]]:
    """Every string literal of a module that is not a docstring: what it can say to a user."""
    tree = ast.parse(module.read_text())
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_core_message_names_a_command_line_flag():
    # The core says what happened; each face names its own flags or arguments (errors.Option).
    flagged = [f"{module.relative_to(ROOT)}:{line}: {text!r}"
               for module in (ROOT / "src" / "loom_core").rglob("*.py")
               for line, text in _messages(module) if re.search(r"--[a-z]", text)]
    assert flagged == []


def _loom_imports(module: Path) -> list[str]:
    """The Loom modules a source file imports (``loom``, ``loom_core``, ``loom_adapters``...)."""
    names = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name.split(".")[0] in ("loom", "loom_core", "loom_adapters")]


def test_example_plugins_import_nothing_of_loom_but_its_plugin_api():
    modules = list((ROOT / "plugins").glob("*/src/**/*.py")) + list(
        (ROOT / "plugins").glob("*/tests/*.py"))
    assert len(modules) > 6
    stray = {f"{module.relative_to(ROOT)}: {name}" for module in modules
             for name in _loom_imports(module) if name != "loom.plugin"}
    assert stray == set()


def test_the_plugin_api_is_pinned():
    import loom.plugin

    assert loom.plugin.__all__ == [
        "AuthenticationError", "BatchFinder", "BatchIdRepair", "BatchLimits", "BatchProvider",
        "BatchRequest", "BatchStatus", "ChatDialect", "CodecSpec", "Completion", "FileCodec",
        "GenerationSettings", "InputError", "LoomError", "MissingSettingError", "OpenAIBatch",
        "OpenAISync", "Option", "PermanentError", "PromptTemplate", "ProviderConfig",
        "ProviderError", "ProviderSpec", "QuotaExhaustedError", "RateLimitedError", "Record",
        "Remedy", "RowKey", "RowValues", "SyncProvider", "TokenCounter", "TransientError",
        "UnsupportedError", "UsageError", "hookimpl", "openai_async_client",
        "openai_sync_client",
    ]
    for name in loom.plugin.__all__:
        assert getattr(loom.plugin, name) is not None


def test_importing_the_plugin_api_loads_no_sdk():
    code = ("import sys, loom.plugin\n"
            "assert not {'openai', 'anthropic', 'google.genai'} & set(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
