"""Shared by the batch adapters' ``find_batch``: how far back to look in a provider's list.

A part lost in a crash was submitted after its job was recorded, so only batches created
since then (less a minute for clocks that disagree) can be it.
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["CLOCK_SKEW_SECONDS", "epoch_seconds"]

CLOCK_SKEW_SECONDS = 60


def epoch_seconds(timestamp: str | datetime | int | float | None) -> float:
    """An ISO 8601 string, a datetime or epoch seconds, as epoch seconds (0 when unknown)."""
    if timestamp is None:
        return 0.0
    if isinstance(timestamp, (int, float)):
        return float(timestamp)
    if isinstance(timestamp, str):
        try:
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=timezone.utc)
    return timestamp.timestamp()
