"""Benchmark of a re-run answered entirely from the cache (issue: million-row jobs).

Usage:  python benchmarks/cache_rerun.py [100k] [1m] [--no-released]      (no case: both)

Each case writes a CSV of ``id``, a 55-character ``prompt`` and two more columns, fills a cache
with an answer for every row, and times ``loom run --sync -f data.csv -c prompt -p openai -m
gpt-4o-mini --force`` against the provider emulator (which no row reaches):

  100k  100,000 rows                                       target: at most 2 s (Loom's store)
        1. the released loom-batch 0.7.0 on its own cache (one ``<sha256>.json`` per answer),
           installed into a virtual environment of its own under ~/.cache (never the
           project's: it shares our distribution name)
        2. Loom on that same folder: every answer read from the old files and moved into
           Loom's store (once)
        3. Loom again, now on its own store
  1m    1,000,000 rows, Loom on its own store, filled      target: at most 15 s and 300 MB
        directly with ``put_many`` (the fill time is printed too)

Each run is a child process whose wall time, CPU time and peak memory come from ``os.wait4``;
the emulator runs in a process of its own. The machine may be shared: compare the runs of one
benchmark run with each other, and read the CPU times beside the wall times.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
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
RELEASED = "loom-batch==0.7.0"
RELEASED_VENV = Path.home() / ".cache" / "loom-benchmarks" / "loom-batch-0.7.0"
CREATED_AT = "2026-05-01T12:00:00+00:00"


def prompt(i: int) -> str:
    text = f"Classify the sentiment of customer review #{i:07d} now."
    assert len(text) == 55, text
    return text


def answer(i: int) -> str:
    return f"Review {i} reads as positive."


def write_dataset(path: Path, rows: int) -> None:
    with path.open("w", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(["id", "prompt", "lang", "score"])
        for i in range(rows):
            out.writerow([f"r{i}", prompt(i), "en", i % 5])


def fill_legacy_cache(folder: Path, rows: int) -> None:
    """The released tool's layout, as it writes it: one compact JSON file per answer."""
    from loom_core.cache_key import cache_keyer

    key = cache_keyer("openai", MODEL)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(rows):
        entry = {"provider": "openai", "model": MODEL, "response": answer(i),
                 "created_at": CREATED_AT}
        (folder / f"{key(prompt(i))}.json").write_text(json.dumps(entry, ensure_ascii=False))


def fill_loom_cache(folder: Path, rows: int) -> float:
    """Loom's store, filled in file order as a run or a merge writes it; returns seconds."""
    from loom_adapters.cache import SqliteResponseCache
    from loom_core.cache_key import cache_keyer
    from loom_core.model import CacheEntry

    key = cache_keyer("openai", MODEL)
    cache = SqliteResponseCache(folder)
    started = time.perf_counter()
    for start in range(0, rows, 2048):
        cache.put_many((key(prompt(i)), CacheEntry("openai", MODEL, answer(i), CREATED_AT))
                       for i in range(start, min(start + 2048, rows)))
    return time.perf_counter() - started


def released_loom() -> Path | None:
    """The released tool's ``loom`` script, installed on first use; None when it cannot be."""
    script = RELEASED_VENV / "bin" / "loom"
    if script.exists():
        return script
    print(f"installing {RELEASED} into {RELEASED_VENV} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(RELEASED_VENV)], check=True)
        subprocess.run([str(RELEASED_VENV / "bin" / "pip"), "install", "-q", RELEASED],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"  could not install {RELEASED} ({exc}); its run is left out")
        return None
    return script


def run(command: list[str], env: dict[str, str], folder: Path, rows: int) -> dict:
    result = run_child(command + ["--force"], env, folder)
    if result["code"] != 0:
        raise SystemExit(f"{command[0]} failed ({result['code']}): {result['err'][-2000:]}")
    output = folder / f"data_results_openai_{MODEL}.csv"
    with output.open(newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        at = header.index("llm_response")
        answered = sum(1 for row in reader if row[at])
    result["answered"] = answered
    if answered != rows:
        raise SystemExit(f"{command[0]}: only {answered:,} of {rows:,} rows answered")
    output.unlink()
    return result


def show(name: str, result: dict, emulator: EmulatorProcess, target: str = "") -> None:
    print(f"  {name:<44} wall {result['wall']:6.2f} s, CPU {result['cpu']:6.2f} s, "
          f"peak {result['peak_mb']:5.0f} MB, provider calls "
          f"{emulator.client.calls('openai')}{', ' + target if target else ''}", flush=True)


def loom_command(source: Path) -> list[str]:
    loom = str(Path(sys.executable).with_name("loom"))
    return [loom, "run", "--sync", "-f", str(source), "-c", "prompt", "-p", "openai", "-m", MODEL,
            "--quiet"]


def environment(emulator: EmulatorProcess, home: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ, LOOM_HOME=str(home), LOOM_CACHE_DIR=str(cache),
               OPENAI_API_KEY="sk-bench", LOOM_PLUGINS="openai")
    env.update(emulator.client.env())
    return env


def case_100k(with_released: bool, rows: int = 100_000) -> None:
    print(f"[100k] {rows:,} rows, all cached, run --sync", flush=True)
    released = released_loom() if with_released else None
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        folder = Path(tmp)
        source = folder / "data.csv"
        write_dataset(source, rows)
        cache = folder / "cache"
        started = time.perf_counter()
        fill_legacy_cache(cache, rows)
        print(f"  (filled the released tool's layout: {rows:,} files in "
              f"{time.perf_counter() - started:.1f} s)", flush=True)
        env = environment(emu, folder / "home", cache)
        if released is not None:
            command = [str(released), "run", "--sync", "-f", str(source), "-c", "prompt",
                       "-p", "openai", "-m", MODEL]
            show("loom-batch 0.7.0, its <sha256>.json files", run(command, env, folder, rows),
                 emu)
        show("Loom on those files (moves them into its store)",
             run(loom_command(source), env, folder, rows), emu)
        left = sum(1 for name in os.listdir(cache) if name.endswith(".json"))
        show("Loom on its own store", run(loom_command(source), env, folder, rows), emu,
             f"target at most 2 s; old files left: {left:,}")


def case_1m(rows: int = 1_000_000) -> None:
    print(f"[1m] {rows:,} rows, all cached, run --sync", flush=True)
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        folder = Path(tmp)
        source = folder / "data.csv"
        write_dataset(source, rows)
        cache = folder / "cache"
        seconds = fill_loom_cache(cache, rows)
        size = sum(f.stat().st_size for f in cache.iterdir()) / 1e6
        print(f"  (filled Loom's store with put_many: {rows:,} entries in {seconds:.1f} s, "
              f"{size:.0f} MB)", flush=True)
        env = environment(emu, folder / "home", cache)
        show("Loom on its own store", run(loom_command(source), env, folder, rows), emu,
             "target at most 15 s and 300 MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help="100k, 1m (default: both)")
    parser.add_argument("--no-released", action="store_true",
                        help="leave out the released tool (no install)")
    args = parser.parse_args()
    unknown = set(args.cases) - {"100k", "1m"}
    if unknown:
        parser.error(f"unknown case {', '.join(sorted(unknown))}: choose 100k or 1m")
    for case in args.cases or ["100k", "1m"]:
        if case == "100k":
            case_100k(not args.no_released)
        else:
            case_1m()


if __name__ == "__main__":
    main()
