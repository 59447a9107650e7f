"""``loom list``: every batch Loom remembers, as a table."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import StateError

from ..reports import shown_path
from ._common import open_app

_COLUMNS = ("BATCH ID", "PROVIDER", "MODEL", "STATUS", "CREATED", "SOURCE")


def handle(args: argparse.Namespace) -> int:
    entries = open_app().list_jobs()
    rows = []
    for entry in entries:
        if isinstance(entry, StateError):
            continue
        single = len(entry.parts) == 1
        rows.append((entry.batch_id if single else entry.job_id, entry.provider, entry.model,
                     entry.status.value, entry.created_at, shown_path(entry.original_file_path)))
        if not single:
            # The parts of a job sent as several provider batches, under it.
            rows.extend((f"  {part.batch_id or '(not sent yet)'}", "", "",
                         part.status.value, f"part {part.index + 1}/{len(entry.parts)}",
                         f"{part.size:,} rows") for part in entry.parts)
    for entry in entries:
        if isinstance(entry, StateError):
            print(f"Unreadable: {entry}", file=sys.stderr)
    if not rows:
        print("No batches. Submit one with loom run.")
        return 0
    widths = [max(len(str(row[i])) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    for row in [_COLUMNS, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
