"""Benchmark of batch mode at scale against the emulator (issue: batch engine at scale).

Usage:  python benchmarks/batch_engine.py [--rows 200000] [--prompt-chars 450]

Writes a CSV of about 100 MB (200,000 rows), then through the openai provider:
  1. ``loom run``   submit: the job is split into parts of at most 50,000 requests
  2. ``loom fetch`` twice: the parts are still validating at the first look; the second
     downloads every part, merges all rows into the output and fills the cache
and prints, for each step, the wall time and the peak memory of the ``loom`` process
(targets: under 250 MB for each step, and submit under 30 s).

The emulator runs in its own process; ``loom`` runs as a child process whose peak resident
memory comes from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from sync_engine import run_child  # noqa: E402
from tests.emulator.process import EmulatorProcess  # noqa: E402

MODEL = "gpt-4o-mini"
WORDS = ("loom weaves every answer back into the row it came from while the provider "
         "works through the batch at half the price").split()


def write_dataset(path: Path, rows: int, prompt_chars: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text", "category"])
        for index in range(rows):
            words: list[str] = []
            while sum(len(w) + 1 for w in words) < prompt_chars:
                words.append(rng.choice(WORDS))
            writer.writerow([index, f"Summarise item {index}: " + " ".join(words),
                             rng.choice(["a", "b", "c"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--prompt-chars", type=int, default=450)
    args = parser.parse_args()
    loom = str(Path(sys.executable).with_name("loom"))
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        folder = Path(tmp)
        source = folder / "data.csv"
        started = time.perf_counter()
        write_dataset(source, args.rows, args.prompt_chars)
        print(f"dataset: {args.rows:,} rows, {source.stat().st_size / 1e6:,.1f} MB "
              f"(written in {time.perf_counter() - started:.1f} s)")
        env = dict(os.environ, LOOM_HOME=str(folder / "home"), OPENAI_API_KEY="sk-bench",
                   LOOM_PLUGINS="openai", **emu.client.env())

        submit = run_child([loom, "run", "-f", str(source), "-c", "text", "-p", "openai",
                            "-m", MODEL], env, folder)
        if submit["code"] != 0:
            raise SystemExit(f"submit failed: {submit['err']}")
        print(f"submit: wall {submit['wall']:.1f} s, peak {submit['peak_mb']:.0f} MB "
              f"(targets: under 30 s, under 250 MB)")
        print("        " + "\n        ".join(submit["out"].strip().splitlines()))

        # The emulator's default lifecycle: the first look finds the parts validating (as the
        # real API would, right after submitting), the second finds them completed.
        first = run_child([loom, "fetch"], env, folder)
        print(f"first fetch (parts still validating): wall {first['wall']:.1f} s, "
              f"peak {first['peak_mb']:.0f} MB")
        fetch = run_child([loom, "fetch"], env, folder)
        if fetch["code"] != 0:
            raise SystemExit(f"fetch failed: {fetch['err']}")
        output = folder / f"data_results_openai_{MODEL}.csv"
        with output.open(newline="", encoding="utf-8") as merged:
            rows = sum(1 for _ in csv.reader(merged)) - 1
        print(f"fetch and merge: wall {fetch['wall']:.1f} s, peak {fetch['peak_mb']:.0f} MB "
              f"(target: under 250 MB); {rows:,} rows in the output")
        print("        " + "\n        ".join(fetch["out"].strip().splitlines()))
        cached = len(list((folder / "home" / "cache").glob("*.json")))
        print(f"cache entries after fetch: {cached:,}")


if __name__ == "__main__":
    main()
