"""The ``loom`` command's argument parser: every command, flag and default of the seed README.

Only ``argparse`` is imported here, so ``loom --help`` starts instantly; argparse-manpage builds
the man page from ``build_parser()``.

Help that lists what is installed or what Loom writes (the input formats, the ``--with-meta``
columns) is built from the code that decides it (the codec registry, ``OutputColumns``), so it
cannot fall behind. Building it costs imports (the codecs, attrs), so it is written only when
help is read (``_HelpWhenShown``): ``loom --help`` and parsing a command never pay for it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["build_parser"]

PROG = "loom"
DESCRIPTION = (
    "Weave LLM jobs across OpenAI, Anthropic, Google and OpenRouter: run a dataset of prompts "
    "through an LLM in batch or live, and merge every answer back into its row."
)
EPILOG = """examples:
  loom run -f prompts.json -p openai -m gpt-4o-mini        submit a batch
  loom fetch                                              merge every finished batch
  loom run --sync -f data.csv -c text -p anthropic -m claude-3-5-haiku-latest
  loom tokens -f prompts.json -p google -m gemini-2.0-flash
  loom run --sync -f prompts.json -p echo -m echo           offline, with the echo plugin
"""


class _LazyVersion(argparse.Action):
    """``--version`` that looks the version up only when asked, keeping start-up cheap."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show Loom's version and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("loom-batch")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        print(f"loom {text}")
        parser.exit()


