"""Cache adapters: answers already paid for, reused by ``loom run --sync`` (``ResponseCache`` port)."""

from __future__ import annotations

from .file_cache import FileResponseCache

__all__ = ["FileResponseCache"]
