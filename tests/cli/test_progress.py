"""Progress: a live bar when a person watches a terminal, one summary line otherwise."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from loom_adapters.cli.progress import RunProgress, TokenProgress, progress_for
from loom_core.ports import SilentProgress
from loom_core.model import Completion


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_run_bar_shows_done_total_cache_hits_errors_rate_and_time() -> None:
    stream = _Terminal()
    bar = progress_for(RunProgress, quiet=False, stream=stream)
    bar.start(4)
    bar.advance(Completion(text="a"), cached=True)
    bar.advance(Completion.failure("no"), error=True)
    bar.advance(Completion(text="b"))
    bar.finish()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "Running" in last and "3/4" in last and "cached=1" in last and "errors=1" in last
    assert "/s" in last and "0:00:00" in last


def test_the_token_bar_has_the_seed_format() -> None:
    stream = _Terminal()
    bar = progress_for(TokenProgress, quiet=False, stream=stream)
    bar.start(10)
    bar.advance(tokens=30)
    bar.advance(tokens=50)
    bar.finish()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    # est_total = mean tokens so far (40) x total (10)
    assert last.startswith("Counting tokens ") and "2/10" in last
    assert "est_total≈400" in last and "errors=0" in last and " eta " in last


def test_no_bar_without_a_terminal_or_with_quiet() -> None:
    assert isinstance(progress_for(RunProgress, quiet=False, stream=io.StringIO()), SilentProgress)
    assert isinstance(progress_for(RunProgress, quiet=True, stream=_Terminal()), SilentProgress)


def _run_on_a_terminal(args: list[str], site: Path) -> tuple[int, str]:
    """Run ``loom`` with stdout and stderr on a pseudo-terminal; return code and screen text."""
    main, child = pty.openpty()
    script = Path(sys.executable).with_name("loom")
    env = dict(os.environ, PYTHONPATH=str(site))
    process = subprocess.Popen([str(script), *args], stdout=child, stderr=child,
                               stdin=subprocess.DEVNULL, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_the_bar_and_the_summary(home, tmp_path) -> None:
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": f"p {i}"} for i in range(5)]))
    code, screen = _run_on_a_terminal(
        ["run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo"], tmp_path / "site")
    assert code == 0
    assert "Running" in screen and "5/5" in screen and "Done. 5 rows" in screen
    code, screen = _run_on_a_terminal(
        ["tokens", "-f", "p.json", "-p", "echo", "-m", "echo"], tmp_path / "site")
    assert code == 0 and "Counting tokens" in screen and "Total input tokens: 10" in screen


def test_quiet_silences_the_bar_and_the_summary(home, tmp_path) -> None:
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": f"p {i}"} for i in range(5)]))
    code, screen = _run_on_a_terminal(
        ["run", "--sync", "-q", "-f", "p.json", "-p", "echo", "-m", "echo"], tmp_path / "site")
    assert code == 0 and screen.strip() == ""


def test_without_a_terminal_only_the_summary_line(loom_process) -> None:
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": f"p {i}"} for i in range(5)]))
    result = loom_process("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert result.code == 0 and result.err == ""
    assert result.out.count("\n") == 1 and result.out.startswith("Done. 5 rows")
