"""Writing cache entries from threads beside the work that produced them.

Both engines store an answer per row: ``run --sync`` as each call returns, ``fetch`` for every
row of a downloaded batch. A file per entry costs a few hundred microseconds of waiting on the
disk, which an event loop with calls in flight, or a merge of 200,000 rows, should not spend
itself. ``CacheWriter`` hands entries to long-lived threads through a queue: no future and no
wake-up of the caller per entry (with a ``run_in_executor`` per answer, the sync engine used
half as much CPU again, measured against the emulator), and a full disk only counts a failure,
because a lost cache entry costs a repeated call later, never an answer in this run's output.
"""

from __future__ import annotations

import queue
import threading

from .errors import LoomError
from .model import CacheEntry
from .ports import ResponseCache

__all__ = ["CacheWriter"]

_DONE = None


class CacheWriter:
    """``put`` entries from one thread; ``close`` waits until every one is on disk.

    ``pending`` bounds the entries waiting in the queue (``put`` then waits), so that a merge
    of millions of rows holds a flat amount of memory; 0 means unbounded, for a caller that must
    never block (an event loop).
    """

    def __init__(self, cache: ResponseCache, threads: int = 1, pending: int = 0) -> None:
        self._cache = cache
        self._queue: queue.Queue[tuple[str, CacheEntry] | None] = queue.Queue(pending)
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
        while (item := self._queue.get()) is not _DONE:
            try:
                self._cache.put(*item)
            except Exception as error:
                # The thread keeps draining whatever happened: a caller waiting on a full
                # queue must never wait for a thread that is gone.
                with self._lock:
                    self.failures += 1
                    if not isinstance(error, LoomError) and self._bug is None:
                        self._bug = error
