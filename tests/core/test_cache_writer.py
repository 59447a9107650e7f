"""CacheWriter: entries written from threads, every one on disk after close, failures counted."""

from __future__ import annotations

import threading

import pytest

from loom_core.cache_writer import CacheWriter
from loom_core.errors import StateError
from loom_core.model import CacheEntry


def entry(text: str) -> CacheEntry:
    return CacheEntry(provider="p", model="m", response=text, created_at="2026-01-01T00:00:00+00:00")


class MemoryCache:
    def __init__(self, fail_on: str | None = None, bug_on: str | None = None) -> None:
        self.stored: dict[str, CacheEntry] = {}
        self.threads: set[str] = set()
        self.fail_on, self.bug_on = fail_on, bug_on

    def get(self, key: str) -> CacheEntry | None:
        return self.stored.get(key)

    def put(self, key: str, value: CacheEntry) -> None:
        self.threads.add(threading.current_thread().name)
        if key == self.fail_on:
            raise StateError("disk full")
        if key == self.bug_on:
            raise KeyError(key)
        self.stored[key] = value


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
