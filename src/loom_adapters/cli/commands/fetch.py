"""``loom fetch``: report every pending batch's status and merge the finished ones."""

from __future__ import annotations

import argparse
import sys

from loom_core.errors import StateError, UsageError
from loom_core.services.fetch import FetchOptions, fetch_batch
from loom_core.services.manage import select_batches

from ..guard import ConfirmingGuard
from ..reports import report_fetched
from ._common import batch_providers, open_container


def handle(args: argparse.Namespace) -> int:
    if args.batch_id is None and not args.all:
        raise UsageError("Nothing to fetch: pass --id ID for one batch, or --all.")
    container = open_container()
    store = container.state_store()
    entries = list(select_batches(store, args.batch_id))
    if not entries:
        print("No pending batches.")
        return 0

    provider_for = batch_providers(container, args.api_key, args.base_url)
    guard = ConfirmingGuard(args.force)
    options = FetchOptions(keep=args.keep)
    all_well = True
    for entry in entries:
        if isinstance(entry, StateError):
            print(f"Skipping a batch: {entry}", file=sys.stderr)
            all_well = False
            continue
        outcome = fetch_batch(entry, provider_for=provider_for,
                              codecs=container.codec_registry(), store=store,
                              cache=container.response_cache(), guard=guard, options=options)
        all_well &= report_fetched(outcome)
    return 0 if all_well else 1
