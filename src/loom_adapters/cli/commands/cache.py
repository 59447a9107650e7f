"""``loom cache clear|stats|prune``: look at the response cache, or delete some or all of it."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from loom_core.errors import UsageError
from loom_core.model import CacheStats

from ..guard import ask_yes_no
from ._common import open_app


def handle(args: argparse.Namespace) -> int:
    app = open_app()
    folder = app.paths.cache
    if args.cache_command == "stats":
        print(describe(app.cache_stats(), str(folder)))
        return 0
    if args.cache_command == "prune":
        removed = app.prune_cache(args.older_than, datetime.now(timezone.utc))
        print(f"Deleted {removed:,} cached responses older than {args.older_than:g} days "
              f"from {folder}.")
        return 0
    if not args.yes:
        answer = ask_yes_no(f"Delete every cached response under {folder}?")
        if answer is None:
            raise UsageError("Refusing to clear the cache without confirmation; pass --yes.")
        if not answer:
            print("Nothing deleted.")
            return 0
    removed = app.clear_cache()
    print(f"Deleted {removed:,} cached responses from {folder}.")
    return 0


def describe(stats: CacheStats, folder: str) -> str:
    lines = [f"{stats.entries:,} cached responses in {folder}, "
             f"{_size(stats.bytes_on_disk)} on disk."]
    if stats.by_model:
        width = max(len(f"{provider}  {model}") for provider, model in stats.by_model)
        for (provider, model), count in stats.by_model.items():
            lines.append(f"  {f'{provider}  {model}':<{width}}  {count:>12,}")
    if stats.legacy_files:
        lines.append(f"  {stats.legacy_files:,} of them are files of the released loom-batch "
                     f"(one per response; provider and model not read). Each moves into "
                     f"cache.sqlite3 the first time it is used.")
    return "\n".join(lines)


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} TB"
