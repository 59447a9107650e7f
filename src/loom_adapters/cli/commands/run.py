"""``loom run``: submit a batch, or with ``--sync`` answer every prompt now."""

from __future__ import annotations

import argparse
import sys

from loom_adapters.container import Container
from loom_core.calls import StopToken
from loom_core.model import GenerationSettings
from loom_core.retry import RetryPolicy
from loom_core.services.run_sync import SyncRequest, run_sync

from ..guard import ConfirmingGuard
from ..interrupts import stop_on_signals
from ..progress import RunProgress, progress_for
from ..settings import settings_from_args, template_from_args

from ._common import open_container, provider_adapter, sync_adapter_when_needed

EXIT_ROW_ERRORS = 1


def handle(args: argparse.Namespace) -> int:
    container = open_container()
    settings = settings_from_args(args)
    template = template_from_args(args)
    if not args.sync:
        return _submit(args, container, settings, template)

    provider = sync_adapter_when_needed(container, args.provider, args.api_key,
                                        concurrency=args.workers, base_url=args.base_url)
    with stop_on_signals(StopToken()) as stop:
        summary = run_sync(
            SyncRequest(source=args.file, provider=args.provider, model=args.model,
                        prompt_column=args.col, template=template, output=args.output,
                        settings=settings,
                        with_meta=args.with_meta, workers=args.workers,
                        use_cache=not args.no_cache,
                        retry=RetryPolicy(max_retries=args.max_retries)),
            codecs=container.codec_registry(), provider=provider,
            cache=container.response_cache(), guard=ConfirmingGuard(args.force),
            progress=progress_for(RunProgress, args.quiet), stop=stop,
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


def _submit(args: argparse.Namespace, container: Container, settings: GenerationSettings,
            template: str | None) -> int:
    # Imported here: a sync run, which must start fast, never needs the batch path.
    from loom_adapters.container import batch_address
    from loom_core.services.submit import SubmitRequest, submit_batch

    from ..reports import report_submitted

    provider = provider_adapter(container, args.provider, "batch", args.api_key,
                                base_url=args.base_url)
    outcome = submit_batch(
        SubmitRequest(source=args.file, provider=args.provider, model=args.model,
                      prompt_column=args.col, template=template, output=args.output,
                      settings=settings, with_meta=args.with_meta,
                      base_url=batch_address(container, args.provider, args.base_url),
                      use_cache=not args.no_cache,
                      max_batch_tokens=args.max_batch_tokens),
        codecs=container.codec_registry(), provider=provider,
        store=container.state_store(), cache=container.response_cache(),
        guard=ConfirmingGuard(args.force),
    )
    report_submitted(outcome)
    return 0
