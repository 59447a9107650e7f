"""The paths a batch job remembers, made absolute where the job is submitted.

A job is fetched later, often from another working directory, where a relative path would name
another file or none. So the edges that build a submit request (``loom run`` and the library's
``Loom.submit_file``) anchor the input and an explicit output to the directory the job was
submitted from, as the released tool did; the core never looks at the working directory.
State files already holding a relative path (from the released tool or an older Loom) are read
as they are: they resolve against the folder fetch runs in, as they always did.

What the command line prints goes the other way: a remembered path under the working directory
is shown relative to it, as the user would have typed it.
"""

from __future__ import annotations

import os

__all__ = ["absolute_path", "shown_path"]


def absolute_path(path: str | os.PathLike[str]) -> str:
    """``path`` anchored to the current working directory (symbolic links left as they are)."""
    return os.path.abspath(os.fspath(path))


def shown_path(path: str) -> str:
    """``path`` relative to the working directory when it lies under it, else absolute."""
    here = os.getcwd()
    absolute = os.path.abspath(path)
    if os.path.commonpath([here, absolute]) == here:
        return os.path.relpath(absolute, here)
    return absolute
