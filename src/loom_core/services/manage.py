"""The small use cases: ``loom list``, ``loom cache clear/stats/prune``, and choosing batches to
fetch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ..errors import Option, StateError, UsageError
from ..model import BatchJob, CacheStats
from ..ports import ResponseCache, StateStore

__all__ = ["cache_stats", "clear_cache", "list_batches", "prune_cache", "select_batches"]


def list_batches(store: StateStore) -> list[BatchJob | StateError]:
    """Every remembered batch (and every unreadable state file, as its error), oldest first."""
    return list(store.all())


def select_batches(store: StateStore, batch_id: str | None) -> Iterable[BatchJob | StateError]:
    """The batches a fetch should look at: one by id, or every one still pending."""
    entries = store.all()
    if batch_id is None:
        # Terminal batches were reported when they ended; ``--id`` can still look at one again.
        return [e for e in entries if isinstance(e, StateError) or not e.status.is_terminal]
    chosen = [e for e in entries if isinstance(e, BatchJob) and e.answers_to(batch_id)]
    if not chosen:
        raise UsageError(f"No batch with id {batch_id} under Loom's batches folder (see loom list).")
    return chosen


def clear_cache(cache: ResponseCache) -> int:
    return cache.clear()


def cache_stats(cache: ResponseCache) -> CacheStats:
    return cache.stats()


def prune_cache(cache: ResponseCache, days: float, now: datetime) -> int:
    """Delete the entries created more than ``days`` days before ``now``; return how many."""
    if days < 0:
        raise UsageError(Option("older_than"), f" must be 0 days or more, got {days}")
    return cache.prune(now - timedelta(days=days))
