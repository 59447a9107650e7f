"""Loom's ``GenerationSettings`` as a Gemini request, for every way a request leaves Loom.

Every shape starts from one ``GenerateContentConfig``, the SDK's own type for the settings of a
``generateContent`` call (``GeminiRequest.config``): Loom's settings under the SDK's names, then
each ``--param`` (``settings.extra``) as a field of that config, by its name
(``candidate_count``) or its REST spelling (``candidateCount``); a ``--param`` wins over a flag
that sets the same field.

The SDK's types and converter decide what a field may hold and where it goes in the REST body:
a generation field under ``generationConfig`` (``generationConfig.candidateCount``), a
request-level one at the root (``safetySettings``, ``tools``, ``cachedContent``). No table of
Gemini's fields is kept here on purpose: a hand-kept table falls behind the SDK the day it adds
a field, and a field put in the wrong place is refused by the API for every row (400 "Invalid
JSON payload received. Unknown name ...").

The three shapes of a request:

- sync mode hands ``config`` to ``models.generate_content``, which converts it;
- an inline batch entry carries ``config`` as well (``inline_request``), and ``batches.create``
  converts it by the same rules;
- a JSONL batch line holds the REST body itself (``rest_request``): the SDK's converter runs
  once per batch (``GeminiRequest.body_fields``) and each line adds its own ``contents``.

The converter is private to the SDK (``models._GenerateContentConfig_to_mldev``, the function
its own ``generate_content`` calls, then ``_common`` to make the result JSON), and every shape
runs it once to check the ``--param`` fields; should a release rename it, every Gemini test
fails at once, rather than a request going out wrong.

Refused before anything is sent (``UnsupportedError``, exit 2): more stop sequences than Gemini
takes, a ``--param`` the config does not know or whose value it rejects, and a field that steers
the SDK rather than the request (``http_options``, ``automatic_function_calling``, ...), which
the converter leaves out of the body and which a batch could therefore never honour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from google.genai import _common, types
from google.genai import models as _sdk_models

from loom_core.errors import Option, UnsupportedError
from loom_core.model import GenerationSettings

__all__ = [
    "MAX_STOP_SEQUENCES",
    "GeminiRequest",
    "check_supported",
    "inline_request",
    "rest_request",
    "user_turn",
]

#: The Gemini API accepts at most this many stop sequences.
MAX_STOP_SEQUENCES = 5

_CONFIG_FIELDS = types.GenerateContentConfig.model_fields
#: A ``--param`` may use a field's REST spelling (its alias) as well as its name.
_FIELD_BY_ALIAS = {field.alias: name for name, field in _CONFIG_FIELDS.items() if field.alias}


def check_supported(settings: GenerationSettings) -> None:
    """Raise ``UnsupportedError`` for a Loom setting Gemini cannot honour."""
    if len(settings.stop) > MAX_STOP_SEQUENCES:
        raise UnsupportedError(
            "google does not support ", Option("stop"),
            f" with more than {MAX_STOP_SEQUENCES} sequences (got {len(settings.stop)})")


class GeminiRequest:
    """One run's settings, checked once, in the shapes its requests take.

    ``api_client`` is the ``genai.Client``'s own API client: the SDK's converter needs it to
    spell some fields (a ``cached_content`` name, tools).
    """

    def __init__(self, settings: GenerationSettings, api_client: Any) -> None:
        check_supported(settings)
        params = _param_fields(settings.extra)
        fields = {**_own_fields(settings), **params}
        #: The config of a ``generate_content`` call; None when nothing is set (an empty
        #: config would still send an empty ``generationConfig``).
        self.config = _config(fields, params) if fields else None
        for name, value in params.items():
            if value is None:  # unsets the field
                continue
            try:
                placed = _body_fields(api_client, _config({name: value}, params))
            except ValueError as error:  # a field only Vertex AI takes
                raise UnsupportedError("google: ", Option("extra"), f" {name}: {error}") from None
            if not placed:
                raise UnsupportedError(
                    "google: ", Option("extra"), f" {name} configures the google-genai "
                    f"client, not the request Gemini receives")
        #: What ``config`` sets in the REST body, ``contents`` aside.
        self.body_fields = (
            _body_fields(api_client, self.config) if self.config is not None else {})


def _own_fields(settings: GenerationSettings) -> dict[str, Any]:
    """Loom's settings as ``GenerateContentConfig`` fields."""
    fields: dict[str, Any] = {}
    for name, sdk_name in (("temperature", "temperature"), ("max_tokens", "max_output_tokens"),
                           ("top_p", "top_p"), ("top_k", "top_k"), ("seed", "seed"),
                           ("presence_penalty", "presence_penalty"),
                           ("frequency_penalty", "frequency_penalty"),
                           ("system", "system_instruction")):
        value = getattr(settings, name)
        if value is not None:
            fields[sdk_name] = value
    if settings.stop:
        fields["stop_sequences"] = list(settings.stop)
    if settings.json_mode or settings.schema is not None:
        fields["response_mime_type"] = "application/json"
    if settings.schema is not None:
        # Gemini's structured output takes a plain JSON Schema here (response_schema wants
        # its own OpenAPI subset).
        fields["response_json_schema"] = dict(settings.schema)
    return fields


def _param_fields(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``--param`` values by config field name; an unknown name is refused."""
    fields: dict[str, Any] = {}
    for key, value in extra.items():
        name = key if key in _CONFIG_FIELDS else _FIELD_BY_ALIAS.get(key)
        if name is None:
            raise UnsupportedError(
                "google: ", Option("extra"),
                f" {key} is not a field of google-genai's GenerateContentConfig")
        fields[name] = value
    return fields


def _config(fields: Mapping[str, Any], params: Mapping[str, Any]) -> types.GenerateContentConfig:
    try:
        return types.GenerateContentConfig(**fields)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        flag = (Option("extra"), " ") if problem["loc"] and problem["loc"][0] in params else ()
        raise UnsupportedError("google: ", *flag, f"{where}: {problem['msg']}") from None


def _body_fields(api_client: Any, config: types.GenerateContentConfig) -> dict[str, Any]:
    """The REST body fields ``config`` sets, as the SDK's ``generate_content`` would send them
    to the Gemini Developer API (``contents`` aside)."""
    body: dict[str, Any] = {}
    generation = _sdk_models._GenerateContentConfig_to_mldev(api_client, config, body)
    if generation:
        body["generationConfig"] = generation
    return _common.encode_unserializable_types(_common.convert_to_dict(body))


def user_turn(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def inline_request(custom_id: str, prompt: str, request: GeminiRequest) -> dict[str, Any]:
    """One inline batch entry; the custom id rides in ``metadata`` and comes back with the
    answer, which is how answers are matched (their order is arbitrary)."""
    entry: dict[str, Any] = {"contents": [user_turn(prompt)], "metadata": {"key": custom_id}}
    if request.config is not None:
        entry["config"] = request.config
    return entry


def rest_request(prompt: str, request: GeminiRequest) -> dict[str, Any]:
    """The REST body of one request, as a JSONL batch line's ``request`` holds it."""
    return {"contents": [user_turn(prompt)], **request.body_fields}
