"""How long ``loom --help`` takes, next to a bare ``python -c pass``.

Usage: python benchmarks/startup.py [--runs N]
Prints the median wall time of each over N runs (default 10) and the modules ``loom --help``
imported that a provider command would need (there should be none).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("openai", "anthropic", "google.genai", "requests", "httpx", "httpx2", "aiohttp",
         "dependency_injector", "pluggy", "cattrs")


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(command: list[str]) -> list[str]:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return sorted(name for name in imported if name in HEAVY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    loom = Path(sys.executable).with_name("loom")
    if not loom.exists():
        sys.exit(f"{loom} not found: install Loom into this interpreter's environment first")
    python_pass = median_seconds([sys.executable, "-c", "pass"], args.runs)
    loom_help = median_seconds([str(loom), "--help"], args.runs)
    print(f"python -c pass : {python_pass * 1000:7.1f} ms (median of {args.runs})")
    print(f"loom --help    : {loom_help * 1000:7.1f} ms (median of {args.runs})")
    print(f"difference     : {(loom_help - python_pass) * 1000:7.1f} ms")
    print(f"heavy modules imported by loom --help: {', '.join(heavy_imports([str(loom), '--help'])) or 'none'}")


if __name__ == "__main__":
    main()
