"""The batch state store: one JSON file per pending batch under ``<LOOM_HOME>/batches/``.

Implements the ``StateStore`` port in the released tool's format (docs/compatibility.md): the
file is named ``<provider>_<safe_id>.json`` by ``loom_core.naming.state_file_name`` and holds
``loom_core.serialization.batch_job_to_dict`` pretty-printed, so files written by loom-batch
0.1-0.7 load here and files written here load there. Writes are atomic and fsynced: a state
file is the only record of a batch that is still running at the provider.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from loom_core.errors import StateError
from loom_core.model import BatchJob, Completion
from loom_core.naming import state_file_name
from loom_core.serialization import (
    batch_job_from_dict,
    batch_job_to_dict,
    completion_from_dict,
    completion_to_dict,
)

from ..atomic import atomic_write, write_json_atomic

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
        path = self.path_for(job.provider, job.name)
        data = batch_job_to_dict(job)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, data)
        except OSError as exc:
            raise StateError(f"Cannot write batch state {path}: {exc.strerror or exc}") from exc
        origin = self._origins.pop((job.provider, job.name), None)
        if origin is not None and origin != path:
            origin.unlink(missing_ok=True)

    def load(self, provider: str, name: str) -> BatchJob | None:
        path = self.path_for(provider, name)
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
            if path.name != state_file_name(job.provider, job.name):
                self._origins[(job.provider, job.name)] = path
            jobs.append(((_timestamp(job.created_at), job.created_at, path.name), job))
        jobs.sort(key=lambda pair: pair[0])
        yield from (job for _key, job in jobs)
        yield from errors

    def delete(self, job: BatchJob) -> None:
        paths = {self.path_for(job.provider, job.name)}
        paths.update(self._results_path(job, part.index) for part in job.parts)
        origin = self._origins.pop((job.provider, job.name), None)
        if origin is not None:
            paths.add(origin)
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StateError(f"Cannot delete batch state {path}: {exc.strerror or exc}") from exc

    def lock(self, job: BatchJob) -> AbstractContextManager[None]:
        """An exclusive lock on the job, across processes; refused at once if held.

        The lock file stays behind (removing it would race with a process about to take it);
        it is empty and ends in ``.lock``, so nothing mistakes it for state.
        """
        path = self.path_for(job.provider, job.name).with_suffix(".lock")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"Cannot create {self.directory}: {exc.strerror or exc}") from exc
        return _held(FileLock(path, timeout=0), job)

    def _results_path(self, job: BatchJob, part: int) -> Path:
        state = self.path_for(job.provider, job.name)
        return state.with_name(f"{state.stem}.part{part}.results.jsonl")

    def save_results(self, job: BatchJob, part: int,
                     results: Iterable[tuple[str, Completion]]) -> None:
        path = self._results_path(job, part)
        try:
            # Streamed line by line into a temporary file: a download that breaks off leaves
            # nothing behind, and a large batch never sits in memory.
            with atomic_write(path) as stream:
                for custom_id, completion in results:
                    stream.write(json.dumps(completion_to_dict(custom_id, completion),
                                            ensure_ascii=False) + "\n")
        except OSError as exc:
            raise StateError(f"Cannot keep results in {path}: {exc.strerror or exc}") from exc

    def load_results(self, job: BatchJob, part: int) -> Mapping[str, Completion] | None:
        path = self._results_path(job, part)
        if not path.exists():
            return None
        return _KeptResults(path)

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


@contextmanager
def _held(lock: FileLock, job: BatchJob) -> Iterator[None]:
    try:
        lock.acquire()
    except Timeout:
        raise StateError(
            f"Batch {job.batch_id} is being worked on by another loom process; skipped."
        ) from None
    try:
        yield
    finally:
        lock.release()


class _KeptResults(Mapping[str, Completion]):
    """A part's kept results, read from disk on each look-up through an index of offsets.

    Merging a large job looks answers up in file order while they were kept in the
    provider's order; holding every answer's text would cost more memory than the whole
    rest of the merge, so only where each line starts is held.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offsets: dict[str, int] = {}
        try:
            with open(path, "rb") as lines:
                offset = 0
                for line in lines:
                    if line.strip():
                        custom_id, _completion = completion_from_dict(json.loads(line))
                        self._offsets[custom_id] = offset
                    offset += len(line)
            self._stream = open(path, "rb")  # noqa: SIM115 - kept open for look-ups
        except (OSError, ValueError) as exc:
            raise StateError(f"Cannot read kept results {path}: {exc}") from exc

    def __getitem__(self, custom_id: str) -> Completion:
        offset = self._offsets[custom_id]
        try:
            self._stream.seek(offset)
            return completion_from_dict(json.loads(self._stream.readline()))[1]
        except (OSError, ValueError) as exc:
            raise StateError(f"Cannot read kept results {self._path}: {exc}") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    def __del__(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.close()
