"""Loom's ``GenerationSettings`` as a Gemini request, for every way a request leaves Loom.

One table (``_NUMBERS``) and one function (``generation_fields``) decide how each setting is
spelled; the three shapes below only differ in how they carry that result:

- ``sdk_config``: a ``GenerateContentConfig`` for ``models.generate_content`` (sync mode);
  ``extra`` travels as ``http_options.extra_body``, which the SDK merges into the body.
- ``inline_request``: one entry of ``batches.create(src=[...])`` (snake_case, the SDK converts).
- ``rest_request``: the REST ``GenerateContentRequest`` (camelCase) of a JSONL batch line,
  with ``extra`` merged into it here, as the SDK would merge it into a sync call's body.

An inline batch entry cannot carry ``extra`` (the SDK drops fields it does not know), so
``batch.py`` sends batches with ``extra`` as a file. ``check_supported`` refuses what Gemini
cannot do before anything is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from google.genai import types

from loom_core.errors import UnsupportedError
from loom_core.model import GenerationSettings

__all__ = [
    "MAX_STOP_SEQUENCES",
    "check_supported",
    "deep_merge",
    "generation_fields",
    "inline_request",
    "rest_request",
    "sdk_config",
    "user_turn",
]

#: The Gemini API accepts at most this many stop sequences.
MAX_STOP_SEQUENCES = 5

#: (GenerationSettings field, GenerateContentConfig field, REST generationConfig field)
_NUMBERS = (
    ("temperature", "temperature", "temperature"),
    ("max_tokens", "max_output_tokens", "maxOutputTokens"),
    ("top_p", "top_p", "topP"),
    ("top_k", "top_k", "topK"),
    ("seed", "seed", "seed"),
    ("presence_penalty", "presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequency_penalty", "frequencyPenalty"),
)


def check_supported(settings: GenerationSettings) -> None:
    """Raise ``UnsupportedError`` for a setting Gemini cannot honour."""
    if len(settings.stop) > MAX_STOP_SEQUENCES:
        raise UnsupportedError(
            f"google does not support --stop with more than {MAX_STOP_SEQUENCES} sequences "
            f"(got {len(settings.stop)})")


def generation_fields(settings: GenerationSettings) -> list[tuple[str, str, Any]]:
    """(SDK name, REST name, value) for every generation setting that is set.

    The system prompt and ``extra`` are not generation settings in Gemini's request: they sit
    beside ``generationConfig`` and each shape places them itself.
    """
    check_supported(settings)
    fields = [(sdk, rest, getattr(settings, name)) for name, sdk, rest in _NUMBERS
              if getattr(settings, name) is not None]
    if settings.stop:
        fields.append(("stop_sequences", "stopSequences", list(settings.stop)))
    if settings.json_mode or settings.schema is not None:
        fields.append(("response_mime_type", "responseMimeType", "application/json"))
    if settings.schema is not None:
        # Gemini's structured output takes a plain JSON Schema here (responseSchema wants
        # its own OpenAPI subset).
        fields.append(("response_json_schema", "responseJsonSchema", dict(settings.schema)))
    return fields


def user_turn(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def _config_kwargs(settings: GenerationSettings) -> dict[str, Any]:
    kwargs = {sdk: value for sdk, _rest, value in generation_fields(settings)}
    if settings.system is not None:
        kwargs["system_instruction"] = settings.system
    return kwargs


def sdk_config(settings: GenerationSettings) -> types.GenerateContentConfig | None:
    """The config of a ``generate_content`` call; None when nothing is set (an empty config
    would still send an empty ``generationConfig``)."""
    kwargs = _config_kwargs(settings)
    if settings.extra:
        kwargs["http_options"] = types.HttpOptions(extra_body=copy.deepcopy(dict(settings.extra)))
    return types.GenerateContentConfig(**kwargs) if kwargs else None


def inline_request(custom_id: str, prompt: str, settings: GenerationSettings) -> dict[str, Any]:
    """One inline batch entry; the custom id rides in ``metadata`` and comes back with the
    answer, which is how answers are matched (their order is arbitrary)."""
    entry: dict[str, Any] = {"contents": [user_turn(prompt)], "metadata": {"key": custom_id}}
    config = _config_kwargs(settings)
    if config:
        entry["config"] = config
    return entry


def rest_request(prompt: str, settings: GenerationSettings) -> dict[str, Any]:
    """The REST body of one request, as a JSONL batch line's ``request`` holds it."""
    body: dict[str, Any] = {"contents": [user_turn(prompt)]}
    if settings.system is not None:
        body["systemInstruction"] = {"parts": [{"text": settings.system}]}
    generation = {rest: value for _sdk, rest, value in generation_fields(settings)}
    if generation:
        body["generationConfig"] = generation
    if settings.extra:
        deep_merge(body, settings.extra)
    return body


def deep_merge(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Merge ``update`` into ``target``: nested objects merge, anything else replaces."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            # A copy: ``update`` is shared by every request of a batch.
            target[key] = copy.deepcopy(value)
