"""Ctrl-C during ``loom run --sync``: answers in flight are kept, nothing half-written, and a
re-run pays only for the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import cached_entries


def start(site: Path, env_extra: dict[str, str]) -> subprocess.Popen:
    script = Path(sys.executable).with_name("loom")
    env = dict(os.environ, PYTHONPATH=str(site), **env_extra)
    return subprocess.Popen(
        [str(script), "run", "--sync", "-f", "p.json", "-p", "keyed", "-m", "slow", "-w", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL)


def test_first_signal_keeps_answers_in_flight_and_a_rerun_pays_only_the_rest(home, tmp_path):
    prompts = [f"prompt {i}" for i in range(30)]
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": p} for i, p in enumerate(prompts)]))
    log = tmp_path / "calls.log"
    env = {"KEYED_API_KEY": "k", "KEYED_CALL_LOG": str(log)}

    process = start(tmp_path / "site", env)
    deadline = time.monotonic() + 20
    while (not log.exists() or len(log.read_text().splitlines()) < 4) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert not Path("p_results_keyed_slow.json").exists()
    first_calls = log.read_text().splitlines()
    assert 4 <= len(first_calls) < 30
    cached = len(cached_entries(home / "cache"))
    # Every call that was sent finished and was cached: nothing paid for was lost.
    assert cached == len(first_calls)
    assert f"Interrupted: {cached} new answers are cached" in err

    process = start(tmp_path / "site", env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"cache hits={cached}, provider calls={30 - cached}" in out
    assert sorted(log.read_text().splitlines()) == sorted(prompts)  # each row paid once
    rows = json.loads(Path("p_results_keyed_slow.json").read_text())
    assert [r["llm_response"] for r in rows] == [f"{p} (keyed)" for p in prompts]


def test_second_signal_abandons_calls_in_flight(home, tmp_path):
    Path("p.json").write_text(json.dumps([{"id": i, "prompt": f"p{i}"} for i in range(30)]))
    log = tmp_path / "calls.log"
    process = start(tmp_path / "site", {"KEYED_API_KEY": "k", "KEYED_CALL_LOG": str(log)})
    deadline = time.monotonic() + 20
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in err
    assert not Path("p_results_keyed_slow.json").exists()
