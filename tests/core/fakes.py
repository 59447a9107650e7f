"""In-memory fakes of the core's ports, for the unit tests of ``loom_core``.

Each fake subclasses the ``typing.Protocol`` it stands for (``loom_core.ports``) and keeps its
state in plain attributes, so tests assert on what the fake holds (the rows it wrote, the jobs it
saved, the prompts it was asked) rather than on mock calls. Nothing here sleeps, touches the
filesystem or opens a socket: ``asyncio.sleep(0)`` only hands the event loop to the next task.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import attrs

from loom_core.codecs import CodecRegistry, CodecSpec
from loom_core.errors import InputError, StateError
from loom_core.model import (
    BatchLimits,
    BatchJob,
    BatchRequest,
    BatchStatus,
    CacheEntry,
    CacheStats,
    Completion,
    GenerationSettings,
    Record,
)
from loom_core.template import PromptTemplate
from loom_core.ports import (
    BatchProvider,
    FileCodec,
    OutputGuard,
    Progress,
    ResponseCache,
    RowValues,
    StateStore,
    SyncProvider,
    TokenCounter,
)
from loom_core.serialization import (
    batch_job_from_dict,
    batch_job_to_dict,
    completion_from_dict,
    completion_to_dict,
)

#: A scripted outcome for one call: an answer's text, a whole ``Completion``, or an exception
#: instance to raise.
Outcome = str | Completion | BaseException


def times(count: int, outcome: Outcome) -> list[Outcome]:
    """``count`` copies of one outcome, for scripts like "429 twice, then answer"."""
    return [outcome] * count


# --- files -------------------------------------------------------------------------------------


class MemoryCodec(FileCodec):
    """A ``FileCodec`` over a dict of "files": path -> list of row dicts.

    A row with an ``id`` is JSON-like (key = its id); one without is CSV-like (key = the row
    index as a string), as the real codecs do. The prompt is the ``prompt_column`` value
    (``prompt`` when None) or the rendered template. ``write`` stores the merged rows under
    the destination path and checks the port's contract: every row gets exactly the
    announced columns.
    """

    file_type = "mem"
    output_suffix = ".mem"

    def __init__(self, files: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.files: dict[str, list[dict[str, Any]]] = files if files is not None else {}
        #: destination -> the columns ``write`` was told to add.
        self.columns: dict[str, list[str]] = {}
        #: Raised by the next ``write`` instead of writing, to simulate a full disk.
        self.fail_write: BaseException | None = None

    def registry(self) -> CodecRegistry:
        """A registry holding only this codec (always the same instance, so state is shared)."""
        return CodecRegistry([CodecSpec(name=self.file_type, suffixes=(".mem",),
                                        factory=lambda: self)])

    def _rows(self, path: str) -> list[dict[str, Any]]:
        try:
            return self.files[path]
        except KeyError:
            raise InputError(f"{path}: no such file") from None

    def keys(self, path: str) -> Iterator[Any]:
        for index, row in enumerate(self._rows(path)):
            yield row["id"] if "id" in row else str(index)

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        for (index, row), key in zip(enumerate(self._rows(path)), self.keys(path)):
            if template is not None:
                prompt = template.render(row, f"row {index}")
            else:
                prompt = row[prompt_column or "prompt"]
            yield Record(index=index, key=key, prompt=prompt)

    def write(self, source: str, destination: str, columns: Sequence[str],
              values: RowValues) -> None:
        if self.fail_write is not None:
            raise self.fail_write
        merged = []
        for (index, row), key in zip(enumerate(self._rows(source)), self.keys(source)):
            row_values = dict(values(Record(index=index, key=key, prompt="")))
            assert set(row_values) == set(columns), (
                f"row {index} has values for {sorted(row_values)}, "
                f"but the columns are {list(columns)}"
            )
            merged.append({**row, **{column: row_values[column] for column in columns}})
        self.files[destination] = merged
        self.columns[destination] = list(columns)


# --- state and cache ---------------------------------------------------------------------------


class InMemoryStateStore(StateStore):
    """Batch state as the JSON dicts a file store would write, keyed by (provider, batch id).

    Jobs go through ``loom_core.serialization`` both ways, so what a test reads back is what
    a state file would hold. ``unreadable`` entries come out of ``all()`` as ``StateError``.
    """

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], dict[str, Any]] = {}
        self.unreadable: list[StateError] = []
        self.deleted: list[tuple[str, str]] = []
        #: (provider, name, part) -> the kept results, as lines a file would hold.
        self.results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self.locked: set[tuple[str, str]] = set()

    def save(self, job: BatchJob) -> None:
        self.saved[(job.provider, job.name)] = batch_job_to_dict(job)

    def load(self, provider: str, name: str) -> BatchJob | None:
        data = self.saved.get((provider, name))
        return None if data is None else batch_job_from_dict(data)

    def all(self) -> Iterable[BatchJob | StateError]:
        return [batch_job_from_dict(data) for data in self.saved.values()] + self.unreadable

    def delete(self, job: BatchJob) -> None:
        del self.saved[(job.provider, job.name)]
        self.deleted.append((job.provider, job.name))
        for part in job.parts:
            self.results.pop((job.provider, job.name, part.index), None)

    @contextmanager
    def lock(self, job: BatchJob) -> Iterator[None]:
        key = (job.provider, job.name)
        if key in self.locked:
            raise StateError(f"Batch {job.batch_id} is being worked on by another loom process")
        self.locked.add(key)
        try:
            yield
        finally:
            self.locked.discard(key)

    def save_results(self, job: BatchJob, part: int,
                     results: Iterable[tuple[str, Completion]]) -> None:
        lines = [completion_to_dict(custom_id, c) for custom_id, c in results]  # whole or none
        self.results[(job.provider, job.name, part)] = lines

    def load_results(self, job: BatchJob, part: int) -> Mapping[str, Completion] | None:
        lines = self.results.get((job.provider, job.name, part))
        return None if lines is None else dict(completion_from_dict(line) for line in lines)

    def status_of(self, provider: str, name: str) -> str | None:
        """The status a state file would now show, or None when there is no file."""
        data = self.saved.get((provider, name))
        return None if data is None else data["status"]


class InMemoryCache(ResponseCache):
    """A dict of cache entries that counts how often it was read and written.

    ``gets`` and ``puts`` count entries (a ``get_many`` of ten keys is ten gets);
    ``round_trips`` and ``transactions`` count the calls, so tests can see batching. Entries
    whose ``created_at`` does not parse are never pruned.
    """

    def __init__(self, entries: Mapping[str, CacheEntry] | None = None) -> None:
        self.entries: dict[str, CacheEntry] = dict(entries or {})
        self.gets = 0
        self.puts = 0
        self.round_trips = 0
        self.transactions = 0

    def get(self, key: str) -> CacheEntry | None:
        self.gets += 1
        self.round_trips += 1
        return self.entries.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        self.gets += len(keys)
        self.round_trips += 1
        return {key: self.entries[key] for key in keys if key in self.entries}

    def put(self, key: str, entry: CacheEntry) -> None:
        self.put_many([(key, entry)])

    def put_many(self, items: Iterable[tuple[str, CacheEntry]]) -> int:
        items = list(items)
        self.puts += len(items)
        self.transactions += 1
        self.entries.update(items)
        return len(items)

    def stats(self) -> CacheStats:
        by_model = collections.Counter((e.provider, e.model) for e in self.entries.values())
        return CacheStats(entries=len(self.entries),
                          bytes_on_disk=sum(len(e.response) for e in self.entries.values()),
                          by_model=dict(by_model))

    def prune(self, older_than: datetime) -> int:
        old = [key for key, entry in self.entries.items() if _created(entry) < older_than]
        for key in old:
            del self.entries[key]
        return len(old)

    def clear(self) -> int:
        count = len(self.entries)
        self.entries.clear()
        return count


def _created(entry: CacheEntry) -> datetime:
    try:
        created = datetime.fromisoformat(entry.created_at)
    except ValueError:
        return datetime.max.replace(tzinfo=timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


# --- providers ---------------------------------------------------------------------------------


class _InFlight:
    """Counts concurrent calls and remembers the most there ever were."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        self.now -= 1


