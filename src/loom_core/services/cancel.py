"""``loom cancel``: ask the provider to stop a job's pending parts, and record what it says.

A cancelled batch keeps the answers it finished; the next ``loom fetch`` merges them.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..errors import LoomError
from ..model import BatchJob, BatchStatus
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
    """Cancel every part still running; return the job's status as the provider now sees it."""
    with store.lock(job):
        provider = provider_for(job)
        try:
            for part in job.parts:
                if part.batch_id is not None and not part.status.is_terminal:
                    provider.cancel(part.batch_id)
                    part.status = provider.status(part.batch_id)
        finally:
            # Whatever was cancelled before a failure is recorded, then the failure surfaces.
            job.status = job.parts_status()
            store.save(job)
    return job.status


def cancellable(job: BatchJob) -> bool:
    """Whether the job has a part the provider could still stop."""
    return any(part.batch_id is not None and not part.status.is_terminal for part in job.parts)

