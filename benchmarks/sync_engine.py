"""Benchmarks of ``loom run --sync`` against the provider emulator (issue: sync engine at scale).

Usage:  python benchmarks/sync_engine.py [a] [b] [c] [d] [e]      (no argument: all five)

  a  5,000 prompts, 200 ms latency, --workers 64          ideal 15.6 s, target within 10 %;
     next to the leanest loop of the SDK alone making the same calls (the floor here)
  b  the same with --workers 512, next to a bare loop of the openai SDK's async client doing
     the same 5,000 calls at the same concurrency           target: Loom within 15 % of it;
     and next to the leanest loop of the SDK alone, as in a
  c  100 requests/s rate limit, 2,000 prompts, --workers 64 ideal 20 s, target: no failed row,
     within 20 %
  d  100,000 rows, all cached                               target under 10 s and 300 MB
  e  20 % of calls answered 500 or 429                      no failed row; calls the emulator saw

Each run starts the emulator in its own process (so it does not compete with Loom for the
GIL), runs the installed ``loom`` console script as a child process, and reads the child's
wall time, CPU time and peak memory from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.emulator.process import EmulatorProcess  # noqa: E402

MODEL = "gpt-4o-mini"


def write_prompts(folder: Path, count: int, prefix: str = "prompt") -> Path:
    path = folder / "prompts.json"
    path.write_text(json.dumps([{"id": i, "prompt": f"{prefix} {i}"} for i in range(count)]))
    return path


def run_child(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float | int | str]:
    """Run a command; return its wall time, CPU seconds, peak RSS (MB), exit code and output."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = "", ""
    # communicate() would reap the child itself; read the pipes, then reap with wait4.
    out = child.stdout.read()
    err = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "code": child.returncode, "out": out, "err": err}


def loom_env(emulator: EmulatorProcess, home: Path) -> dict[str, str]:
    env = dict(os.environ, LOOM_HOME=str(home), OPENAI_API_KEY="sk-bench", LOOM_PLUGINS="openai")
    env.update(emulator.client.env())
    return env


def run_loom(emulator: EmulatorProcess, folder: Path, source: Path, workers: int) -> dict:
    loom = str(Path(sys.executable).with_name("loom"))
    result = run_child([loom, "run", "--sync", "-f", str(source), "-p", "openai", "-m", MODEL,
                        "-w", str(workers), "--force", "--quiet"],
                       loom_env(emulator, folder / "home"), folder)
    if result["code"] not in (0, 1):
        raise SystemExit(f"loom failed ({result['code']}): {result['err']}")
    output = json.loads((folder / f"prompts_results_openai_{MODEL}.json").read_text())
    result["failed_rows"] = sum(1 for row in output if row.get("llm_error"))
    return result


def report(name: str, result: dict, **extra: object) -> None:
    figures = ", ".join(f"{k}={v}" for k, v in extra.items())
    print(f"[{name}] wall {result['wall']:.2f} s, client CPU {result['cpu']:.2f} s, "
          f"peak {result['peak_mb']:.0f} MB, failed rows {result.get('failed_rows', '-')}"
          + (f", {figures}" if figures else ""))
    summary = result["out"].strip().splitlines()
    if summary:
        print(f"      loom: {summary[-1]}")


def scenario_latency(name: str, workers: int, count: int = 5000, latency_ms: int = 200) -> dict:
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(latency_ms=latency_ms) as emu:
        folder = Path(tmp)
        result = run_loom(emu, folder, write_prompts(folder, count), workers)
        ideal = count / workers * latency_ms / 1000
        report(name, result, ideal=f"{ideal:.1f} s",
               over_ideal=f"{(result['wall'] / ideal - 1) * 100:+.1f} %",
               cpu_per_1000=f"{result['cpu'] / count * 1000:.2f} s",
               emulator_calls=emu.client.calls("openai", "chat"),
               max_in_flight=emu.client.max_in_flight("openai"))
        return result


async def _bare_loop(base_url: str, count: int, concurrency: int, lean: bool = False) -> None:
    """The SDK's async client alone: ``chat.completions.create`` on the SDK's default transport,
    or (lean) ``post()`` of a ready body on its aiohttp transport, as Loom sends it."""
    import httpx2
    import openai

    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = openai.DefaultAioHttpClient if lean else openai.DefaultAsyncHttpxClient
    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0,
                                http_client=transport(limits=limits))
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        messages = [{"role": "user", "content": f"prompt {i}"}]
        async with semaphore:
            if lean:
                await client.post("/chat/completions", body={"model": MODEL, "messages": messages},
                                  cast_to=object)
            else:
                await client.chat.completions.create(model=MODEL, messages=messages)

    await asyncio.gather(*(one(i) for i in range(count)))
    await client.close()


