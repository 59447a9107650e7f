"""``list_batches``, ``select_batches``, ``clear_cache``, ``cache_stats`` and ``prune_cache``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import pytest

from loom_core.errors import StateError, UsageError
from loom_core.model import BatchJob, BatchStatus, CacheEntry
from loom_core.services.manage import (
    cache_stats,
    clear_cache,
    list_batches,
    prune_cache,
    select_batches,
)

from .fakes import InMemoryCache, InMemoryStateStore


def store_with(*statuses: BatchStatus) -> InMemoryStateStore:
    """One job per status, ``batch_<status>``, saved in the order given."""
    store = InMemoryStateStore()
    for status in statuses:
        store.save(BatchJob(batch_id=f"batch_{status.value}", provider="openai", model="m",
                            original_file_path="in.json", file_type="json", prompt_column=None,
                            id_map={"row-0": 1}, created_at="2026-05-01T12:00:00+00:00",
                            status=status))
    return store


def ids(entries: Iterable[BatchJob | StateError]) -> list[str]:
    return [e.batch_id if isinstance(e, BatchJob) else f"error: {e}" for e in entries]


def test_list_batches_shows_every_batch_and_every_unreadable_file() -> None:
    store = store_with(BatchStatus.COMPLETED, BatchStatus.VALIDATING)
    store.unreadable.append(StateError("openai_x.json: not JSON"))
    assert ids(list_batches(store)) == ["batch_completed", "batch_validating",
                                        "error: openai_x.json: not JSON"]


def test_list_batches_of_an_empty_store() -> None:
    assert list_batches(InMemoryStateStore()) == []


def test_fetch_all_picks_the_pending_and_the_unknown() -> None:
    store = store_with(*BatchStatus)
    store.unreadable.append(StateError("bad file"))
    assert ids(select_batches(store, None)) == [
        "batch_validating", "batch_in_progress", "batch_cancelling", "batch_unknown",
        "error: bad file"]


def test_fetch_by_id_picks_that_batch_even_when_terminal() -> None:
    store = store_with(BatchStatus.COMPLETED, BatchStatus.IN_PROGRESS)
    assert ids(select_batches(store, "batch_completed")) == ["batch_completed"]


def test_fetch_by_an_unknown_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="batch_nope") as caught:
        select_batches(store_with(BatchStatus.IN_PROGRESS), "batch_nope")
    assert caught.value.exit_code == 2


def test_clear_cache_empties_it_and_says_how_many() -> None:
    entry = CacheEntry(provider="p", model="m", response="r", created_at="t")
    cache = InMemoryCache({"k1": entry, "k2": entry, "k3": entry})
    assert clear_cache(cache) == 3
    assert cache.entries == {}
    assert clear_cache(cache) == 0


def test_prune_cache_deletes_entries_older_than_the_days_given() -> None:
    now = datetime(2026, 5, 31, 12, tzinfo=timezone.utc)
    cache = InMemoryCache({
        "old": CacheEntry("p", "m", "r", "2026-04-01T12:00:00+00:00"),
        "edge": CacheEntry("p", "m", "r", "2026-05-21T12:00:01+00:00"),
        "new": CacheEntry("p", "m", "r", "2026-05-31T11:00:00+00:00"),
    })
    assert prune_cache(cache, 10, now) == 1
    assert sorted(cache.entries) == ["edge", "new"]
    assert prune_cache(cache, 0.5, now) == 1
    assert sorted(cache.entries) == ["new"]
    with pytest.raises(UsageError):
        prune_cache(cache, -1, now)


def test_cache_stats_count_by_provider_and_model() -> None:
    cache = InMemoryCache({
        "a": CacheEntry("openai", "m1", "r", "t"), "b": CacheEntry("openai", "m1", "r", "t"),
        "c": CacheEntry("anthropic", "m2", "r", "t"),
    })
    stats = cache_stats(cache)
    assert stats.entries == 3
    assert stats.by_model == {("openai", "m1"): 2, ("anthropic", "m2"): 1}
