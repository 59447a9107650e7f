"""Atomic file writes: the one way Loom's adapters put a file on disk.

Used by the codecs (output files), the state store (``batches/``) and the response cache
(``cache/``). The content goes to a temporary file in the destination's own directory, is
flushed (and, when durability matters, fsynced), and only then renamed over the destination with
``os.replace``. A crash, a full disk or an exception raised while the content is produced leaves
the destination absent or exactly as it was, never half written (docs/design.md, Conventions).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["TEMP_SUFFIX", "atomic_write", "write_json_atomic"]

#: Temporary files end with this, so directory scans for ``*.json`` never see a write in flight.
TEMP_SUFFIX = ".tmp"


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    # Not tempfile.mkstemp: that creates the file 0600, and an output file should get the same
    # permissions (0666 minus the user's umask) as any file the user's tools create.
    for _ in range(100):
        temp = directory / f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file next to {directory / name}")


@contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    *,
    binary: bool = False,
    encoding: str = "utf-8",
    newline: str | None = None,
    durable: bool = True,
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on a clean exit it replaces ``path``.

    ``durable=False`` skips the fsyncs, for files whose loss costs nothing but a little time
    (cache entries: a lost entry is a miss). The rename is atomic either way.

    >>> with atomic_write("out.json") as f:   # doctest: +SKIP
    ...     f.write("{}")
    """
    destination = Path(path)
    directory = destination.parent
    # A missing folder (``--output results/out.csv``) is created rather than failing after the
    # answers were paid for.
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(directory, destination.name)
    try:
        try:
            if binary:
                stream: IO[Any] = os.fdopen(fd, "wb")
            else:
                stream = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        except BaseException:
            os.close(fd)
            raise
        with stream:
            yield stream
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temp, destination)
    except BaseException:
        # BaseException on purpose: Ctrl-C in the middle of a write must not leave the temp file.
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself survive a power cut on POSIX; Windows cannot open directories.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, durable: bool = True) -> None:
    """Write ``data`` as pretty-printed UTF-8 JSON (indent 2), atomically."""
    # Serialise first: a value json cannot encode fails before any file is touched.
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    with atomic_write(path, durable=durable) as stream:
        stream.write(text)
