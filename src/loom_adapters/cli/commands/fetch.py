"""``loom fetch``: report every pending batch's status and merge the finished ones."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import LoomError, StateError, UsageError
from loom_core.model import BatchJob, BatchStatus
from loom_core.ports import BatchProvider
from loom_core.services.fetch import FetchOptions, FetchOutcome, fetch_batch
from loom_core.services.manage import select_batches

from ..guard import ConfirmingGuard
from ._common import adapter_for, open_container

_UNSUCCESSFUL = (BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED)


def handle(args: argparse.Namespace) -> int:
    if args.batch_id is None and not args.all:
        raise UsageError("Nothing to fetch: pass --id ID for one batch, or --all.")
    container = open_container()
    store = container.state_store()
    entries = list(select_batches(store, args.batch_id))
    if not entries:
        print("No pending batches.")
        return 0

    adapters: dict[tuple[str, str | None], BatchProvider] = {}

    def provider_for(job: BatchJob) -> BatchProvider:
        # A batch lives at the address it was submitted to, unless --base-url moves it.
        where = (job.provider, args.base_url or job.base_url)
        if where not in adapters:
            adapters[where] = adapter_for(container, job.provider, "batch", args.api_key,
                                          base_url=where[1])
        return adapters[where]

    guard = ConfirmingGuard(args.force)
    options = FetchOptions(keep=args.keep)
    all_well = True
    for entry in entries:
        if isinstance(entry, StateError):
            print(f"Skipping a batch: {entry}", file=sys.stderr)
            all_well = False
            continue
        outcome = fetch_batch(entry, provider_for=provider_for,
                              codecs=container.codec_registry(), store=store, guard=guard,
                              options=options)
        all_well &= _report(outcome)
    return 0 if all_well else 1


def _report(outcome: FetchOutcome) -> bool:
    """Print one batch's outcome; return whether it went as a user would want."""
    job = outcome.job
    if outcome.problem is not None:
        print(f"Batch {job.batch_id} ({job.provider}): {outcome.status.value} — "
              f"{outcome.problem}", file=sys.stderr)
        return False
    if outcome.status is BatchStatus.COMPLETED:
        print(f"Fabric complete. id={job.batch_id} -> {outcome.output_path}")
        if outcome.errors:
            print(f"  {outcome.errors:,} of {outcome.rows:,} rows have no answer; "
                  f"see the llm_error column.", file=sys.stderr)
        return outcome.errors == 0
    print(f"Batch {job.batch_id} ({job.provider}, {job.model}): {outcome.status.value} — "
          f"{outcome.status.explanation}")
    return outcome.status not in _UNSUCCESSFUL
