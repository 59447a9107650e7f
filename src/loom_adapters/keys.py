"""API-key resolution: ``--api-key`` flag, then the environment, then ``.env`` (the seed's order).

The application layer calls ``resolve_api_key`` with the provider's ``ProviderSpec.key_env_var``
and the environment and working directory the composition root supplies; a ``None`` result
becomes ``loom_core.errors.MissingKeyError`` there when the provider requires a key. The ``.env`` file is read
with python-dotenv's ``dotenv_values``, which returns the values without touching
``os.environ``: the seed promises that ``.env`` never overrides the environment, and not writing
into ``os.environ`` at all also keeps one command's key from leaking into the next in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from loom_core.errors import UsageError

__all__ = ["DOTENV_NAME", "resolve_api_key"]

DOTENV_NAME = ".env"


def _present(value: str | None) -> str | None:
    # Empty (or blank) counts as unset: `export OPENAI_API_KEY=` must not hide a key in .env.
    if value is None:
        return None
    value = value.strip()
    return value or None


def resolve_api_key(
    flag_value: str | None,
    env_var: str | None,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The API key to use, or None when no source has one.

    ``env_var`` None means the provider takes no key from the environment; only the flag counts.
    ``cwd`` is where ``.env`` is looked for (the current directory by default; never a parent);
    ``environ`` is the environment (``os.environ`` by default).

    >>> resolve_api_key("sk-flag", "OPENAI_API_KEY")
    'sk-flag'
    """
    key = _present(flag_value)
    if key is not None or env_var is None:
        return key
    key = _present((os.environ if environ is None else environ).get(env_var))
    if key is not None:
        return key
    return _from_dotenv(Path(cwd) if cwd is not None else Path.cwd(), env_var)


def _from_dotenv(directory: Path, env_var: str) -> str | None:
    path = directory / DOTENV_NAME
    if not path.is_file():
        return None
    try:
        values = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # A .env that exists but cannot be read would otherwise surface as "no API key, put it
        # in .env", which sends the user to the very file that is the problem.
        raise UsageError(f"Cannot read {path}: {exc}") from exc
    return _present(values.get(env_var))
