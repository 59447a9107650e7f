"""The released tool's cache layout, read-only: one ``<sha256>.json`` file per answer.

loom-batch 0.7.0 (and Loom before its SQLite store) kept each cached answer in its own file in
the cache folder. ``SqliteResponseCache`` still finds them: on a miss in its database it reads
the file, and an entry that hits moves into the database (the file is removed once the entry is
committed there), so an old cache keeps hitting with no step for the user and costs its
file-per-answer price once. Nothing here writes such a file.

Whether the folder holds any is asked once per process, by listing it until the first such
name: an open per miss would cost a million failed opens on a million-row run over a cache that
has none. While old files remain, a miss costs a failed open (8 µs against 0.7 µs, measured on
100,000 misses), on rows whose answer costs a provider call anyway.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from loom_core.errors import StateError
from loom_core.model import CacheEntry
from loom_core.serialization import cache_entry_from_dict

from ..atomic import TEMP_SUFFIX

__all__ = ["LegacyFiles", "disk_bytes"]

_NAME = re.compile(r"[0-9a-fA-F]{64}\.json")


def disk_bytes(stat: os.stat_result) -> int:
    """What a file takes on disk: its allocated blocks where the system says, else its length."""
    blocks = getattr(stat, "st_blocks", None)
    return blocks * 512 if blocks is not None else stat.st_size


class LegacyFiles:
    """The ``<sha256>.json`` entries in one folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._present: bool | None = None

    def present(self) -> bool:
        """Whether the folder held any entry file when first asked (in this process)."""
        if self._present is None:
            self._present = next(self._scan(), None) is not None
        return self._present

    def read(self, key: str) -> CacheEntry | None:
        """The entry in ``<key>.json``; a missing, unreadable or malformed file is a miss."""
        try:
            with open(self._path(key), "rb") as stream:
                return cache_entry_from_dict(json.loads(stream.read()))
        except (OSError, ValueError, RecursionError, StateError):
            # Missing (the common miss), unreadable, half-written by some other tool, not
            # JSON, not UTF-8, or the wrong shape: all just mean "ask the provider again".
            return None

    def remove(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except OSError:
            pass  # already gone (another process moved it too), or not ours to remove

    def count_and_bytes(self) -> tuple[int, int]:
        count = size = 0
        for entry in self._scan():
            try:
                size += disk_bytes(entry.stat(follow_symlinks=False))
            except OSError:
                continue
            count += 1
        return count, size

    def prune(self, before: float) -> int:
        """Remove the files last written before ``before`` (a POSIX time); return how many."""
        removed = 0
        for entry in self._scan():
            try:
                if entry.stat(follow_symlinks=False).st_mtime < before:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue  # removed concurrently: not ours to count
        return removed

    def clear(self) -> int:
        """Remove every entry file (and temporary files the old writer left); return how many
        entries."""
        removed = 0
        try:
            listing = list(os.scandir(self.directory))
        except OSError:
            return 0
        for entry in listing:
            is_entry = _NAME.fullmatch(entry.name) is not None
            is_temp = entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)
            if not (is_entry or is_temp) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed += is_entry
        self._present = False
        return removed

    def _path(self, key: str) -> Path:
        # hexdigest() is lowercase; folding keeps one file per key on any filesystem.
        return self.directory / f"{key.lower()}.json"

    def _scan(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.directory) as listing:
                for entry in listing:
                    if _NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                        yield entry
        except OSError:
            return
