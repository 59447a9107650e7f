"""``loom providers``: the installed providers and what each supports."""

from __future__ import annotations

import argparse

from ._common import open_app

_MODES = ("batch", "sync", "tokens")


def handle(args: argparse.Namespace) -> int:
    installed = open_app().providers()
    if not installed:
        print("No providers installed. Install a plugin, e.g. pip install -e plugins/loom-echo")
        return 0
    rows = [("PROVIDER", "BATCH", "SYNC", "TOKENS", "KEY", "PLUGIN")]
    for spec, origin in installed:
        marks = tuple("✓" if mode in spec.modes else "✗" for mode in _MODES)
        key = spec.key_env_var or "none"
        if spec.key_env_var and not spec.key_required:
            key += " (optional)"
        rows.append((spec.name, *marks, key, origin))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
