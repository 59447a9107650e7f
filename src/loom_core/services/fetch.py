"""``loom fetch``: look at each remembered batch, and merge the finished ones into their output.

One batch's trouble never stops the others: a batch whose look-up raises is recorded as
``unknown`` with the reason, and the caller exits non-zero at the end. A batch's state is
deleted only after its output is on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from ..codecs import CodecRegistry
from ..errors import LoomError, OutputExistsError
from ..merge import write_merged
from ..model import BatchJob, BatchStatus, Completion
from ..ports import BatchProvider, OutputGuard, StateStore
from .dataset import output_path_for

__all__ = ["FetchOptions", "FetchOutcome", "fetch_batch", "fetch_batches"]


@attrs.frozen
class FetchOptions:
    keep: bool = False


@attrs.frozen
class FetchOutcome:
    """What happened to one batch on this fetch."""

    job: BatchJob
    status: BatchStatus
    output_path: str | None = None
    rows: int = 0
    errors: int = 0
    problem: str | None = None

    @property
    def failed(self) -> bool:
        """Whether this outcome should make ``loom fetch`` exit non-zero."""
        return self.problem is not None


def fetch_batches(
    jobs: Iterable[BatchJob],
    *,
    provider_for: Callable[[BatchJob], BatchProvider],
    codecs: CodecRegistry,
    store: StateStore,
    guard: OutputGuard,
    options: FetchOptions,
) -> Iterable[FetchOutcome]:
    """Fetch each job in turn, yielding its outcome as soon as it is known."""
    for job in jobs:
        yield fetch_batch(job, provider_for=provider_for, codecs=codecs, store=store,
                          guard=guard, options=options)


def fetch_batch(
    job: BatchJob,
    *,
    provider_for: Callable[[BatchJob], BatchProvider],
    codecs: CodecRegistry,
    store: StateStore,
    guard: OutputGuard,
    options: FetchOptions,
) -> FetchOutcome:
    try:
        provider = provider_for(job)
        job = _repair_id(job, provider, store)
        status = provider.status(job.batch_id)
    except LoomError as error:
        return _record_unknown(job, store, str(error))
    except Exception as error:  # an SDK error the adapter did not translate: still one batch
        return _record_unknown(job, store, f"{type(error).__name__}: {error}")

    if status is not BatchStatus.COMPLETED:
        job.status = status
        store.save(job)
        return FetchOutcome(job=job, status=status)

    try:
        return _merge(job, provider, codecs, store, guard, options)
    except OutputExistsError as error:
        return FetchOutcome(job=job, status=job.status, problem=str(error))
    except LoomError as error:
        return _record_unknown(job, store, str(error))
    except Exception as error:
        return _record_unknown(job, store, f"{type(error).__name__}: {error}")


def _merge(job: BatchJob, provider: BatchProvider, codecs: CodecRegistry, store: StateStore,
           guard: OutputGuard, options: FetchOptions) -> FetchOutcome:
    codec = codecs.for_file_type(job.file_type)
    destination = output_path_for(job.original_file_path, job.output_path, codec,
                                  job.provider, job.model)
    if not guard.may_write(destination):
        raise OutputExistsError(
            f"Output file {destination} already exists; pass --force to overwrite it "
            f"(batch {job.batch_id} stays pending until then)."
        )
    answers: dict[object, Completion] = {}
    for custom_id, completion in provider.results(job.batch_id):
        if custom_id in job.id_map:
            answers[job.id_map[custom_id]] = completion
    stats = write_merged(
        codec, job.original_file_path, destination, answers,
        keys=codec.keys(job.original_file_path),
        provider=job.provider, model=job.model,
        with_meta=job.with_meta,
    )
    job.status = BatchStatus.COMPLETED
    if options.keep:
        store.save(job)
    else:
        store.delete(job)
    return FetchOutcome(job=job, status=BatchStatus.COMPLETED, output_path=destination,
                        rows=stats.rows, errors=stats.errors)


def _repair_id(job: BatchJob, provider: BatchProvider, store: StateStore) -> BatchJob:
    """Give the job the id its provider expects now, renaming its state file to match.

    Older tools stored some ids in a form the provider no longer accepts (Gemini ids without
    their ``batches/`` prefix); a provider that can tell offers ``canonical_id``. The new file
    is written before the old one goes, so a crash in between loses nothing.
    """
    canonical_id = getattr(provider, "canonical_id", None)
    if canonical_id is None:
        return job
    batch_id = canonical_id(job.batch_id)
    if batch_id == job.batch_id:
        return job
    repaired = attrs.evolve(job, batch_id=batch_id)
    store.save(repaired)
    store.delete(job)
    return repaired


def _record_unknown(job: BatchJob, store: StateStore, reason: str) -> FetchOutcome:
    job.status = BatchStatus.UNKNOWN
    store.save(job)
    return FetchOutcome(job=job, status=BatchStatus.UNKNOWN, problem=reason)
