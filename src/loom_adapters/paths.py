"""Where Loom keeps its files: the seed's ``~/.loom`` layout and its environment overrides.

``LOOM_HOME`` moves ``~/.loom``; ``LOOM_CACHE_DIR`` moves the response cache alone (the
released tool honours both from 0.6, docs/compatibility.md). The composition root builds a
``LoomPaths`` once and hands ``batches`` to the state store and ``cache`` to the response cache;
nothing here creates directories, the adapters do that when they first write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

__all__ = ["CACHE_DIR_ENV", "HOME_ENV", "LoomPaths"]

HOME_ENV = "LOOM_HOME"
CACHE_DIR_ENV = "LOOM_CACHE_DIR"


def _from_env(environ: Mapping[str, str], name: str) -> Path | None:
    # An empty value counts as unset, as an exported-but-blank variable usually means "default".
    value = environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


@attrs.frozen
class LoomPaths:
    """Loom's home and the two folders under it.

    >>> LoomPaths.from_env({"LOOM_HOME": "/srv/loom"}).batches
    PosixPath('/srv/loom/batches')
    """

    home: Path
    batches: Path
    cache: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LoomPaths:
        env = os.environ if environ is None else environ
        home = _from_env(env, HOME_ENV) or Path.home() / ".loom"
        cache = _from_env(env, CACHE_DIR_ENV) or home / "cache"
        return cls(home=home, batches=home / "batches", cache=cache)
