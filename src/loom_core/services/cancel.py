"""``loom cancel``: ask the provider to stop a job's pending parts, and record what it says.

A provider takes a while to stop a batch (the requests in flight finish first), so a part
Loom asked to cancel is ``cancelling`` until the provider reports it ended. The job stays
pending until ``loom fetch`` has merged the answers its parts finished.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..errors import LoomError
from ..model import BatchJob, BatchPart, BatchStatus
from ..ports import BatchProvider, StateStore

__all__ = ["CancelOutcome", "cancel_job", "cancellable"]


@attrs.frozen
class CancelOutcome:
    """What a cancel did to one job: its status as the provider now sees it, or the error."""

    job: BatchJob
    status: BatchStatus
    error: LoomError | None = None


def cancel_job(job: BatchJob, *, provider_for: Callable[[BatchJob], BatchProvider],
               store: StateStore) -> BatchStatus:
    """Cancel every part still running; return the job's status as it is now recorded."""
    with store.lock(job):
        provider = provider_for(job)
        try:
            for part in job.parts:
                if _stoppable(part):
                    provider.cancel(part.batch_id)
                    part.status = BatchStatus.CANCELLING
                    part.seen(provider.status(part.batch_id))
        finally:
            # Whatever was cancelled before a failure is recorded, then the failure surfaces.
            # A job whose parts all ended is still to be merged: it stays pending (cancelling)
            # for loom fetch, which reports how it ended.
            status = job.parts_status()
            job.status = BatchStatus.CANCELLING if status.is_terminal else status
            store.save(job)
    return job.status


def cancellable(job: BatchJob) -> bool:
    """Whether the job has a part the provider could still be asked to stop."""
    return any(_stoppable(part) for part in job.parts)


def _stoppable(part: BatchPart) -> bool:
    return (part.batch_id is not None and not part.status.is_terminal
            and part.status is not BatchStatus.CANCELLING)
