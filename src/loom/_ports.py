"""The library's own ``OutputGuard``: it never asks.

The command line asks a person before replacing a file; an application embedding Loom has no
person at a prompt, so the facade decides by an explicit ``overwrite`` flag. (Its progress is
the core's ``SilentProgress`` unless the application passes one.)
"""

from __future__ import annotations

import os

from loom_core.errors import OutputExistsError
__all__ = ["OverwriteGuard"]


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
