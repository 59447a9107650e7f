"""Opening dataset files for reading: plain or gzip by name, UTF-8 with or without a BOM.

Shared by the built-in codecs (``json_codec``, ``csv_codec``) and usable by plugin codecs. The
seed reads ``.json.gz`` and ``.csv.gz`` transparently and always writes outputs uncompressed, so
only reading lives here. ``input_errors`` turns what the OS, gzip and the UTF-8 decoder raise into
``InputError`` lines that name the file; note that gzip and decoding errors can surface at any
read, not only at open, so the whole read must run inside it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

from loom_core.codecs import GZIP_SUFFIX
from loom_core.errors import InputError

__all__ = ["ENCODING", "input_errors", "is_gzip_name", "open_binary", "open_text"]

#: utf-8-sig decodes plain UTF-8 too, and drops the BOM that Excel and Notepad like to add.
ENCODING = "utf-8-sig"


def is_gzip_name(path: str) -> bool:
    return path.lower().endswith(GZIP_SUFFIX)


def open_binary(path: str) -> BinaryIO:
    """The file's (decompressed) bytes, chosen by name: ``*.gz`` is gunzipped on the fly."""
    if is_gzip_name(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def open_text(path: str, *, newline: str | None = "") -> TextIO:
    """The file as UTF-8 text; ``newline=""`` (the default) leaves line endings untranslated,
    which is what the csv module needs to keep newlines inside quoted fields."""
    return io.TextIOWrapper(open_binary(path), encoding=ENCODING, newline=newline)


@contextmanager
def input_errors(path: str) -> Iterator[None]:
    """Re-raise read failures of ``path`` as one-line ``InputError`` messages."""
    try:
        yield
    except FileNotFoundError as exc:
        raise InputError(f"Input file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"Input path is a directory, not a file: {path}") from exc
    except PermissionError as exc:
        raise InputError(f"Cannot read {path}: permission denied") from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        # EOFError: a truncated gzip stream; zlib.error: corrupt deflate data.
        raise InputError(f"{path} is not a valid gzip file ({_reason(exc)})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (undecodable byte 0x{exc.object[exc.start]:02x}); "
            "save it as UTF-8 and try again"
        ) from exc
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed data ends early"
    return str(exc) or type(exc).__name__

