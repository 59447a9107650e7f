"""Timestamps in the form Loom writes them: ISO 8601, UTC, to the second."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utc_now"]


def utc_now() -> str:
    """``2026-05-01T12:00:00+00:00``, the released tool's ``created_at`` format."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
