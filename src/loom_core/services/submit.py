"""``loom run`` (batch mode): send the dataset as one or more provider batches under one job.

Rows whose answer is already cached are not sent. The rest are split into parts that each fit
the provider's limits (``loom_core.batching``), planned before anything is uploaded. The job is
saved before the first part is sent and again as each part is accepted, so a crash can never
orphan a paid-for batch: ``loom fetch`` finds or sends whatever a crash left unrecorded.

Each row goes out under a synthetic custom id (``row-<index>``) that every provider accepts;
``id_map`` brings each answer back to its row whatever the row's own id looks like.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import attrs

from ..batching import RequestSize, plan_parts, request_size
from ..cache_key import cache_key
from ..clock import utc_now
from ..codecs import CodecRegistry
from ..errors import (
    AuthenticationError,
    InputError,
    LoomError,
    PartlySubmittedError,
    PermanentError,
    UsageError,
)
from ..model import BatchJob, BatchLimits, BatchPart, BatchStatus
from ..naming import custom_id_for
from ..ports import BatchProvider, OutputGuard, ResponseCache, StateStore
from ..template import PromptTemplate
from .dataset import DatasetRequest, output_path_for
from .merge_job import MergeOutcome, merge_from_cache
from .parts import send_parts

__all__ = ["SubmitOutcome", "SubmitRequest", "new_job_id", "submit_batch"]


@attrs.frozen
class SubmitRequest(DatasetRequest):
    """What ``loom run`` in batch mode was asked to do."""

    #: Remembered with the batch, so ``loom fetch`` asks the same server.
    base_url: str | None = None
    use_cache: bool = True
    #: The provider's queue limit on input tokens per model (OpenAI's enqueued tokens), when
    #: the user knows it: each part then stays under it.
    max_batch_tokens: int | None = None


@attrs.frozen
class SubmitOutcome:
    """A submitted job, or (every row being cached) the output written at once."""

    rows: int
    cached: int
    job: BatchJob | None = None
    written: MergeOutcome | None = None


def new_job_id(now: str) -> str:
    """``loom-20261126T104300-1a2b3c4d``: sortable, unique, safe in a file name."""
    stamp = now[:19].replace("-", "").replace(":", "")
    return f"loom-{stamp}-{uuid.uuid4().hex[:8]}"


def _limits(provider: BatchProvider, request: SubmitRequest) -> BatchLimits:
    limits = provider.limits
    if request.max_batch_tokens is not None:
        limits = attrs.evolve(limits, max_tokens=request.max_batch_tokens)
    return limits


def submit_batch(
    request: SubmitRequest,
    *,
    codecs: CodecRegistry,
    provider: BatchProvider,
    store: StateStore,
    cache: ResponseCache,
    guard: OutputGuard,
    now: Callable[[], str] = utc_now,
) -> SubmitOutcome:
    codec = codecs.for_path(request.source)
    template = PromptTemplate(request.template) if request.template is not None else None
    settings_json = request.settings.canonical_json()

    # First pass: what to send, and how to split it. Nothing is sent or written yet; sizes
    # stream into the plan, so only the id map grows with the dataset.
    id_map: dict[str, object] = {}
    counts = {"rows": 0, "cached": 0}

    def sizes() -> Iterator[RequestSize]:
        for record in codec.read(request.source, request.prompt_column, template):
            counts["rows"] += 1
            if request.use_cache and cache.get(
                    cache_key(request.provider, request.model, record.prompt, request.settings)):
                counts["cached"] += 1
                continue
            id_map[custom_id_for(record.index)] = record.key
            yield request_size(record.prompt, settings_json)

    planned = plan_parts(sizes(), _limits(provider, request))
    rows, cached = counts["rows"], counts["cached"]
    if rows == 0:
        raise InputError(f"{request.source}: the dataset is empty; there is nothing to send.")

    created_at = now()
    job = BatchJob(
        batch_id="", provider=request.provider, model=request.model,
        original_file_path=request.source, file_type=codec.file_type,
        prompt_column=request.prompt_column, id_map=id_map, created_at=created_at,
        status=BatchStatus.VALIDATING, output_path=request.output,
        with_meta=request.with_meta, settings=request.settings, base_url=request.base_url,
        job_id=new_job_id(created_at), prompt_template=request.template,
        parts=[BatchPart(index=i, start=start, end=end)
               for i, (start, end) in enumerate(planned)],
    )
    job.batch_id = job.job_id or ""
    if not id_map:
        destination = output_path_for(request.source, request.output, codec,
                                      request.provider, request.model)
        written = merge_from_cache(job, codec=codec, cache=cache, guard=guard,
                                   destination=destination)
        return SubmitOutcome(rows=rows, cached=cached, written=written)

    # Recorded before anything is sent: a crash from here on leaves a job fetch can finish.
    store.save(job)
    try:
        send_parts(job, list(job.parts), provider=provider, codec=codec, store=store)
    except LoomError as error:
        accepted = sum(1 for part in job.parts if part.batch_id is not None)
        if accepted == 0 and isinstance(error, (UsageError, AuthenticationError,
                                                PermanentError)):
            # Refused outright, nothing accepted: there is nothing to remember.
            store.delete(job)
            raise
        raise PartlySubmittedError(error, job.job_id or job.name, accepted,
                                   len(job.parts)) from error
    return SubmitOutcome(rows=rows, cached=cached, job=job)
