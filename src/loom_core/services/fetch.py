"""``loom fetch``: look at each remembered job, and merge the ones whose parts have all ended.

For each job, holding its lock (a second ``loom fetch`` skips a job the first is working on):
parts a crash left unrecorded are found or sent; every pending part is asked for its status;
once all parts have ended, each part's results are downloaded and kept on disk (answers that
came back by position rather than by custom id are matched in ``positions``), then merged with
the cache into the output, together with the answers the released tool's cache gave when it
submitted the job (``cached_responses``). Expired and cancelled parts keep the answers they
produced; rows without one get an ``llm_error``. The job's state is deleted only after its output is
on disk.

One job's trouble never stops the others: a job whose look-up raises is recorded as
``unknown`` with the reason, and the caller exits non-zero at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import attrs

from ..codecs import CodecRegistry
from ..errors import LoomError, OutputExistsError, ProviderError, StateError
from ..model import WITH_RESULTS, BatchJob, BatchStatus, Completion
from ..ports import BatchIdRepair, BatchProvider, OutputGuard, ResponseCache, StateStore
from .dataset import ensure_writable, output_path_for
from .merge_job import MergeOutcome, merge_job
from .parts import find_or_send_unrecorded
from .positions import by_custom_id

__all__ = ["FetchOptions", "FetchOutcome", "fetch_batch", "fetch_batches"]


@attrs.frozen
class FetchOptions:
    keep: bool = False


@attrs.frozen
class FetchOutcome:
    """What happened to one job on this fetch."""

    job: BatchJob
    status: BatchStatus
    output_path: str | None = None
    rows: int = 0
    errors: int = 0
    #: Why the job could not be looked at or merged; it stays remembered for the next fetch.
    error: LoomError | None = None
    merged: MergeOutcome | None = None

    @property
    def problem(self) -> str | None:
        """``error`` as a sentence, or None when all went well."""
        return None if self.error is None else str(self.error)

    @property
    def failed(self) -> bool:
        """Whether this outcome should make ``loom fetch`` exit non-zero."""
        return self.error is not None


def fetch_batches(jobs: Iterable[BatchJob], **collaborators) -> Iterator[FetchOutcome]:
    """Fetch each job in turn, yielding its outcome as soon as it is known."""
    for job in jobs:
        yield fetch_batch(job, **collaborators)


def fetch_batch(
    job: BatchJob,
    *,
    provider_for: Callable[[BatchJob], BatchProvider],
    codecs: CodecRegistry,
    store: StateStore,
    cache: ResponseCache,
    guard: OutputGuard,
    options: FetchOptions,
) -> FetchOutcome:
    try:
        lock = store.lock(job)
        with lock:
            return _fetch(job, provider_for, codecs, store, cache, guard, options)
    except StateError as error:
        return FetchOutcome(job=job, status=job.status, error=error)


def _fetch(job: BatchJob, provider_for: Callable[[BatchJob], BatchProvider],
           codecs: CodecRegistry, store: StateStore, cache: ResponseCache, guard: OutputGuard,
           options: FetchOptions) -> FetchOutcome:
    try:
        provider = provider_for(job)
        codec = codecs.for_file_type(job.file_type)
        job = _repair_ids(job, provider, store)
        find_or_send_unrecorded(job, provider=provider, codec=codec, store=store)
        for part in job.parts:
            if not part.status.is_terminal:
                part.seen(provider.status(part.batch_id))
    except Exception as error:  # an SDK error the adapter did not translate is still one job's
        return _record_unknown(job, store, error)

    status = job.parts_status()
    if not status.is_terminal or all(p.status is BatchStatus.FAILED for p in job.parts):
        job.status = status
        store.save(job)
        return FetchOutcome(job=job, status=status)

    destination = output_path_for(job.original_file_path, job.output_path, codec,
                                  job.provider, job.model)
    try:
        ensure_writable(guard, destination, pending=job.batch_id)
        kept = []
        for part in job.parts:
            if part.status not in WITH_RESULTS:
                continue
            results = store.load_results(job, part.index)
            if results is None:
                # Kept whole on disk first: a crash while merging needs no second download.
                store.save_results(job, part.index,
                                   by_custom_id(job, part, provider.results(part.batch_id)))
                results = store.load_results(job, part.index)
            kept.append(results or {})
        # The released tool's cache answers come last: an answer the provider sent wins.
        cached = _cached_answers(job)
        merged = merge_job(job, [*kept, cached] if cached else kept, codec=codec, cache=cache,
                           destination=destination)
        merged = _count_cached_answers(job, kept, merged)
    except OutputExistsError as error:
        store.save(job)
        return FetchOutcome(job=job, status=status, error=error)
    except Exception as error:
        return _record_unknown(job, store, error)

    job.status = status
    if options.keep:
        store.save(job)
    else:
        store.delete(job)
    return FetchOutcome(job=job, status=status, output_path=destination, rows=merged.rows,
                        errors=merged.errors, merged=merged)


def _cached_answers(job: BatchJob) -> dict[str, Completion]:
    return {custom_id: Completion(text=text) for custom_id, text in job.cached_responses.items()}


def _count_cached_answers(job: BatchJob, kept: list[Mapping[str, Completion]],
                          merged: MergeOutcome) -> MergeOutcome:
    """``merged`` with the rows the released tool's cache answered counted as cache hits."""
    answered = sum(1 for custom_id in job.cached_responses if custom_id in job.id_map
                   and not any(custom_id in results for results in kept))
    return attrs.evolve(merged, from_cache=merged.from_cache + answered) if answered else merged


def _repair_ids(job: BatchJob, provider: BatchProvider, store: StateStore) -> BatchJob:
    """Give the job's parts the ids their provider expects now, renaming the state to match.

    Older tools stored some ids in a form the provider no longer accepts (Gemini ids without
    their ``batches/`` prefix); a provider that can tell offers ``canonical_id``. The new file
    is written before the old one goes, so a crash in between loses nothing.
    """
    if not isinstance(provider, BatchIdRepair):
        return job
    canonical_id = provider.canonical_id
    repaired = attrs.evolve(job, parts=[
        attrs.evolve(part, batch_id=canonical_id(part.batch_id) if part.batch_id else None)
        for part in job.parts])
    repaired.batch_id = canonical_id(job.batch_id) if job.job_id is None else job.batch_id
    if repaired.batch_id == job.batch_id and all(
            new.batch_id == old.batch_id for new, old in zip(repaired.parts, job.parts)):
        return job
    store.save(repaired)
    if repaired.name != job.name:
        store.delete(job)
    return repaired


def _record_unknown(job: BatchJob, store: StateStore, error: Exception) -> FetchOutcome:
    if not isinstance(error, LoomError):
        error = ProviderError(f"{type(error).__name__}: {error}")
    for part in job.parts:
        # A cancel asked for is remembered through a failed look: the provider may not say.
        if not part.status.is_terminal and part.status is not BatchStatus.CANCELLING:
            part.status = BatchStatus.UNKNOWN
    job.status = BatchStatus.UNKNOWN
    store.save(job)
    return FetchOutcome(job=job, status=BatchStatus.UNKNOWN, error=error)
