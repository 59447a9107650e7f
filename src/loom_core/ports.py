"""The ports: what the core needs from the world, as ``typing.Protocol`` classes.

Adapters in ``loom_adapters`` (and in third-party plugins) implement these; the services in
``loom_core.services`` receive them as arguments and never learn which adapter they hold. Provider
types never cross a port: an adapter turns SDK objects into ``Completion``, ``BatchStatus`` and
plain strings, and SDK exceptions into ``loom_core.errors.ProviderError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .errors import StateError
from .model import (
    BatchJob,
    BatchLimits,
    BatchRequest,
    BatchStatus,
    CacheEntry,
    CacheStats,
    Completion,
    GenerationSettings,
    Record,
    RowKey,
)
from .template import PromptTemplate

__all__ = [
    "BatchFinder",
    "BatchIdRepair",
    "BatchProvider",
    "FileCodec",
    "OutputGuard",
    "Progress",
    "ResponseCache",
    "RowValues",
    "SilentProgress",
    "StateStore",
    "SyncProvider",
    "TokenCounter",
]


@runtime_checkable
class BatchProvider(Protocol):
    """A provider's batch API: many prompts at once, answers later, in any order.

    ``limits`` says how much one provider batch may hold; a larger job is split into parts.
    What only some batch APIs can do is a protocol of its own that an adapter declares by
    subclassing it: ``BatchFinder``, ``BatchIdRepair``.
    """

    limits: BatchLimits

    def submit(
        self,
        model: str,
        requests: Sequence[BatchRequest],
        settings: GenerationSettings,
        metadata: Mapping[str, str],
    ) -> str:
        """Send every request as one provider batch and return the provider's batch id.

        ``metadata`` is attached to the batch where the API allows it, so a batch can be
        recognised later in the provider's own list.
        """
        ...

    def status(self, batch_id: str) -> BatchStatus:
        """The batch's current status, mapped onto Loom's statuses."""
        ...

    def results(self, batch_id: str) -> Iterator[tuple[str | int, Completion]]:
        """Every answer and per-request error the provider has, as (custom id, completion).

        Order is the provider's, which is arbitrary: callers match on the custom id. An answer
        the provider handed back without its custom id comes under its position (an ``int``)
        in a list the provider documents to be in request order; ``loom fetch`` matches it to
        the request sent at that position, only when no answer in the list kept its id and
        the list holds one answer per request.
        """
        ...

    def cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch."""
        ...

    def close(self) -> None:
        """Release connections; called once when the command is done with the adapter."""
        ...


@runtime_checkable
class BatchFinder(Protocol):
    """A batch API whose own list can show a batch Loom submitted but could not record."""

    def find_batch(self, metadata: Mapping[str, str], size: int,
                   created_after: str) -> str | None:
        """The id of the batch carrying ``metadata`` (where the API keeps none: the one batch
        of ``size`` requests created after ``created_after``), or None."""
        ...


@runtime_checkable
class BatchIdRepair(Protocol):
    """A batch API whose ids older tools stored in a form it no longer accepts."""

    def canonical_id(self, batch_id: str) -> str:
        """The form the provider accepts today (``loom fetch`` renames the state to match)."""
        ...


@runtime_checkable
class SyncProvider(Protocol):
    """A provider's one-prompt-one-answer API, called concurrently from an asyncio pool."""

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        """Answer one prompt, or raise a ``ProviderError`` subclass saying why not."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once when the run is over."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """A provider's remote input-token count for one prompt."""

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        """The number of input tokens the prompt costs, or raise a ``ProviderError``."""
        ...

    async def aclose(self) -> None:
        ...


#: For each row being written, the output columns' values (``llm_response``, ``llm_error``, ...).
RowValues = Callable[[Record], Mapping[str, Any]]


