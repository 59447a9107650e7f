"""Helpers shared by tests that look at Loom's files on disk."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["state_path", "state_of"]


def state_path(home: Path, batch_id: str) -> Path:
    """The state file of the job that holds ``batch_id`` (as its first or any part's id, or as
    its Loom job id). Jobs Loom submits are named by their job id, ``<provider>_loom-....json``;
    files of the released tool are named by their batch id."""
    for path in sorted((home / "batches").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        ids = {data.get("batch_id"), data.get("job_id")}
        ids.update(part.get("batch_id") for part in data.get("parts", []))
        if batch_id in ids:
            return path
    raise AssertionError(f"no state file holds batch {batch_id}")


def state_of(home: Path, batch_id: str) -> dict:
    return json.loads(state_path(home, batch_id).read_text(encoding="utf-8"))
