"""The CLI's ``OutputGuard``: write when absent or forced, ask a person, refuse a script."""

from __future__ import annotations

import os
import sys

__all__ = ["ask_yes_no", "ConfirmingGuard"]


def ask_yes_no(question: str) -> bool | None:
    """Ask on the terminal; None when there is no person to ask (stdin is not a terminal)."""
    if not sys.stdin.isatty():
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class ConfirmingGuard:
    """May the output be written? Yes if it does not exist or ``--force``; else ask."""

    def __init__(self, force: bool) -> None:
        self.force = force

    def may_write(self, path: str) -> bool:
        if self.force or not os.path.exists(path):
            return True
        answer = ask_yes_no(f"Output file {path} already exists. Overwrite it?")
        return bool(answer)
