"""``loom cancel``: stop a batch job at the provider and record it."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import LoomError, StateError, UsageError
from loom_core.model import BatchJob
from loom_core.services.cancel import cancel_job, cancellable
from loom_core.services.manage import select_batches

from ..reports import part_lines
from ._common import batch_providers, open_container


def handle(args: argparse.Namespace) -> int:
    if args.batch_id is None and not args.all:
        raise UsageError("Nothing to cancel: pass --id ID for one batch, or --all.")
    container = open_container()
    store = container.state_store()
    jobs = [e for e in select_batches(store, args.batch_id)
            if isinstance(e, BatchJob) and cancellable(e)]
    if not jobs:
        print("No running batches to cancel.")
        return 0
    provider_for = batch_providers(container, args.api_key, args.base_url)
    all_well = True
    for job in jobs:
        name = job.batch_id if len(job.parts) == 1 else job.job_id
        try:
            status = cancel_job(job, provider_for=provider_for, store=store)
        except (LoomError, StateError) as error:
            print(f"Batch {name} ({job.provider}): could not cancel — {error}", file=sys.stderr)
            all_well = False
            continue
        print(f"Cancel requested. id={name} provider={job.provider} status={status.value} "
              f"(loom fetch merges the answers it finished once the provider has stopped it)")
        for line in part_lines(job):
            print(line)
    return 0 if all_well else 1