class _HelpWhenShown(argparse.Action):
    """Stores its value as argparse's ``store`` does (``const`` for a flag, ``nargs=0``, as
    ``store_true`` does); its help is ``describe()``, computed each time the help is read
    (``--help``, the man page), once ``describe`` is attached."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        self.describe: Callable[[], str] | None = None
        super().__init__(option_strings, dest, **kwargs)

    @property
    def help(self) -> str | None:
        if self.describe is None:
            return self._help
        return self.describe().replace("%", "%%")  # argparse %-formats help strings

    @help.setter
    def help(self, text: str | None) -> None:
        self._help = text

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def _help_when_shown(action: argparse.Action, describe: Callable[[], str]) -> None:
    # Attached after add_argument: Python 3.14 expands each help string as it is added, and
    # this one must not be built then.
    assert isinstance(action, _HelpWhenShown)
    action.describe = describe


def _input_formats() -> str:
    """The suffixes of Loom's own codecs, from the registry that picks a file's codec. A
    plugin's formats would need every plugin module loaded (the providers' too), which help
    text must not cost, so they are mentioned, not listed."""
    from loom_adapters.codecs import builtin_registry

    suffixes = builtin_registry().suffixes()
    listed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else (
        "".join(suffixes))
    return f"input file: {listed}, each also gzipped (.gz), or a format a plugin adds"


def _meta_columns() -> str:
    """The columns ``--with-meta`` adds, from ``OutputColumns``, which decides them."""
    from loom_core.merge import OutputColumns

    plain = OutputColumns(with_meta=False, with_error=False).names()
    meta = [name for name in OutputColumns(with_meta=True, with_error=False).names()
            if name not in plain]
    return (f"add the columns (JSON fields) {', '.join(meta)}: who answered, why an answer "
            "ended early, and the tokens it used")


def _whole_number(text: str, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, minimum=1)


def _non_negative_int(text: str) -> int:
    return _whole_number(text, minimum=0)


def _command(subparsers, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name, help=summary, description=summary, epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _dataset_flags(parser: argparse.ArgumentParser) -> None:
    _help_when_shown(parser.add_argument("--file", "-f", required=True, metavar="PATH",
                                         action=_HelpWhenShown), _input_formats)
    parser.add_argument("--provider", "-p", required=True, metavar="NAME",
                        help="openai, anthropic, google, openrouter, or an installed plugin's "
                             "provider (see loom providers)")
    parser.add_argument("--model", "-m", required=True, metavar="MODEL",
                        help="provider-specific model id, e.g. gpt-4o-mini")
    parser.add_argument("--col", "-c", metavar="COLUMN",
                        help="the column (or field) holding each prompt; needed by formats "
                             "without a default, such as CSV and Parquet (JSON and JSONL: "
                             "prompt)")
    parser.add_argument("--api-key", metavar="KEY",
                        help="override the API key from the environment or .env")
    parser.add_argument("--base-url", metavar="URL",
                        help="override the provider's API address (proxies, gateways, "
                             "OpenAI-compatible servers); default: the provider's *_BASE_URL "
                             "environment variable")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _prompt_flags(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--template", metavar="TEXT",
                        help='build each prompt from the row\'s columns (or fields), e.g. '
                             '"Classify: {text}"')
    source.add_argument("--template-file", metavar="PATH",
                        help="read the prompt template from a file")


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "generation settings", "the same flags for every provider; a setting the provider "
        "cannot honour is refused before anything is sent")
    group.add_argument("--temperature", "-t", type=_float, metavar="T")
    group.add_argument("--max-tokens", type=_positive_int, metavar="N",
                       help="cap on output tokens (Anthropic needs one: 4096 when unset)")
    group.add_argument("--top-p", type=_float, metavar="P")
    group.add_argument("--top-k", type=_positive_int, metavar="K")
    group.add_argument("--stop", action="append", default=[], metavar="TEXT",
                       help="stop sequence (repeatable)")
    group.add_argument("--seed", type=_whole_number, metavar="N")
    group.add_argument("--presence-penalty", type=_float, metavar="X")
    group.add_argument("--frequency-penalty", type=_float, metavar="X")
    group.add_argument("--system", metavar="TEXT", help="system prompt")
    group.add_argument("--json", dest="json_mode", action="store_true",
                       help="ask for a JSON answer (the provider's JSON mode)")
    group.add_argument("--schema", metavar="FILE",
                       help="a JSON Schema the answer must follow (structured output)")
    group.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="a field of the provider's request body, e.g. logprobs=true; for "
                            "google, a field of google-genai's GenerateContentConfig, e.g. "
                            "candidate_count=2 (repeatable; VALUE is read as JSON when it "
                            "parses, else as text)")


def _add_run(subparsers) -> None:
    run = _command(subparsers, "run",
                   "Submit a dataset as a batch job (default) or run it now with --sync.",
                   "loom run -f prompts.json -p openai -m gpt-4o-mini --sync")
    _dataset_flags(run)
    run.add_argument("--output", "-o", metavar="PATH",
                     help="output path (default: <input>_results_<provider>_<model>.<ext>)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--sync", dest="sync", action="store_true", default=False,
                      help="call the provider per prompt and write the output now")
    mode.add_argument("--batch", dest="sync", action="store_false",
                      help="use the provider's batch API (default)")
    run.add_argument("--workers", "-w", type=_positive_int, default=8, metavar="N",
                     help="concurrent requests in --sync mode (default: 8)")
    run.add_argument("--no-cache", action="store_true",
                     help="send every prompt, even those already answered in the cache; "
                          "fresh answers still refresh the cache")
    run.add_argument("--force", action="store_true",
                     help="overwrite an existing output file without asking (--sync, or a "
                          "batch whose every row the cache answers)")
    _help_when_shown(run.add_argument("--with-meta", action=_HelpWhenShown, nargs=0,
                                      const=True, default=False), _meta_columns)
    run.add_argument("--max-retries", type=_non_negative_int, default=5, metavar="N",
                     help="retries of a rate-limited or failed call in --sync mode (default: 5)")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="no progress bar and no summary line (errors are still shown)")
    run.add_argument("--max-batch-tokens", type=_positive_int, metavar="N",
                     help="the provider's limit on queued input tokens per model (OpenAI's "
                          "enqueued-token limit for your tier): a job is split so each part "
                          "stays under it (batch mode)")
    _prompt_flags(run)
    _settings_flags(run)


def _add_fetch(subparsers) -> None:
    fetch = _command(subparsers, "fetch",
                     "Poll the provider, download finished batches and merge them into their "
                     "output files.",
                     "loom fetch --id batch_abc123 --keep")
    fetch.add_argument("--id", "-i", dest="batch_id", metavar="ID",
                       help="fetch one job, by its id or any of its batches' ids (implies "
                            "--no-all)")
    fetch.add_argument("--all", "-a", dest="all", action=argparse.BooleanOptionalAction,
                       default=True,
                       help="process every pending batch under ~/.loom/batches/ (default)")
    fetch.add_argument("--api-key", metavar="KEY", help="override the resolved API key")
    fetch.add_argument("--base-url", metavar="URL",
                       help="override the API address the batch was submitted to")
    fetch.add_argument("--keep", "-k", action="store_true",
                       help="keep the batch's metadata file after a successful fetch")
    fetch.add_argument("--force", action="store_true",
                       help="overwrite existing output files without asking")


def _add_cancel(subparsers) -> None:
    cancel = _command(subparsers, "cancel",
                      "Cancel a batch job at the provider (its finished answers are kept).",
                      "loom cancel --id batch_abc123")
    cancel.add_argument("--id", "-i", dest="batch_id", metavar="ID",
                        help="cancel one job, by its id or any of its batches' ids")
    cancel.add_argument("--all", "-a", action="store_true",
                        help="cancel every running job")
    cancel.add_argument("--api-key", metavar="KEY", help="override the resolved API key")
    cancel.add_argument("--base-url", metavar="URL",
                        help="override the API address the batch was submitted to")


def _add_list(subparsers) -> None:
    _command(subparsers, "list",
             "List every batch known to Loom, with last-seen status, model and source file.",
             "loom list")


def _add_tokens(subparsers) -> None:
    tokens = _command(subparsers, "tokens",
                      "Count input tokens for every prompt with the provider's counting API.",
                      "loom tokens -f prompts.json -p anthropic -m claude-3-5-sonnet-latest")
    _dataset_flags(tokens)
    tokens.add_argument("--workers", "-w", type=_positive_int, default=8, metavar="N",
                        help="concurrent workers (default: 8)")
    tokens.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar (the total is still printed)")
    tokens.add_argument("--system", metavar="TEXT", help="system prompt to count as well")
    _prompt_flags(tokens)


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of days, 0 or more, got {text}")
    return value


def _add_cache(subparsers) -> None:
    cache = _command(subparsers, "cache", "Manage the on-disk response cache.",
                     "loom cache stats")
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    clear = _command(actions, "clear", "Delete every cached response under ~/.loom/cache/.",
                     "loom cache clear --yes")
    clear.add_argument("--yes", "-y", action="store_true", help="skip the confirmation prompt")
    _command(actions, "stats",
             "Show how many responses are cached, the disk they take, and how many by "
             "provider and model.",
             "loom cache stats")
    prune = _command(actions, "prune",
                     "Delete the cached responses older than a number of days.",
                     "loom cache prune --older-than 30")
    prune.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                       help="delete responses cached more than DAYS days ago (decimals allowed)")


def _add_providers(subparsers) -> None:
    _command(subparsers, "providers",
             "List the installed providers and what each supports (batch, sync, tokens).",
             "loom providers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_LazyVersion)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_run, _add_fetch, _add_cancel, _add_list, _add_tokens, _add_cache,
                _add_providers):
        add(subparsers)
    return parser
