"""Run the emulator as its own process: `python -m tests.emulator --port 0`.

Prints one line `EMULATOR_URL=http://127.0.0.1:PORT` once it listens, then serves
until SIGTERM or SIGINT. Benchmarks use this so the emulator has its own GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import serve_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="latency of every provider call (kept across resets)")
    args = parser.parse_args(argv)

    def ready(url: str) -> None:
        print(f"EMULATOR_URL={url}", flush=True)

    async def run() -> None:
        task = asyncio.ensure_future(serve_forever(args.host, args.port, args.seed,
                                                   args.latency_ms, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
