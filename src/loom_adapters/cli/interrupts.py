"""Ctrl-C and SIGTERM during a run: the first stops sending, the second abandons calls in flight.

Installed before the event loop starts, so asyncio's own Ctrl-C handling (which would cancel
everything at once and lose answers already paid for) never takes over.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from loom_core.calls import StopToken

__all__ = ["stop_on_signals"]

_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


@contextmanager
def stop_on_signals(stop: StopToken) -> Iterator[StopToken]:
    def handle(signum: int, frame: object) -> None:
        stop.request()
        if stop.requests == 1:
            print("\nStopping: no new requests; waiting for those in flight so their answers "
                  "are kept (press Ctrl-C again to abandon them).", file=sys.stderr)

    previous = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
