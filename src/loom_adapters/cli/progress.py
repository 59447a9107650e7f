"""Live progress bars on a terminal (the ``Progress`` port); silence elsewhere.

A bar is drawn only when stderr is a terminal and ``--quiet`` is not given; redraws are
throttled so a run of 100,000 cached rows is not slowed by its own bar.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from loom_core.model import Completion
from loom_core.ports import SilentProgress

__all__ = ["RunProgress", "TokenProgress", "progress_for"]

_BAR_WIDTH = 12
_REDRAW_SECONDS = 0.1


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _Bar:
    """Counting and drawing shared by the run and token bars."""

    label = ""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.errors = 0
        self.started = 0.0
        self._drawn = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self._draw(force=True)

    def finish(self) -> None:
        self._draw(force=True)
        self.stream.write("\n")
        self.stream.flush()

    def _count(self, error: bool) -> None:
        self.done += 1
        self.errors += int(error)
        self._draw()

    def _details(self) -> str:
        raise NotImplementedError

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < _REDRAW_SECONDS:
            return
        self._drawn = now
        elapsed = now - self.started
        filled = _BAR_WIDTH * self.done // self.total if self.total else _BAR_WIDTH
        bar = "█" * filled + "░" * (_BAR_WIDTH - filled)
        eta = ""
        if self.done and self.done < self.total:
            eta = f" eta {_clock(elapsed / self.done * (self.total - self.done))}"
        self.stream.write(
            f"\r{self.label} {bar} {self.done}/{self.total} {self._details()} "
            f"{_clock(elapsed)}{eta}\x1b[K"
        )
        self.stream.flush()


class RunProgress(_Bar):
    """``loom run --sync``: done/total, cache hits, errors, rate, elapsed and eta."""

    label = "Running"

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.cached = 0

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        self.cached += int(cached)
        self._count(error)

    def _details(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return f"cached={self.cached} errors={self.errors} {self.done / elapsed:,.1f}/s"


class TokenProgress(_Bar):
    """``loom tokens``, in the seed's format: done/total, est_total, errors, elapsed, eta."""

    label = "Counting tokens"

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.tokens = 0
        self.counted = 0

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        if tokens is not None:
            self.tokens += tokens
            self.counted += 1
        self._count(error)

    def _details(self) -> str:
        estimate = round(self.tokens / self.counted * self.total) if self.counted else 0
        return f"est_total≈{estimate:,} errors={self.errors}"


def progress_for(kind: type[_Bar], quiet: bool, stream: TextIO | None = None):
    """A live bar when a person is watching stderr, else ``SilentProgress``."""
    stream = stream or sys.stderr
    if quiet or not stream.isatty():
        return SilentProgress()
    return kind(stream)
