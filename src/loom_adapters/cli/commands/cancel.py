"""``loom cancel``: stop a batch job at the provider and record it."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import UsageError

from ..reports import part_lines
from ..words import cli_words
from ._common import access_from, open_app


def handle(args: argparse.Namespace) -> int:
    if args.batch_id is None and not args.all:
        raise UsageError("Nothing to cancel: pass --id ID for one batch, or --all.")
    app = open_app()
    all_well = True
    cancelled_any = False
    for outcome in app.cancel(app.jobs(args.batch_id), access_from(args)):
        cancelled_any = True
        job = outcome.job
        name = job.batch_id if len(job.parts) == 1 else job.job_id
        if outcome.error is not None:
            print(f"Batch {name} ({job.provider}): could not cancel — "
                  f"{outcome.error.render(cli_words)}", file=sys.stderr)
            all_well = False
            continue
        print(f"Cancel requested. id={name} provider={job.provider} "
              f"status={outcome.status.value} (loom fetch merges the answers it finished "
              f"once the provider has stopped it)")
        for line in part_lines(job):
            print(line)
    if not cancelled_any:
        print("No running batches to cancel.")
    return 0 if all_well else 1