def bare(emulator: EmulatorProcess, count: int, concurrency: int, lean: bool) -> dict:
    result = run_child([sys.executable, __file__, "bare-loop", emulator.client.env()["OPENAI_BASE_URL"],
                        str(count), str(concurrency), "lean" if lean else "sdk"],
                       dict(os.environ), REPO)
    if result["code"] != 0:
        raise SystemExit(f"bare loop failed: {result['err']}")
    return result


def scenario_a() -> None:
    scenario_latency("a", 64)
    with EmulatorProcess(latency_ms=200) as emu:
        lean = bare(emu, 5000, 64, lean=True)
    print(f"[a] the leanest SDK loop (post() on the aiohttp transport, as Loom), same calls: wall "
          f"{lean['wall']:.2f} s, client CPU {lean['cpu']:.2f} s: the floor on this machine")


def scenario_b() -> None:
    loom = scenario_latency("b", 512)
    with EmulatorProcess(latency_ms=200) as emu:
        plain = bare(emu, 5000, 512, lean=False)
    with EmulatorProcess(latency_ms=200) as emu:
        lean = bare(emu, 5000, 512, lean=True)
    print(f"[b] bare SDK loop: wall {plain['wall']:.2f} s, client CPU {plain['cpu']:.2f} s "
          f"({plain['cpu'] / 5:.2f} s per 1,000 requests)")
    print(f"[b] Loom / bare loop: {(loom['wall'] / plain['wall'] - 1) * 100:+.1f} % wall time")
    print(f"[b] the leanest SDK loop (post() on the aiohttp transport, as Loom): wall "
          f"{lean['wall']:.2f} s, client CPU {lean['cpu']:.2f} s ({lean['cpu'] / 5:.2f} s per "
          f"1,000 requests); Loom / leanest: {(loom['wall'] / lean['wall'] - 1) * 100:+.1f} %")


def scenario_c() -> None:
    count, rps = 2000, 100
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(latency_ms=200) as emu:
        emu.client.set_rate_limit(rps, provider="openai")
        folder = Path(tmp)
        result = run_loom(emu, folder, write_prompts(folder, count), 64)
        ideal = count / rps
        stats = emu.client.stats()
        report("c", result, ideal=f"{ideal:.1f} s",
               over_ideal=f"{(result['wall'] / ideal - 1) * 100:+.1f} %",
               emulator_calls=emu.client.calls("openai", "chat"),
               answered_429=_count_status(stats, 429))


def _count_status(stats: dict, status: int) -> int:
    counts = stats.get("statuses", {})
    return sum(v for k, v in counts.items() if str(k).endswith(str(status)))


def scenario_d(count: int = 100_000) -> None:
    from loom_core.cache_key import cache_key

    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        folder = Path(tmp)
        source = write_prompts(folder, count)
        cache = folder / "home" / "cache"
        cache.mkdir(parents=True)
        for i in range(count):
            entry = {"provider": "openai", "model": MODEL, "response": f"cached answer {i}",
                     "created_at": "2026-05-01T12:00:00+00:00"}
            (cache / f"{cache_key('openai', MODEL, f'prompt {i}')}.json").write_text(
                json.dumps(entry))
        result = run_loom(emu, folder, source, 8)
        report("d", result, rows=f"{count:,}", emulator_calls=emu.client.calls("openai"),
               target="under 10 s and 300 MB")


def scenario_e(count: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(latency_ms=50) as emu:
        emu.client.add_fault(provider="openai", endpoint="chat", status=500, rate=0.1)
        emu.client.add_fault(provider="openai", endpoint="chat", status=429, rate=0.1,
                             retry_after=1)
        folder = Path(tmp)
        result = run_loom(emu, folder, write_prompts(folder, count), 64)
        report("e", result, prompts=count, emulator_calls=emu.client.calls("openai", "chat"))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "bare-loop":
        asyncio.run(_bare_loop(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                               lean=sys.argv[5] == "lean"))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list("abcde"))
    args = parser.parse_args()
    scenarios = {"a": scenario_a, "b": scenario_b, "c": scenario_c,
                 "d": scenario_d, "e": scenario_e}
    for name in args.scenarios:
        scenarios[name]()


if __name__ == "__main__":
    main()
