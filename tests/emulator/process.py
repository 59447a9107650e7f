"""Start the emulator as a child process (for benchmarks) and stop it again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from .client import EmulatorClient

REPO = Path(__file__).resolve().parents[2]


class EmulatorProcess:
    """`with EmulatorProcess(latency_ms=200) as emu: emu.client.env() ...`"""

    def __init__(self, latency_ms: float = 0.0, seed: int = 0, python: Optional[str] = None):
        self.args = [python or sys.executable, "-m", "tests.emulator", "--port", "0",
                     "--seed", str(seed), "--latency-ms", str(latency_ms)]
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self) -> "EmulatorProcess":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = subprocess.Popen(self.args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("EMULATOR_URL="):
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line.split("=", 1)[1]
        return self

    @property
    def client(self) -> EmulatorClient:
        return EmulatorClient(self.url)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None

    def __enter__(self) -> "EmulatorProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
