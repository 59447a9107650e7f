"""The command surface: help on every command, --version, the man page, loom providers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loom_adapters.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [["run"], ["fetch"], ["list"], ["tokens"], ["cache"], ["cache", "clear"],
            ["providers"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: loom {' '.join(command)}" in out
    assert "example:" in out and "loom " + command[0] in out.split("example:")[1]


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "fetch", "list", "tokens", "cache", "providers"):
        assert f"    {command}" in out


def test_run_help_shows_the_seed_flags_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for flag in ("--file", "-f", "--provider", "-p", "--model", "-m", "--col", "-c",
                 "--api-key", "--output", "-o", "--sync", "--batch", "--workers", "-w",
                 "--no-cache", "--force", "--with-meta"):
        assert flag in out
    assert "(default: 8)" in out


@pytest.mark.parametrize("command", ["run", "tokens"])
def test_file_help_lists_every_format_loom_reads(command, capsys):
    from loom_adapters.codecs import builtin_registry

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    assert "input file: .csv, .json, .jsonl, .ndjson or .parquet, each also gzipped (.gz), " \
           "or a format a plugin adds" in text
    for suffix in builtin_registry().suffixes():  # the very registry that picks a codec
        assert suffix in text


def test_with_meta_help_names_every_column_it_adds(capsys):
    from loom_core.merge import OutputColumns

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    added = OutputColumns(with_meta=True, with_error=False).names()[1:]  # after llm_response
    assert added == ["llm_provider", "llm_model", "llm_finish_reason", "llm_input_tokens",
                     "llm_output_tokens"]
    assert f"--with-meta add the columns (JSON fields) {', '.join(added)}:" in text


def test_parsing_a_command_leaves_help_unbuilt_and_flags_work():
    from loom_adapters.cli.parser import build_parser

    args = build_parser().parse_args(["run", "-f", "d.csv", "-p", "echo", "-m", "m",
                                      "--with-meta"])
    assert (args.file, args.with_meta) == ("d.csv", True)
    assert build_parser().parse_args(["run", "-f", "d.csv", "-p", "e", "-m", "m"]).with_meta is False


def test_fetch_flags(capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    out = capsys.readouterr().out
    for flag in ("--id", "-i", "--all", "--no-all", "-a", "--api-key", "--keep", "-k", "--force"):
        assert flag in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    from importlib.metadata import version

    assert capsys.readouterr().out.strip() == f"loom {version('loom-batch')}"


def test_usage_errors_exit_2_without_traceback(loom_process):
    result = loom_process("run", "--file", "x.json")
    assert result.code == 2
    assert "required" in result.err and "Traceback" not in result.err
    result = loom_process("run", "-f", "x.json", "-p", "echo", "-m", "echo", "--workers", "0")
    assert result.code == 2 and "must be at least 1" in result.err


def test_man_page_is_current(tmp_path):
    fresh = tmp_path / "loom.1"
    subprocess.run(["bash", str(ROOT / "man" / "build.sh"), str(fresh)], check=True,
                   env=_env_with_venv_bin())

    def body(path: Path) -> list[str]:
        # The .TH line carries the build date; everything else must match.
        return [line for line in path.read_text().splitlines() if not line.startswith(".TH ")]

    assert body(fresh) == body(ROOT / "man" / "loom.1"), (
        "man/loom.1 is stale: rebuild it with `bash man/build.sh`"
    )


def _env_with_venv_bin() -> dict[str, str]:
    import os
    import sys

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_providers_lists_installed_plugins_and_their_modes(loom):
    result = loom("providers")
    assert result.code == 0
    lines = {line.split()[0]: line.split() for line in result.out.splitlines()[1:]}
    assert lines["echo"][1:6] == ["✓", "✓", "✓", "none", "loom-echo"]
    # The test plugin is a distribution on sys.path that no Loom file mentions: adding a
    # provider needs no change to loom_core or the CLI.
    assert lines["keyed"][1:6] == ["✗", "✓", "✗", "KEYED_API_KEY", "loom-testprov"]


def test_loom_plugins_pins_what_loads(loom, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "keyed")
    assert "echo" not in loom("providers").out
    monkeypatch.setenv("LOOM_PLUGINS", "")
    assert "No providers installed" in loom("providers").out


def test_a_broken_plugin_warns_and_the_others_still_work(loom, home, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "loom_broken.py").write_text("raise RuntimeError('boom')\n")
    dist = site / "loom_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: loom-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[loom]\nbroken = loom_broken\n")
    monkeypatch.setenv("LOOM_PLUGINS", "echo,broken")
    result = loom("providers")
    assert result.code == 0
    assert "Warning: plugin broken failed to load: boom" in result.err
    assert "echo" in result.out


def _imported_by(*args: str) -> set[str]:
    import os
    import sys

    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    script = Path(sys.executable).with_name("loom")
    done = subprocess.run([str(script), *args], capture_output=True, text=True, env=env,
                          check=True)
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}


SDKS = ("openai", "anthropic", "google.genai", "requests", "httpx2", "aiohttp",
        "dependency_injector")


def test_help_imports_no_provider_sdk():
    imported = _imported_by("--help")
    for heavy in (*SDKS, "pluggy", "attrs", "loom_adapters.codecs", "loom_core.merge"):
        assert heavy not in imported


@pytest.mark.parametrize("command", ["run", "tokens"])
def test_command_help_lists_formats_without_loading_plugins_or_sdks(command):
    imported = _imported_by(command, "--help")
    assert "loom_adapters.codecs" in imported  # the formats come from the codec registry
    for heavy in (*SDKS, "importlib.metadata", "loom_adapters.plugins", "loom_echo",
                  "loom_openai_compatible"):
        assert heavy not in imported
    assert not any(name.startswith("loom_adapters.providers") for name in imported)
