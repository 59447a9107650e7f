"""The response cache: one SQLite database, ``<cache_dir>/cache.sqlite3`` (``ResponseCache``).

Why a database and not a file per answer, as the released tool kept them: creating a file costs
0.1 to 0.2 ms of kernel time, so a million answers took minutes to write and as long again to
``rm -rf``, and a re-run of a million cached rows opened a million files. SQLite comes with
Python, commits many entries in one transaction, and its write-ahead log (WAL) lets readers go
on while one writer commits, across processes: a sync run and a ``loom fetch`` merging, or two
fetches, share the cache with no entry lost and no one waiting longer than a commit.

The choices below were measured on a million entries (``benchmarks/cache_rerun.py`` times the
whole re-run):

- Rows are kept in the order they were written (an integer row id), and found through a small
  index on the first 8 bytes of the key. A run reads the rows it (or the merge before it)
  wrote, in the same order, so its reads walk the table nearly in order; and the index, about
  20 bytes an entry, stays in SQLite's page cache. Keyed by the sha256 itself, every write and
  every read lands on a random page of the whole table: writing a million entries took twice
  as long (75 s against 34 s), and reading them back 60 % longer. Two keys sharing 8 bytes is a one-in-10^13 event at a million entries; the
  full key is stored and compared, so it costs a miss, never a wrong answer.
- ``synchronous=NORMAL`` in WAL mode: a commit is not flushed to the disk, a checkpoint is. A
  killed process loses nothing it committed and never leaves a corrupt file; a power cut may
  lose the last commits, which for a cache is a repeated call.
- ``auto_vacuum=INCREMENTAL``: ``clear`` and ``prune`` give the space back to the system.
- One connection per thread (SQLite connections are not shared across threads), writes of one
  process taken in turn under a lock (its threads then never wait in SQLite's busy loop), and
  a busy timeout for another process's commit.

A cache is an optimisation, never a source of failure: an entry that cannot be read, or a
database that cannot be opened, is a miss; a write that fails raises ``StateError``, which the
cache writer counts. The folder is created by the first write, never by a read. Deleting it by
hand while no Loom runs is safe; a run that finds the database gone (checked by its inode before
each batch of work) opens a new one. ``clear`` and ``prune`` delete rows in SQL, never the
database file, because another process may have it open.

Answers the released tool cached (``<sha256>.json`` files) keep hitting: see
``legacy_files``. ``stats`` counts them without opening them, ``prune`` goes by their file
times, and ``clear`` removes them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from loom_core.errors import StateError
from loom_core.model import CacheEntry, CacheStats

from .legacy_files import LegacyFiles, disk_bytes

__all__ = ["DATABASE_NAME", "SqliteResponseCache"]

DATABASE_NAME = "cache.sqlite3"
_SCHEMA_VERSION = 1
#: Seconds a write waits for another process's transaction before it counts as failed.
_BUSY_TIMEOUT = 30.0
#: Keys per SELECT: 999 is the most parameters every SQLite allows (newer ones take 32,766);
#: 2,000 a statement was 13 % faster than 500, measured on a million look-ups.
_CHUNK = 999
#: SQLite's page cache per connection, in KiB: the key index of a million entries fits.
_PAGE_CACHE_KIB = 32 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    key8 INTEGER NOT NULL UNIQUE,
    key BLOB NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    created_at TEXT NOT NULL,
    response TEXT NOT NULL,
    params TEXT,
    finish_reason TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER
)
"""
_COLUMNS = ("key, provider, model, created_at, response, params, finish_reason, input_tokens, "
            "output_tokens")
