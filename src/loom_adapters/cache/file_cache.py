"""The response cache: one JSON file per answer, ``<cache_dir>/<sha256>.json`` (``ResponseCache``).

Keys come from ``loom_core.cache_key.cache_key`` and bodies from
``loom_core.serialization.cache_entry_to_dict``, both as the released loom-batch wrote them, so
its cached answers keep hitting (docs/compatibility.md). A cache is an optimisation, never a
source of failure: a missing, unreadable or corrupt entry is a miss. ``get`` is one open, one
read and one ``json.loads``, with no directory listing, because a re-run of 100,000 cached rows
must take seconds.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path

from loom_core.errors import StateError
from loom_core.model import CacheEntry
from loom_core.serialization import cache_entry_from_dict, cache_entry_to_dict

from ..atomic import TEMP_SUFFIX

__all__ = ["FileResponseCache"]

_KEY = re.compile(r"[0-9a-fA-F]{64}")
_SUFFIX = ".json"


class FileResponseCache:
    """Cached answers in one directory, created when the first answer is stored."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._directory_made = False
        self._temps = itertools.count()

    def path_for(self, key: str) -> Path:
        """The entry's file. Only a sha256 hex digest is a key, so a key can never be a path."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"cache key must be 64 hex characters (a sha256 digest), got {key!r}")
        # hexdigest() is lowercase; folding keeps one file per key on any filesystem.
        return self.directory / (key.lower() + _SUFFIX)

    def get(self, key: str) -> CacheEntry | None:
        path = self.path_for(key)
        try:
            with open(path, "rb") as stream:
                data = json.loads(stream.read())
            return cache_entry_from_dict(data)
        except (OSError, ValueError, RecursionError, StateError):
            # Missing (the common miss), unreadable, half-written by some other tool, not
            # JSON, not UTF-8, or the wrong shape: all just mean "ask the provider again".
            return None

    def put(self, key: str, entry: CacheEntry) -> None:
        path = self.path_for(key)
        # Compact JSON written straight to a temporary file and renamed: merging a large
        # batch stores an entry per row, so this path is kept lean. No fsync: a lost entry
        # costs one repeated call; the rename alone already prevents torn files.
        data = json.dumps(cache_entry_to_dict(entry), ensure_ascii=False).encode("utf-8")
        try:
            if not self._directory_made:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._directory_made = True
            try:
                self._write(path, data)
            except FileNotFoundError:
                # The directory was removed under us (`rm -r ~/.loom/cache` mid-run).
                self.directory.mkdir(parents=True, exist_ok=True)
                self._write(path, data)
        except OSError as exc:
            raise StateError(f"Cannot write cache entry {path}: {exc.strerror or exc}") from exc

    def _write(self, path: Path, data: bytes) -> None:
        # Unique per process and call (the counter is safe across threads), so concurrent
        # writers never share a temporary file; the leading dot and the suffix keep it out
        # of every scan for entries.
        temp = path.with_name(f".{path.name}.{os.getpid()}-{next(self._temps)}{TEMP_SUFFIX}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise

    def clear(self) -> int:
        """Delete every ``*.json`` entry (and stale temp files) and return how many entries."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        count = 0
        for entry in entries:
            is_entry = entry.name.endswith(_SUFFIX) and not entry.name.startswith(".")
            is_temp = entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)
            if not (is_entry or is_temp) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # removed concurrently: not ours to count
            count += is_entry
        return count
