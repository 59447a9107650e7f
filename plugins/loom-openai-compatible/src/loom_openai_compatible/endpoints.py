"""The endpoints file: named OpenAI-compatible servers, each registered as its own provider.

``endpoints.toml`` in Loom's data folder (``~/.loom``, or ``LOOM_HOME``), or the file
``LOOM_ENDPOINTS_FILE`` names, holds one table per server::

    [ollama]
    base_url = "http://localhost:11434/v1"

    [together]
    base_url = "https://api.together.xyz/v1"
    key_env = "TOGETHER_API_KEY"     # the NAME of the variable holding the key, never the key

This module only reads and checks the file (no SDK, no network): ``read_endpoints`` returns
what it found, with a ``problem`` on the file or on each endpoint that cannot be used, so that
the caller can register what works and explain what does not instead of failing Loom as a whole.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (a dependency on 3.10 only)
    import tomli as tomllib

__all__ = ["ENDPOINTS_FILE_ENV", "FILE_NAME", "Endpoint", "EndpointsFile", "endpoints_path",
           "read_endpoints"]

ENDPOINTS_FILE_ENV = "LOOM_ENDPOINTS_FILE"
FILE_NAME = "endpoints.toml"

# Endpoint names become part of provider names, state-file names and output file names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTINGS = ("base_url", "key_env")
# Settings that would put a secret into the file; refused without echoing their value.
_SECRETS = ("api_key", "key", "token", "apikey", "api-key")


@attrs.frozen
class Endpoint:
    """One named server of the file, or the reason it cannot be used."""

    name: str
    base_url: str | None = None
    #: The environment variable holding the key (None: the server takes no key).
    key_env: str | None = None
    problem: str | None = None


@attrs.frozen
class EndpointsFile:
    """What the endpoints file holds; ``problem`` says why none of it could be read."""

    path: Path
    endpoints: tuple[Endpoint, ...] = ()
    problem: str | None = None


def endpoints_path(home: str, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The endpoints file, and whether the user named it (then it must exist)."""
    named = environ.get(ENDPOINTS_FILE_ENV, "").strip()
    if named:
        return Path(named).expanduser(), True
    return Path(home) / FILE_NAME, False


def read_endpoints(home: str, environ: Mapping[str, str] | None = None) -> EndpointsFile:
    """The endpoints of the file in Loom's data folder ``home`` (or the one the environment
    names), each checked; never raises for a bad file."""
    path, named = endpoints_path(home, os.environ if environ is None else environ)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        # No file is the ordinary case; a file the user pointed at and that is gone is not.
        problem = f"{ENDPOINTS_FILE_ENV} names {path}, which does not exist" if named else None
        return EndpointsFile(path, problem=problem)
    except OSError as error:
        return EndpointsFile(path, problem=f"cannot read {path}: {error.strerror or error}")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return EndpointsFile(path, problem=f"{path} is not UTF-8 text")
    except tomllib.TOMLDecodeError as error:
        return EndpointsFile(path, problem=f"{path} is not valid TOML ({error})")
    return EndpointsFile(path, tuple(_endpoint(name, value) for name, value in data.items()))


def _endpoint(name: str, value: Any) -> Endpoint:
    if not _NAME.match(name):
        return Endpoint(name, problem="endpoint names may only hold letters, digits, '.', '_' "
                                      "and '-' (at most 64, starting with a letter or digit)")
    if not isinstance(value, dict):
        return Endpoint(name, problem=f"[{name}] must be a table with base_url = \"...\"")
    secrets = sorted(key for key in value if key.lower() in _SECRETS)
    if secrets:
        return Endpoint(name, problem=f"'{secrets[0]}' does not belong in the endpoints file: "
                                      f"keep the key in an environment variable and name that "
                                      f"variable with key_env")
    unknown = sorted(key for key in value if key not in _SETTINGS)
    if unknown:
        return Endpoint(name, problem=f"unknown setting '{unknown[0]}' (expected base_url and, "
                                      f"optionally, key_env)")
    base_url = value.get("base_url")
    if not isinstance(base_url, str) or not base_url.strip():
        return Endpoint(name, problem="base_url is missing (e.g. base_url = "
                                      "\"http://localhost:11434/v1\")")
    base_url = base_url.strip()
    if not base_url.lower().startswith(("http://", "https://")):
        return Endpoint(name, problem="base_url must start with http:// or https://")
    key_env = value.get("key_env")
    if key_env is not None and (not isinstance(key_env, str) or not _ENV_VAR.match(key_env)):
        # Not echoed: a value that is not a variable name may well be the key itself.
        return Endpoint(name, problem="key_env must be the NAME of an environment variable "
                                      "holding the key (e.g. key_env = \"TOGETHER_API_KEY\")")
    return Endpoint(name, base_url=base_url, key_env=key_env)
