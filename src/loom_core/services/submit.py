"""``loom run`` (batch mode): send the dataset as a provider batch and remember it locally.

Each row goes out under a synthetic custom id (``row-<index>``) that every provider accepts;
``id_map`` brings each answer back to its row whatever the row's own id looks like.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..clock import utc_now
from ..codecs import CodecRegistry
from ..model import BatchJob, BatchRequest, BatchStatus, GenerationSettings
from ..naming import custom_id_for
from ..ports import BatchProvider, StateStore
from .dataset import load_dataset

__all__ = ["SubmitRequest", "submit_batch"]


@attrs.frozen
class SubmitRequest:
    """What ``loom run`` in batch mode was asked to do."""

    source: str
    provider: str
    model: str
    prompt_column: str | None = None
    #: Builds each prompt from the row's fields instead of reading ``prompt_column``.
    template: str | None = None
    output: str | None = None
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    with_meta: bool = False
    #: Remembered with the batch, so ``loom fetch`` asks the same server.
    base_url: str | None = None


def submit_batch(
    request: SubmitRequest,
    *,
    codecs: CodecRegistry,
    provider: BatchProvider,
    store: StateStore,
    now: Callable[[], str] = utc_now,
) -> BatchJob:
    dataset = load_dataset(codecs, request.source, request.prompt_column, request.template)
    requests = [BatchRequest(custom_id_for(r.index), r.prompt) for r in dataset.records]
    id_map = {req.custom_id: record.key for req, record in zip(requests, dataset.records)}
    created_at = now()
    batch_id = provider.submit(
        request.model, requests, request.settings,
        {"loom_source": _short(request.source), "loom_created_at": created_at},
    )
    job = BatchJob(
        batch_id=batch_id, provider=request.provider, model=request.model,
        original_file_path=request.source, file_type=dataset.codec.file_type,
        prompt_column=request.prompt_column, id_map=id_map, created_at=created_at,
        status=BatchStatus.VALIDATING, output_path=request.output,
        with_meta=request.with_meta, settings=request.settings, base_url=request.base_url,
    )
    store.save(job)
    return job


def _short(text: str, limit: int = 500) -> str:
    # OpenAI caps metadata values at 512 characters; the tail of a path is the telling part.
    return text if len(text) <= limit else text[-limit:]
