"""From command-line flags to the core's ``GenerationSettings`` and prompt template.

Files named by flags (``--schema``, ``--template-file``) are read here, so a bad one is a
one-line error before anything is sent.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from loom_core.errors import UsageError
from loom_core.model import GenerationSettings

__all__ = ["settings_from_args", "template_from_args"]


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"Cannot read the {what} {path}: {reason}") from None


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key.strip():
            raise UsageError(f"--param takes KEY=VALUE, got {pair!r}")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        params[key.strip()] = value
    return params


def _schema(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        schema = json.loads(_read(path, "schema"))
    except ValueError as error:
        raise UsageError(f"The schema {path} is not valid JSON: {error}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"The schema {path} must be a JSON object (a JSON Schema).")
    return schema


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    """The settings the flags ask for; flags a command lacks count as unset."""
    flag = lambda name, default=None: getattr(args, name, default)  # noqa: E731
    return GenerationSettings(
        temperature=flag("temperature"), max_tokens=flag("max_tokens"), top_p=flag("top_p"),
        top_k=flag("top_k"), stop=tuple(flag("stop", []) or ()), seed=flag("seed"),
        presence_penalty=flag("presence_penalty"), frequency_penalty=flag("frequency_penalty"),
        system=flag("system"), json_mode=bool(flag("json_mode", False)),
        schema=_schema(flag("schema")), extra=_params(flag("param", []) or []),
    )


def template_from_args(args: argparse.Namespace) -> str | None:
    if getattr(args, "template_file", None):
        return _read(args.template_file, "template file").rstrip("\n")
    return getattr(args, "template", None)
