"""The library's own ``OutputGuard``: it never asks.

The command line asks a person before replacing a file; an application embedding Loom has no
person at a prompt, so the facade decides by an explicit ``overwrite`` flag. (Its progress is
the core's ``SilentProgress`` unless the application passes one.)
"""

from __future__ import annotations

import os

__all__ = ["OverwriteGuard"]


class OverwriteGuard:
    """``OutputGuard``: write when the file is absent or ``overwrite`` is set. A refusal is
    the core's ``OutputExistsError``, which the library words as "pass overwrite=True"."""

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite

    def may_write(self, path: str) -> bool:
        return self.overwrite or not os.path.exists(path)
