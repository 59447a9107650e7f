"""Sending a job's parts to the provider, and finding parts a crash left unrecorded.

Shared by ``loom run`` (which sends every part) and ``loom fetch`` (which sends or finds the
parts a crashed or interrupted run did not record). Each part's batch id is saved the moment
the provider returns it, so at most one part can be in doubt after a crash, and that one is
found again by the metadata Loom attached (``loom_job``, ``loom_part``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import LoomError
from ..model import BatchJob, BatchPart, BatchRequest, BatchStatus
from ..naming import custom_id_for
from ..ports import BatchFinder, BatchProvider, FileCodec, StateStore
from ..template import PromptTemplate

__all__ = ["find_or_send_unrecorded", "metadata_for", "send_parts"]


def metadata_for(job: BatchJob, part: BatchPart) -> dict[str, str]:
    """What Loom attaches to a provider batch, so it can recognise the batch later."""
    return {"loom_job": job.job_id or job.batch_id, "loom_part": str(part.index)}


def _template(job: BatchJob) -> PromptTemplate | None:
    return PromptTemplate(job.prompt_template) if job.prompt_template is not None else None


def _requests_by_part(job: BatchJob, codec: FileCodec,
                      parts: list[BatchPart]) -> Iterable[tuple[BatchPart, list[BatchRequest]]]:
    """Each wanted part with its requests, read from the source one part at a time."""
    wanted = {part.index for part in parts}
    ordered = sorted(job.parts, key=lambda part: part.start)
    current = 0
    buffer: list[BatchRequest] = []
    # The id map lists the sent rows in file order, so it is walked beside the file instead
    # of being indexed: no second map of a large job in memory.
    sent = iter(job.id_map)
    expected = next(sent, None)
    number = -1
    for record in codec.read(job.original_file_path, job.prompt_column, _template(job)):
        custom_id = custom_id_for(record.index)
        if custom_id != expected:
            continue  # answered from the cache, not sent
        expected = next(sent, None)
        number += 1
        while number >= ordered[current].end:
            current += 1
        part = ordered[current]
        if part.index not in wanted:
            continue
        buffer.append(BatchRequest(custom_id, record.prompt))
        if number == part.end - 1:
            yield part, buffer
            buffer = []


def send_parts(job: BatchJob, parts: list[BatchPart], *, provider: BatchProvider,
               codec: FileCodec, store: StateStore) -> None:
    """Submit ``parts`` in order, saving the job as each one is accepted."""
    for part, requests in _requests_by_part(job, codec, parts):
        if len(requests) != part.size:
            raise LoomError(f"{job.original_file_path} changed since the job was planned: "
                            f"part {part.index} now has {len(requests)} rows, not {part.size}.")
        part.batch_id = provider.submit(job.model, requests, job.settings,
                                        metadata_for(job, part))
        part.status = BatchStatus.VALIDATING
        if part.index == 0:
            job.batch_id = part.batch_id
        store.save(job)


def find_or_send_unrecorded(job: BatchJob, *, provider: BatchProvider, codec: FileCodec,
                            store: StateStore) -> None:
    """Give every part a batch id: found in the provider's list if it got there, else sent."""
    unrecorded = [part for part in job.parts if part.batch_id is None]
    if not unrecorded:
        return
    finder = provider if isinstance(provider, BatchFinder) else None
    unsent = []
    for part in unrecorded:
        found = (finder.find_batch(metadata_for(job, part), part.size, job.created_at)
                 if finder is not None else None)
        if found is None:
            unsent.append(part)
            continue
        part.batch_id = found
        if part.index == 0:
            job.batch_id = found
        store.save(job)
    if unsent:
        send_parts(job, unsent, provider=provider, codec=codec, store=store)