_INSERT = ("INSERT OR REPLACE INTO entries (key8, key, provider, model, created, created_at, "
           "response, params, finish_reason, input_tokens, output_tokens) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class SqliteResponseCache:
    """Cached answers in ``<directory>/cache.sqlite3``, plus the released tool's files there."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DATABASE_NAME
        self._legacy = LegacyFiles(self.directory)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._created_cache: tuple[str, float] = ("", 0.0)

    # --- reading --------------------------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        return self.get_many((key,)).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        wanted = [(key, _digest(key)) for key in keys]
        found: dict[str, CacheEntry] = {}
        try:
            connection = self._connection(create=False)
            if connection is not None:
                for start in range(0, len(wanted), _CHUNK):
                    self._select(connection, wanted[start:start + _CHUNK], found)
        except sqlite3.Error:
            pass  # an unreadable database is a miss, like an unreadable file
        if len(found) < len(wanted) and self._legacy.present():
            self._adopt_legacy([key for key, _ in wanted if key not in found], found)
        return found

    @staticmethod
    def _select(connection: sqlite3.Connection, chunk: list[tuple[str, bytes]],
                found: dict[str, CacheEntry]) -> None:
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE key8 IN ({marks})",
            [_key8(digest) for _, digest in chunk]).fetchall()
        by_digest = {row[0]: row for row in rows}
        for key, digest in chunk:
            row = by_digest.get(digest)
            if row is not None:
                found[key] = _entry(row)

    def _adopt_legacy(self, keys: list[str], found: dict[str, CacheEntry]) -> None:
        """Read the released tool's files for ``keys``; move the hits into the database."""
        hits = []
        for key in keys:
            entry = self._legacy.read(key)
            if entry is not None:
                found[key] = entry
                hits.append((key, entry))
        if not hits:
            return
        try:
            self.put_many(hits)
        except StateError:
            return  # still a hit; the file stays for the next time
        for key, _ in hits:
            self._legacy.remove(key)

    # --- writing --------------------------------------------------------------------------

    def put(self, key: str, entry: CacheEntry) -> None:
        self.put_many(((key, entry),))

    def put_many(self, items: Iterable[tuple[str, CacheEntry]]) -> int:
        rows = [self._row(key, entry) for key, entry in items]
        if not rows:
            return 0
        # Sorted by the index key, each commit walks the index once, left to right.
        rows.sort(key=lambda row: row[0])
        self._write(lambda connection: connection.executemany(_INSERT, rows))
        return len(rows)

    def prune(self, older_than: datetime) -> int:
        before = older_than.timestamp()
        removed = self._write(
            lambda connection: connection.execute(
                "DELETE FROM entries WHERE created < ?", (before,)).rowcount,
            only_if_exists=True) or 0
        self._reclaim()
        return removed + self._legacy.prune(before)

    def clear(self) -> int:
        def delete_all(connection: sqlite3.Connection) -> int:
            count = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
            connection.execute("DELETE FROM entries")
            return count

        try:
            removed = self._write(delete_all, only_if_exists=True) or 0
        except StateError:
            if not self._unreadable():
                raise
            # Not a database at all (or one a newer Loom wrote that this one cannot read):
            # nobody can be using it, so the file itself goes.
            removed = self._remove_database()
        self._reclaim()
        return removed + self._legacy.clear()

    def _write(self, work, *, only_if_exists: bool = False):
        """Run ``work(connection)`` in one write transaction; raise ``StateError`` if it fails."""
        try:
            with self._write_lock:
                connection = self._connection(create=not only_if_exists)
                if connection is None:
                    return None
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"Cannot write to the response cache {self.path}: {exc}") from exc

    def _reclaim(self) -> None:
        """Give freed pages back to the system, and empty the log (best effort: a busy database
        keeps them for later)."""
        try:
            with self._write_lock:
                connection = self._connection(create=False)
                if connection is not None:
                    # Through sqlite3_exec: execute() would take one step, freeing one page.
                    connection.executescript("PRAGMA incremental_vacuum;")
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass

    def _row(self, key: str, entry: CacheEntry) -> tuple:
        digest = _digest(key)
        params = json.dumps(dict(entry.params), ensure_ascii=False) if entry.params else None
        return (_key8(digest), digest, entry.provider, entry.model, self._created(entry.created_at),
                entry.created_at, entry.response, params, entry.finish_reason, entry.input_tokens,
                entry.output_tokens)

    def _created(self, created_at: str) -> float:
        """``created_at`` as a POSIX time, for ``prune``; now when it does not parse. Entries
        written together share their time, so the last one is remembered."""
        last, value = self._created_cache
        if created_at != last:
            try:
                value = datetime.fromisoformat(created_at).timestamp()
            except (TypeError, ValueError):
                value = time.time()
            self._created_cache = (created_at, value)
        return value

    # --- what it holds --------------------------------------------------------------------

    def stats(self) -> CacheStats:
        by_model: dict[tuple[str, str], int] = {}
        try:
            connection = self._connection(create=False)
            if connection is not None:
                rows = connection.execute(
                    "SELECT provider, model, count(*) FROM entries GROUP BY provider, model "
                    "ORDER BY count(*) DESC, provider, model").fetchall()
                by_model = {(provider, model): count for provider, model, count in rows}
        except sqlite3.Error as exc:
            raise StateError(f"Cannot read the response cache {self.path}: {exc}") from exc
        size = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                size += disk_bytes(os.stat(f"{self.path}{suffix}"))
            except OSError:
                pass
        legacy_count, legacy_size = self._legacy.count_and_bytes()
        return CacheStats(entries=sum(by_model.values()) + legacy_count,
                          bytes_on_disk=size + legacy_size, by_model=by_model,
                          legacy_files=legacy_count)

    # --- the connection -------------------------------------------------------------------

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """This thread's connection to the database file that is there now; None when there
        is none and ``create`` is false."""
        local = self._local
        current = getattr(local, "connection", None)
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        if current is not None:
            if stat is not None and (stat.st_dev, stat.st_ino) == local.identity:
                return current
            # The file was deleted (or replaced) under us: what this connection writes now
            # would go nowhere.
            local.connection = None
            current.close()
        if stat is None and not create:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        connection = _open(self.path)
        stat = os.stat(self.path)
        local.connection, local.identity = connection, (stat.st_dev, stat.st_ino)
        return connection

    def _unreadable(self) -> bool:
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)
            try:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                connection.close()
        except sqlite3.DatabaseError as exc:
            return "not a database" in str(exc) or "malformed" in str(exc)
        return version > _SCHEMA_VERSION

    def _remove_database(self) -> int:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._local.connection = None
            connection.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
        return 0


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)
    try:
        connection.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            # A new file: these settings must come before the first table.
            connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(_SCHEMA)
            connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            connection.execute("COMMIT")
        elif version > _SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{path} was written by a newer Loom (schema {version}); "
                f"`loom cache clear` starts it afresh")
        connection.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


def _digest(key: str) -> bytes:
    """The key's 32 bytes. Only a sha256 hex digest is a key (either case: one entry)."""
    if isinstance(key, str) and len(key) == 64:
        try:
            digest = bytes.fromhex(key)
        except ValueError:
            digest = b""
        if len(digest) == 32:
            return digest
    raise ValueError(f"cache key must be 64 hex characters (a sha256 digest), got {key!r}")


def _key8(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big", signed=True)


def _entry(row: tuple) -> CacheEntry:
    _key, provider, model, created_at, response, params, finish_reason, inputs, outputs = row
    return CacheEntry(provider, model, response, created_at,
                      json.loads(params) if params else None, finish_reason, inputs, outputs)
