"""How the library says what the core reports: argument names, and its own advice.

The core's errors mention the user's choices as data (see ``loom_core.errors``); the command
line names its flags, the library its arguments. ``in_library_words`` claims every
``LoomError`` that leaves a ``Loom`` method, so ``str(error)`` reads in these words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from loom_core.errors import LoomError, Option, Remedy

__all__ = ["claim", "in_library_words", "library_words"]

#: Options passed as ``name=...``; the rest are settings, named as they are.
_ARGUMENTS = ("api_key", "base_url", "prompt_column", "template", "output", "overwrite")


def library_words(mention: Option | Remedy, subject: str | None = None) -> str:
    if isinstance(mention, Option):
        return f"{mention.name}=..." if mention.name in _ARGUMENTS else mention.name
    return {
        Remedy.USE_SYNC: "Use run_file() or generate_many() instead, which answer now.",
        Remedy.USE_BATCH: "Use submit_file() instead.",
        Remedy.OVERWRITE: "pass overwrite=True to replace it",
        Remedy.FETCH: "Loom.fetch()",
        Remedy.CANCEL: f"Loom.cancel({subject!r})",
    }[mention]


def claim(error: LoomError) -> LoomError:
    """``error``, to be said in the library's words."""
    error.words = library_words
    cause = getattr(error, "cause", None)
    if isinstance(cause, LoomError):
        claim(cause)
    return error


@contextmanager
def in_library_words() -> Iterator[None]:
    try:
        yield
    except LoomError as error:
        claim(error)
        raise
