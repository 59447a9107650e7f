"""Writing cache entries from threads beside the work that produced them.

Both engines store an answer per row: ``run --sync`` as each call returns, ``fetch`` for every
row of a downloaded batch. A commit costs the disk far more than the entry in it, which an event
loop with calls in flight, or a merge of a million rows, should not spend itself.
``CacheWriter`` hands entries to long-lived threads through a queue: no future and no wake-up of
the caller per entry (with a ``run_in_executor`` per answer, the sync engine used half as much
CPU again, measured against the emulator). A thread takes every entry waiting, up to
``BATCH``, and stores them with one ``put_many``: one transaction for many entries, so a
merge writes a million rows in a few hundred commits, and a sync run commits whatever arrived
while the last commit ran. A full disk only counts failures, because a lost cache entry costs
a repeated call later, never an answer in this run's output.
"""

from __future__ import annotations

import queue
import threading

from .errors import LoomError
from .model import CacheEntry
from .ports import ResponseCache

__all__ = ["BATCH", "CacheWriter"]

_DONE = None
#: Entries stored in one transaction, at most.
BATCH = 2048


class CacheWriter:
    """``put`` entries from one thread; ``close`` waits until every one is on disk.

    ``pending`` bounds the entries waiting in the queue (``put`` then waits), so that a merge
    of millions of rows holds a flat amount of memory; 0 means unbounded, for a caller that must
    never block (an event loop). A bound under ``BATCH`` is raised to it, so that commits stay
    large: a few thousand entries are a few megabytes at most.
    """

    def __init__(self, cache: ResponseCache, threads: int = 1, pending: int = 0) -> None:
        self._cache = cache
        self._queue: queue.Queue[tuple[str, CacheEntry] | None] = queue.Queue(
            max(pending, BATCH) if pending else 0)
        self._lock = threading.Lock()
        self.failures = 0
        self._bug: Exception | None = None
        self._threads = [threading.Thread(target=self._drain, name=f"loom-cache-{i}", daemon=True)
                         for i in range(max(1, threads))]
        for thread in self._threads:
            thread.start()

    def put(self, key: str, entry: CacheEntry) -> None:
        self._queue.put((key, entry))

    def close(self) -> None:
        """Wait for every entry put so far to be written, and stop the threads; re-raise an
        error that was not the cache's own (a bug), once every other entry is written."""
        for _ in self._threads:
            self._queue.put(_DONE)
        for thread in self._threads:
            thread.join()
        if self._bug is not None:
            raise self._bug

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self) -> None:
        done = False
        while not done:
            batch: list[tuple[str, CacheEntry]] = []
            item = self._queue.get()
            while item is not _DONE:
                batch.append(item)
                if len(batch) == BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is _DONE
            if batch:
                self._store(batch)

    def _store(self, batch: list[tuple[str, CacheEntry]]) -> None:
        # The thread keeps draining whatever happened: a caller waiting on a full queue must
        # never wait for a thread that is gone.
        try:
            written = self._cache.put_many(batch)
        except Exception:
            # One transaction is all or nothing: entry by entry, the others still get in and
            # each failure is counted (and a bug is told apart from a full disk).
            for item in batch:
                try:
                    self._cache.put(*item)
                except Exception as error:
                    self._failed(1, error)
            return
        if written < len(batch):
            self._failed(len(batch) - written, None)

    def _failed(self, count: int, error: Exception | None) -> None:
        with self._lock:
            self.failures += count
            if error is not None and not isinstance(error, LoomError) and self._bug is None:
                self._bug = error
