"""How the command line says what the core reports: flags for options, its own advice.

The core's errors mention the user's choices as data (``Option("top_k")``,
``Remedy.USE_SYNC``, see ``loom_core.errors``); this module is the CLI's vocabulary for them,
and ``error_line`` is the one line ``loom`` prints for an error. The library has its own
vocabulary (``loom._words``), so each face names its own flags or arguments.
"""

from __future__ import annotations

from loom_core.errors import LoomError, Option, Remedy, UnsupportedError

__all__ = ["FLAGS", "cli_words", "error_line"]

#: Each option's flag, by the option's library name; the rest are spelled ``--name-with-dashes``.
FLAGS = {
    "prompt_column": "--col",
    "base_url": "--base-url URL",
    "json_mode": "--json",
    "extra": "--param",
    "overwrite": "--force",
}


def cli_words(mention: Option | Remedy, subject: str | None = None) -> str:
    if isinstance(mention, Option):
        return FLAGS.get(mention.name, "--" + mention.name.replace("_", "-"))
    return {
        Remedy.USE_SYNC: "Re-run with --sync.",
        Remedy.USE_BATCH: "Re-run without --sync.",
        Remedy.OVERWRITE: "pass --force to overwrite it",
        Remedy.FETCH: "loom fetch",
        Remedy.CANCEL: f"loom cancel --id {subject}",
    }[mention]


def error_line(error: LoomError) -> str:
    """The error as ``loom`` prints it: one line, ``Error: ...`` (the seed's token-counting
    refusal keeps its own opening)."""
    text = " ".join(error.render(cli_words).split())
    if isinstance(error, UnsupportedError) and error.mode == "tokens":
        return text
    return f"Error: {text}"
