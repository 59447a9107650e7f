"""``loom providers``: the installed providers and what each supports."""

from __future__ import annotations

import argparse

from ._common import open_container

_MODES = ("batch", "sync", "tokens")


def handle(args: argparse.Namespace) -> int:
    container = open_container()
    registry = container.provider_registry()
    origins = container.plugins().provider_origins()
    if not len(registry):
        print("No providers installed. Install a plugin, e.g. pip install -e plugins/loom-echo")
        return 0
    rows = [("PROVIDER", "BATCH", "SYNC", "TOKENS", "KEY", "PLUGIN")]
    for spec in registry:
        marks = tuple("✓" if mode in spec.modes else "✗" for mode in _MODES)
        rows.append((spec.name, *marks, spec.key_env_var or "none",
                     origins.get(spec.name, "?")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
