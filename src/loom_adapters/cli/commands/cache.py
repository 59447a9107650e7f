"""``loom cache clear``: delete every cached response, after asking."""

from __future__ import annotations

import argparse

from loom_core.errors import UsageError

from ..guard import ask_yes_no
from ._common import open_app


def handle(args: argparse.Namespace) -> int:
    app = open_app()
    folder = app.paths.cache
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