@runtime_checkable
class FileCodec(Protocol):
    """Reads a dataset as records and writes it back with answers merged into every row."""

    #: The ``file_type`` recorded in batch state: ``json``, ``jsonl``, ``csv``, ``parquet``, or a
    #: plugin's own name.
    file_type: str
    #: The extension outputs get, with its dot: ``.json``.
    output_suffix: str

    def read(self, path: str, prompt_column: str | None,
             template: PromptTemplate | None = None) -> Iterator[Record]:
        """Yield the dataset's rows in file order; raise ``InputError`` for bad input.

        The prompt is the ``prompt_column`` cell (the format's default column when None), or
        ``template`` rendered with the row's columns. Row keys must be unique within a file:
        answers are merged by key.
        """
        ...

    def keys(self, path: str) -> Iterator[RowKey]:
        """Yield each row's key in file order, without needing a prompt column."""
        ...

    def write(
        self,
        source: str,
        destination: str,
        columns: Sequence[str],
        values: RowValues,
    ) -> None:
        """Write ``source`` again to ``destination`` with ``columns`` added to every row.

        ``values`` gets each row, in file order, as a ``Record`` with the index and key ``read``
        gives it (its prompt may be empty: merging needs only the key; a sync run finds a row's
        answer by its index). An exception ``values`` raises ends the write. Every original
        column, value and row survives unchanged and in order; the write is atomic, so an
        interrupted write leaves no partial ``destination``.
        """
        ...


@runtime_checkable
class StateStore(Protocol):
    """Where pending batches are remembered between ``loom run`` and ``loom fetch``."""

    def save(self, job: BatchJob) -> None:
        ...

    def load(self, provider: str, name: str) -> BatchJob | None:
        """The job saved under ``name`` (its ``job.name``), or None."""
        ...

    def all(self) -> Iterable[BatchJob | StateError]:
        """Every remembered batch, oldest first; an unreadable file comes as its error."""
        ...

    def delete(self, job: BatchJob) -> None:
        """Forget the job: its state and any results kept for it."""
        ...

    def lock(self, job: BatchJob) -> AbstractContextManager[None]:
        """Hold the job for this process; raise ``StateError`` at once if another holds it."""
        ...

    def save_results(self, job: BatchJob, part: int,
                     results: Iterable[tuple[str, Completion]]) -> None:
        """Keep a part's downloaded results on disk, whole or not at all."""
        ...

    def load_results(self, job: BatchJob, part: int) -> Mapping[str, Completion] | None:
        """A part's kept results by custom id, or None when none were kept.

        The mapping may read from disk on each look-up: a large job's answers need not all
        be in memory at once.
        """
        ...


@runtime_checkable
class ResponseCache(Protocol):
    """Answers already paid for, by the key ``loom_core.cache_key.cache_key`` computes.

    A cache is an optimisation, never a source of failure: an entry that cannot be read is a
    miss. Writing may raise ``StateError`` (a full disk); callers count it and go on. A key
    that is not 64 hex characters is a bug and raises ``ValueError``.
    """

    def get(self, key: str) -> CacheEntry | None:
        ...

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        """The entries found among ``keys``, by key (only the hits): one round trip to the
        store per chunk of keys, not one per key."""
        ...

    def put(self, key: str, entry: CacheEntry) -> None:
        ...

    def put_many(self, items: Iterable[tuple[str, CacheEntry]]) -> int:
        """Store every entry in one transaction, all or none; return how many were written."""
        ...

    def stats(self) -> CacheStats:
        """How many entries, how much disk, and how many by provider and model."""
        ...

    def prune(self, older_than: datetime) -> int:
        """Delete the entries created before ``older_than`` and return how many there were."""
        ...

    def clear(self) -> int:
        """Delete every entry and return how many there were."""
        ...


@runtime_checkable
class OutputGuard(Protocol):
    """Decides whether an output file may be written: absent, ``--force``, or the user agrees."""

    def may_write(self, path: str) -> bool:
        ...


@runtime_checkable
class Progress(Protocol):
    """Live feedback while a pool of prompts runs; the CLI draws it, the library ignores it."""

    def start(self, total: int) -> None:
        ...

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        ...

    def finish(self) -> None:
        ...


class SilentProgress:
    """``Progress`` that says nothing: for scripts, pipes, ``--quiet`` and the library."""

    def start(self, total: int) -> None:
        pass

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        pass

    def finish(self) -> None:
        pass
