"""The batch state store: one JSON file per pending batch under ``<LOOM_HOME>/batches/``.

Implements the ``StateStore`` port in the released tool's format (COMPAT.md): the file is named
``<provider>_<safe_id>.json`` by ``loom_core.naming.state_file_name`` and holds
``loom_core.serialization.batch_job_to_dict`` pretty-printed, so files written by loom-batch
0.1-0.7 load here and files written here load there. Writes are atomic and fsynced: a state
file is the only record of a batch that is still running at the provider.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from loom_core.errors import StateError
from loom_core.model import BatchJob
from loom_core.naming import state_file_name
from loom_core.serialization import batch_job_from_dict, batch_job_to_dict

from ..atomic import write_json_atomic

__all__ = ["FileStateStore"]


class FileStateStore:
    """Batch state files in one directory, created when the first batch is saved."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        # (provider, batch_id) -> the file a job was read from, when that is not the name
        # state_file_name gives (a file renamed or edited by hand, as the seed's troubleshooting
        # suggests). Saving moves the job to its proper name; deleting removes both.
        self._origins: dict[tuple[str, str], Path] = {}

    def path_for(self, provider: str, batch_id: str) -> Path:
        """Where the state of this batch lives; never outside the directory, whatever the id."""
        path = self.directory / state_file_name(provider, batch_id)
        # state_file_name already replaces separators; this check keeps that a guarantee
        # even if the naming rule changes.
        if path.name in ("", ".", "..") or path.resolve().parent != self.directory.resolve():
            raise StateError(f"Refusing to use a batch state path outside {self.directory}: {path}")
        return path

    def save(self, job: BatchJob) -> None:
        path = self.path_for(job.provider, job.batch_id)
        data = batch_job_to_dict(job)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, data)
        except OSError as exc:
            raise StateError(f"Cannot write batch state {path}: {exc.strerror or exc}") from exc
        origin = self._origins.pop((job.provider, job.batch_id), None)
        if origin is not None and origin != path:
            origin.unlink(missing_ok=True)

    def load(self, provider: str, batch_id: str) -> BatchJob | None:
        path = self.path_for(provider, batch_id)
        if not path.exists():
            return None
        return self._read(path)

    def all(self) -> Iterator[BatchJob | StateError]:
        """Every batch, oldest first (by ``created_at``, then file name); unreadable files
        come last, each as a ``StateError`` naming the file, so one bad file hides nothing."""
        jobs: list[tuple[tuple[float, str, str], BatchJob]] = []
        errors: list[StateError] = []
        for path in self._files():
            try:
                job = self._read(path)
            except StateError as error:
                errors.append(error)
                continue
            if path.name != state_file_name(job.provider, job.batch_id):
                self._origins[(job.provider, job.batch_id)] = path
            jobs.append(((_timestamp(job.created_at), job.created_at, path.name), job))
        jobs.sort(key=lambda pair: pair[0])
        yield from (job for _key, job in jobs)
        yield from errors

    def delete(self, job: BatchJob) -> None:
        paths = {self.path_for(job.provider, job.batch_id)}
        origin = self._origins.pop((job.provider, job.batch_id), None)
        if origin is not None:
            paths.add(origin)
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StateError(f"Cannot delete batch state {path}: {exc.strerror or exc}") from exc

    def _files(self) -> list[Path]:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(f"Cannot list {self.directory}: {exc.strerror or exc}") from exc
        # Temp files of writes in flight start with "." and end in ".tmp": never state.
        return sorted(
            Path(entry.path)
            for entry in entries
            if entry.name.endswith(".json") and not entry.name.startswith(".")
        )

    def _read(self, path: Path) -> BatchJob:
        try:
            with open(path, encoding="utf-8-sig") as stream:
                data = json.load(stream)
        except OSError as exc:
            raise StateError(f"Cannot read batch state {path}: {exc.strerror or exc}") from exc
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise StateError(f"Cannot read batch state {path}: not valid JSON ({exc})") from exc
        try:
            return batch_job_from_dict(data)
        except StateError as exc:
            raise StateError(f"Cannot read batch state {path}: {exc}") from exc


def _timestamp(created_at: str) -> float:
    """Seconds since the epoch for sorting; naive times count as UTC, unparseable ones last."""
    text = created_at[:-1] + "+00:00" if created_at.endswith(("Z", "z")) else created_at
    try:
        # Python 3.10's fromisoformat does not read a trailing "Z", hence the rewrite above.
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return float("inf")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
