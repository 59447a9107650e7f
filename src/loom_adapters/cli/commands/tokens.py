"""``loom tokens``: count every prompt's input tokens with the provider's API."""

from __future__ import annotations

import argparse
import sys

from loom_core.calls import StopToken
from loom_core.services.tokens import TokenRequest

from ..interrupts import stop_on_signals
from ..progress import TokenProgress, progress_for
from ..settings import settings_from_args, template_from_args
from ..words import cli_words
from ._common import access_from, open_app


def handle(args: argparse.Namespace) -> int:
    app = open_app()
    with stop_on_signals(StopToken()) as stop:
        summary = app.count_tokens(
            TokenRequest(source=args.file, provider=args.provider, model=args.model,
                         prompt_column=args.col, template=template_from_args(args),
                         settings=settings_from_args(args), workers=args.workers),
            access_from(args), progress=progress_for(TokenProgress, args.quiet), stop=stop,
            words=cli_words,
        )
    for sample in summary.error_samples:
        print(f"Error: {sample}", file=sys.stderr)
    print(
        f"Total input tokens: {summary.total:,} across {summary.prompts:,} prompts "
        f"(provider={args.provider}, model={args.model}, errors={summary.errors:,})"
    )
    return 1 if summary.errors else 0
