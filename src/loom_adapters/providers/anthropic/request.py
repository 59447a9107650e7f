"""GenerationSettings -> the body of an Anthropic Messages API request.

One function, ``build_params``, serves every mode: a batch sends its dict as each request's
``params`` unchanged; sync splits it with ``create_arguments`` into the keyword arguments
``AsyncAnthropic.messages.create`` takes and ``extra_body`` for the rest (in anthropic 2.14,
``create()`` has no ``temperature``/``top_p``/``top_k`` arguments and raises TypeError for
them); token counting keeps only what ``count_tokens`` accepts (``count_arguments``).

Choices, documented here because the Messages API forces them:

- ``max_tokens`` is required by the API. When unset, Loom sends ``DEFAULT_MAX_TOKENS`` (4096).
- ``seed``, ``presence_penalty`` and ``frequency_penalty`` do not exist in the Messages API:
  they raise ``UnsupportedError`` before anything is sent.
- ``json_mode``: Anthropic has no JSON-mode flag, and assistant prefill is refused by recent
  models, so Loom appends ``JSON_INSTRUCTION`` to the system prompt. The answer is returned as
  the model wrote it (no parsing, no stripping).
- ``schema``: the API's structured outputs, ``output_config.format`` of type ``json_schema``
  (it takes precedence over ``json_mode``, which it implies).
- ``extra`` is merged into the body last, unchanged, so it can override anything above.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from loom_core.errors import Option, UnsupportedError
from loom_core.model import GenerationSettings

__all__ = [
    "CUSTOM_ID_PATTERN",
    "DEFAULT_MAX_TOKENS",
    "JSON_INSTRUCTION",
    "build_params",
    "count_arguments",
    "create_arguments",
]

#: ``max_tokens`` sent when the user set none: the Messages API refuses a request without it.
DEFAULT_MAX_TOKENS = 4096

#: Appended to the system prompt for ``json_mode`` (Anthropic has no JSON-mode flag).
JSON_INSTRUCTION = (
    "Respond with a single valid JSON value and nothing else: no prose before or after it "
    "and no Markdown code fences."
)

#: What the Message Batches API accepts as a custom id.
CUSTOM_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# Settings the Messages API has no field for.
_UNSUPPORTED = ("seed", "presence_penalty", "frequency_penalty")

# Keys of the body that ``messages.create`` takes as named arguments; the rest (temperature,
# top_p, top_k, anything from ``extra``) must travel in ``extra_body``.
_CREATE_KEYWORDS = frozenset({"model", "max_tokens", "messages", "system", "stop_sequences"})

# ``count_tokens`` refuses generation knobs (max_tokens, temperature...): only these count.
_COUNT_KEYS = ("model", "messages", "system")


def _system_prompt(settings: GenerationSettings) -> str | None:
    if not settings.json_mode or settings.schema is not None:
        return settings.system
    if settings.system:
        return f"{settings.system}\n\n{JSON_INSTRUCTION}"
    return JSON_INSTRUCTION


def build_params(model: str, prompt: str, settings: GenerationSettings) -> dict[str, Any]:
    """The Messages API body for one prompt, or ``UnsupportedError`` for a setting it lacks."""
    for field in _UNSUPPORTED:
        if getattr(settings, field) is not None:
            raise UnsupportedError("anthropic does not support ", Option(field))
    if settings.extra.get("stream"):
        # Loom reads whole responses; a stream would arrive as an object it cannot merge.
        raise UnsupportedError("anthropic: Loom does not support streaming (extra 'stream')")

    params: dict[str, Any] = {
        "model": model,
        "max_tokens": settings.max_tokens if settings.max_tokens is not None
        else DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": prompt}],
    }
    system = _system_prompt(settings)
    if system is not None:
        params["system"] = system
    if settings.stop:
        params["stop_sequences"] = list(settings.stop)
    for field in ("temperature", "top_p", "top_k"):
        value = getattr(settings, field)
        if value is not None:
            params[field] = value
    if settings.schema is not None:
        params["output_config"] = {"format": {"type": "json_schema",
                                              "schema": dict(settings.schema)}}
    params.update(settings.extra)
    return params


def create_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as keyword arguments for ``messages.create``: named ones + ``extra_body``."""
    arguments = {key: value for key, value in params.items() if key in _CREATE_KEYWORDS}
    extra_body = {key: value for key, value in params.items() if key not in _CREATE_KEYWORDS}
    if extra_body:
        arguments["extra_body"] = extra_body
    return arguments


def count_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``params`` that ``messages.count_tokens`` accepts."""
    return {key: params[key] for key in _COUNT_KEYS if key in params}