def _play(script: dict[str, list[Outcome]], prompt: str, default: Outcome) -> Outcome:
    queue = script.get(prompt)
    return queue.pop(0) if queue else default


class FakeSyncProvider(SyncProvider):
    """A sync provider whose every call follows a per-prompt script.

    ``script[prompt]`` is consumed one outcome per call; once it is empty (or for prompts not in
    it) the call answers ``reply(model, prompt)``. ``delays[prompt]`` is how many times the call
    yields to the event loop first, so a test can make later prompts finish earlier.
    """

    def __init__(
        self,
        script: Mapping[str, Sequence[Outcome]] | None = None,
        *,
        delays: Mapping[str, int] | None = None,
        reply: Callable[[str, str], str] = lambda model, prompt: f"{model} answers: {prompt}",
    ) -> None:
        self.script = {prompt: list(outcomes) for prompt, outcomes in (script or {}).items()}
        self.delays = dict(delays or {})
        self.reply = reply
        self.calls: list[str] = []
        self.settings_seen: list[GenerationSettings] = []
        self.finished: list[str] = []
        self.closed = 0
        self._in_flight = _InFlight()

    @property
    def max_in_flight(self) -> int:
        return self._in_flight.most

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        self.calls.append(prompt)
        self.settings_seen.append(settings)
        with self._in_flight:
            for _ in range(1 + self.delays.get(prompt, 0)):
                await asyncio.sleep(0)
            outcome = _play(self.script, prompt, self.reply(model, prompt))
            self.finished.append(prompt)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome if isinstance(outcome, Completion) else Completion(text=outcome)

    async def aclose(self) -> None:
        self.closed += 1


