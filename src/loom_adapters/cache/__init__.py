"""Cache adapters: answers already paid for, reused by every run (``ResponseCache`` port)."""

from __future__ import annotations

from .sqlite_cache import DATABASE_NAME, SqliteResponseCache

__all__ = ["DATABASE_NAME", "SqliteResponseCache"]
