"""CacheWriter: entries written from threads in batches, every one on disk after close,
failures counted."""

from __future__ import annotations

import threading

import pytest

from loom_core.cache_writer import BATCH, CacheWriter
from loom_core.errors import StateError
from loom_core.model import CacheEntry


def entry(text: str) -> CacheEntry:
    return CacheEntry(provider="p", model="m", response=text, created_at="2026-01-01T00:00:00+00:00")


class MemoryCache:
    """Stores like a database: ``put_many`` is one transaction, all or nothing."""

    def __init__(self, fail_on: str | None = None, bug_on: str | None = None,
                 slow: threading.Event | None = None) -> None:
        self.stored: dict[str, CacheEntry] = {}
        self.threads: set[str] = set()
        self.transactions: list[int] = []
        self.fail_on, self.bug_on = fail_on, bug_on
        self.slow = slow

    def get(self, key: str) -> CacheEntry | None:
        return self.stored.get(key)

    def put(self, key: str, value: CacheEntry) -> None:
        self.put_many([(key, value)])

    def put_many(self, items) -> int:
        items = list(items)
        if self.slow is not None:
            self.slow.wait()  # the first commit waits until the test has queued everything
        self.threads.add(threading.current_thread().name)
        for key, _ in items:
            if key == self.fail_on:
                raise StateError("disk full")
            if key == self.bug_on:
                raise KeyError(key)
        self.stored.update(items)
        self.transactions.append(len(items))
        return len(items)


@pytest.mark.parametrize("threads, pending", [(1, 0), (2, 3)])
def test_every_entry_is_written_before_close_returns(threads: int, pending: int) -> None:
    cache = MemoryCache()
    with CacheWriter(cache, threads=threads, pending=pending) as writer:
        for i in range(500):
            writer.put(f"k{i}", entry(f"answer {i}"))
    assert len(cache.stored) == 500 and cache.stored["k499"].response == "answer 499"
    assert threading.current_thread().name not in cache.threads
    assert writer.failures == 0


def test_a_cache_failure_is_counted_and_the_rest_still_written() -> None:
    cache = MemoryCache(fail_on="k3")
    with CacheWriter(cache, pending=2) as writer:
        for i in range(10):
            writer.put(f"k{i}", entry("x"))
    assert writer.failures == 1 and len(cache.stored) == 9


def test_a_bug_is_raised_at_close_after_the_other_entries_are_written() -> None:
    cache = MemoryCache(bug_on="k1")
    writer = CacheWriter(cache, pending=1)
    for i in range(5):  # a bounded queue: this would hang if the failing thread had died
        writer.put(f"k{i}", entry("x"))
    with pytest.raises(KeyError):
        writer.close()
    assert sorted(cache.stored) == ["k0", "k2", "k3", "k4"]


def test_entries_waiting_are_written_in_few_transactions() -> None:
    release = threading.Event()
    cache = MemoryCache(slow=release)
    writer = CacheWriter(cache)
    for i in range(BATCH * 2 + 10):
        writer.put(f"k{i}", entry("x"))
    release.set()
    writer.close()
    assert len(cache.stored) == BATCH * 2 + 10
    assert max(cache.transactions) == BATCH  # never more than BATCH at once
    assert len(cache.transactions) <= 4  # one may have started before the rest were queued


def test_a_failing_entry_does_not_cost_the_rest_of_its_batch() -> None:
    release = threading.Event()
    cache = MemoryCache(fail_on="k5", slow=release)
    writer = CacheWriter(cache)
    for i in range(50):
        writer.put(f"k{i}", entry("x"))
    release.set()
    writer.close()
    assert writer.failures == 1 and len(cache.stored) == 49
