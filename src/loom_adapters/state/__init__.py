"""State adapters: where ``loom run`` remembers batches for ``loom fetch`` (``StateStore`` port)."""

from __future__ import annotations

from .file_store import FileStateStore

__all__ = ["FileStateStore"]
