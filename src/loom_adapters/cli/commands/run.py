"""``loom run``: submit a batch, or with ``--sync`` answer every prompt now."""

from __future__ import annotations

import argparse
import sys

from loom_core.calls import StopToken
from loom_core.retry import RetryPolicy
from loom_core.services.run_sync import SyncRequest

from ..guard import ConfirmingGuard
from ..interrupts import stop_on_signals
from ..progress import RunProgress, progress_for
from ..settings import settings_from_args, template_from_args
from ..words import cli_words
from ._common import access_from, open_app

EXIT_ROW_ERRORS = 1


def handle(args: argparse.Namespace) -> int:
    app = open_app()
    dataset = dict(source=args.file, provider=args.provider, model=args.model,
                   prompt_column=args.col, template=template_from_args(args),
                   output=args.output, settings=settings_from_args(args),
                   with_meta=args.with_meta)
    if not args.sync:
        return _submit(args, app, dataset)

    with stop_on_signals(StopToken()) as stop:
        summary = app.run_sync(
            SyncRequest(**dataset, workers=args.workers, use_cache=not args.no_cache,
                        retry=RetryPolicy(max_retries=args.max_retries)),
            access_from(args), guard=ConfirmingGuard(args.force),
            progress=progress_for(RunProgress, args.quiet), stop=stop, words=cli_words,
        )
    if not args.quiet:
        print(
            f"Done. {summary.rows:,} rows -> {summary.output_path} "
            f"(cache hits={summary.cache_hits:,}, provider calls={summary.calls:,}, "
            f"retries={summary.retries:,}, errors={summary.errors:,}, "
            f"cut short={summary.cut_short:,}, "
            f"tokens={summary.input_tokens:,} in / {summary.output_tokens:,} out)"
        )
    if summary.cache_write_failures:
        print(f"Warning: {summary.cache_write_failures:,} answers could not be cached.",
              file=sys.stderr)
    return EXIT_ROW_ERRORS if summary.errors else 0


def _submit(args: argparse.Namespace, app, dataset: dict) -> int:
    # Imported here: a sync run, which must start fast, never needs the batch path.
    from loom_core.services.submit import SubmitRequest

    from ..reports import report_submitted

    outcome = app.submit(
        SubmitRequest(**dataset, use_cache=not args.no_cache,
                      max_batch_tokens=args.max_batch_tokens),
        access_from(args), guard=ConfirmingGuard(args.force),
    )
    report_submitted(outcome)
    return 0