class FakeTokenCounter(TokenCounter):
    """Counts one token per word, or follows ``script`` like ``FakeSyncProvider``."""

    def __init__(self, script: Mapping[str, Sequence[int | BaseException]] | None = None) -> None:
        self.script = {prompt: list(outcomes) for prompt, outcomes in (script or {}).items()}
        self.calls: list[str] = []
        self.closed = 0
        self._in_flight = _InFlight()

    @property
    def max_in_flight(self) -> int:
        return self._in_flight.most

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        self.calls.append(prompt)
        with self._in_flight:
            await asyncio.sleep(0)
            outcome = _play(self.script, prompt, len(prompt.split()))  # type: ignore[arg-type]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    async def aclose(self) -> None:
        self.closed += 1


@attrs.frozen
class Submission:
    """One ``submit`` call as the fake batch provider received it."""

    model: str
    requests: tuple[BatchRequest, ...]
    settings: GenerationSettings
    metadata: Mapping[str, str]


class FakeBatchProvider(BatchProvider):
    """A batch API with scripted statuses, results in shuffled order and per-request errors.

    ``statuses[batch_id]`` is consumed one per ``status`` call, the last one sticking;
    ``status_errors[batch_id]`` is raised by ``status`` instead. ``results_for[batch_id]`` maps
    custom ids to completions; ``results`` yields them in an order shuffled by ``seed`` and
    records that order in ``yielded``; ``results_errors[batch_id]`` is raised after the first
    result, as a download that breaks off.
    """

    def __init__(self, *, seed: int = 7, limits: BatchLimits | None = None) -> None:
        self.limits = limits or BatchLimits()
        self.submissions: dict[str, Submission] = {}
        self.statuses: dict[str, list[BatchStatus]] = {}
        self.status_errors: dict[str, BaseException] = {}
        self.results_for: dict[str, dict[str, Completion]] = {}
        self.results_errors: dict[str, BaseException] = {}
        self.status_calls: list[str] = []
        self.results_calls: list[str] = []
        self.yielded: dict[str, list[str]] = {}
        self.cancelled: list[str] = []
        self.closed = False
        self._rng = random.Random(seed)

    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        batch_id = f"batch_{len(self.submissions) + 1}"
        self.submissions[batch_id] = Submission(model, tuple(requests), settings, dict(metadata))
        return batch_id

    def script(self, batch_id: str, *statuses: BatchStatus) -> None:
        self.statuses[batch_id] = list(statuses)

    def answer_all(self, batch_id: str, *, except_ids: Iterable[str] = (),
                   errors: Mapping[str, str] | None = None) -> None:
        """Results for every submitted request: ``answer to <prompt>``, an error, or none."""
        skipped, errors = set(except_ids), dict(errors or {})
        self.results_for[batch_id] = {
            req.custom_id: (Completion.failure(errors[req.custom_id]) if req.custom_id in errors
                            else Completion(text=f"answer to {req.prompt}"))
            for req in self.submissions[batch_id].requests
            if req.custom_id not in skipped
        }

    def status(self, batch_id: str) -> BatchStatus:
        self.status_calls.append(batch_id)
        if batch_id in self.status_errors:
            raise self.status_errors[batch_id]
        queue = self.statuses.get(batch_id) or [BatchStatus.IN_PROGRESS]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def results(self, batch_id: str) -> Iterator[tuple[str, Completion]]:
        self.results_calls.append(batch_id)
        items = list(self.results_for.get(batch_id, {}).items())
        self._rng.shuffle(items)
        self.yielded[batch_id] = [custom_id for custom_id, _ in items]
        for number, item in enumerate(items):
            if number == 1 and batch_id in self.results_errors:
                raise self.results_errors[batch_id]
            yield item

    def cancel(self, batch_id: str) -> None:
        self.cancelled.append(batch_id)

    def close(self) -> None:
        self.closed = True


# --- guards and progress -----------------------------------------------------------------------


class AlwaysGuard(OutputGuard):
    """Every output may be written (the file is absent, or ``--force``)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def may_write(self, path: str) -> bool:
        self.asked.append(path)
        return True


class NeverGuard(OutputGuard):
    """No output may be written (it exists and the user said no)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def may_write(self, path: str) -> bool:
        self.asked.append(path)
        return False


@attrs.frozen
class Advance:
    completion: Completion | None
    cached: bool
    tokens: int | None
    error: bool


class RecordingProgress(Progress):
    """Remembers ``start``'s total, every ``advance`` and how often it was finished."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.advances: list[Advance] = []
        self.finished = 0

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        self.advances.append(Advance(completion, cached, tokens, error))

    def finish(self) -> None:
        self.finished += 1
