"""``loom tokens``: count every prompt's input tokens with the provider's API."""

from __future__ import annotations

import argparse
import sys

from loom_core.calls import StopToken
from loom_core.services.tokens import TokenRequest, count_tokens

from ..interrupts import stop_on_signals
from ..progress import TokenProgress, progress_for
from ..settings import settings_from_args, template_from_args
from ._common import open_container, provider_adapter


def handle(args: argparse.Namespace) -> int:
    container = open_container()
    counter = provider_adapter(container, args.provider, "tokens", args.api_key,
                               concurrency=args.workers, base_url=args.base_url)
    with stop_on_signals(StopToken()) as stop:
        summary = count_tokens(
            TokenRequest(source=args.file, provider=args.provider, model=args.model,
                         prompt_column=args.col, template=template_from_args(args),
                         settings=settings_from_args(args), workers=args.workers),
            codecs=container.codec_registry(), counter=counter,
            progress=progress_for(TokenProgress, args.quiet), stop=stop,
        )
    for sample in summary.error_samples:
        print(f"Error: {sample}", file=sys.stderr)
    print(
        f"Total input tokens: {summary.total:,} across {summary.prompts:,} prompts "
        f"(provider={args.provider}, model={args.model}, errors={summary.errors:,})"
    )
    return 1 if summary.errors else 0
