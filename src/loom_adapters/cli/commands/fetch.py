"""``loom fetch``: report every pending batch's status and merge the finished ones."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import StateError, UsageError

from ..guard import ConfirmingGuard
from ..reports import report_fetched
from ._common import access_from, open_app


def handle(args: argparse.Namespace) -> int:
    if args.batch_id is None and not args.all:
        raise UsageError("Nothing to fetch: pass --id ID for one batch, or --all.")
    app = open_app()
    jobs = app.jobs(args.batch_id)
    if not jobs:
        print("No pending batches.")
        return 0
    all_well = True
    for outcome in app.fetch(jobs, access_from(args), guard=ConfirmingGuard(args.force),
                             keep=args.keep):
        if isinstance(outcome, StateError):
            print(f"Skipping a batch: {outcome}", file=sys.stderr)
            all_well = False
            continue
        all_well &= report_fetched(outcome)
    return 0 if all_well else 1
