"""The library's own adapters of two core ports: an ``OutputGuard`` that never asks and a
``Progress`` that says nothing.

The command line asks a person before replacing a file and draws bars on a terminal; an
application embedding Loom has neither a person at a prompt nor a terminal of its own, so the
facade decides by an explicit ``overwrite`` flag and stays silent unless given a ``Progress``.
"""

from __future__ import annotations

import os

from loom_core.errors import OutputExistsError
from loom_core.model import Completion

__all__ = ["OverwriteGuard", "SilentProgress"]


class OverwriteGuard:
    """``OutputGuard``: write when the file is absent or ``overwrite`` is set; else refuse.

    Refuses by raising ``OutputExistsError`` with the library's wording (the services let
    that error through exactly as they raise their own, which names the CLI's ``--force``).
    """

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite

    def may_write(self, path: str) -> bool:
        if self.overwrite or not os.path.exists(path):
            return True
        raise OutputExistsError(
            f"Output file {path} already exists; pass overwrite=True to replace it.")


class SilentProgress:
    """``Progress``: the library's default; a run reports through its return value."""

    def start(self, total: int) -> None:
        pass

    def advance(self, completion: Completion | None = None, *, cached: bool = False,
                tokens: int | None = None, error: bool = False) -> None:
        pass

    def finish(self) -> None:
        pass
