"""A Gemini answer as a Loom ``Completion``.

Answers arrive in two forms: SDK objects (sync calls, inline batch results) and the REST JSON of
a batch results file. Both are read here as the REST JSON (camelCase; SDK objects are dumped to
it first), so one function decides what every answer means:

- the text is the concatenation of the first candidate's text parts, thoughts left out;
- ``finishReason`` STOP is a natural end (None), MAX_TOKENS is ``length``, the safety and
  recitation stops are ``content_filter``, anything else is the reason lower-cased;
- a prompt blocked outright (``promptFeedback.blockReason``, no candidate) is an empty answer
  with ``content_filter``; a response with no candidate and no reason is an error;
- input tokens are ``promptTokenCount``; output tokens are the candidates' plus the thinking
  tokens, which Gemini bills as output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loom_core.errors import PermanentError
from loom_core.model import Completion

from ..http_errors import one_line
from .errors import api_error

__all__ = ["as_json", "completion_from_json", "custom_id_in", "error_message", "finish_reason"]

#: Where an inline request's metadata carries its custom id: Loom's own ``key``, then the
#: names the released loom-batch (0.7.0) sent (``custom_id``) or read back (``id``,
#: ``request_id``).
_ID_KEYS = ("key", "custom_id", "id", "request_id")

_NATURAL = {"STOP", "FINISH_REASON_UNSPECIFIED"}
_FILTERED = {
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
}


def as_json(value: Any) -> Any:
    """An SDK object as the REST JSON it came from (dicts pass through)."""
    if value is None or isinstance(value, Mapping):
        return value
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


def finish_reason(raw: Any) -> str | None:
    """Gemini's ``finishReason`` in Loom's vocabulary."""
    if raw is None:
        return None
    reason = str(getattr(raw, "value", raw)).upper()
    if reason in _NATURAL:
        return None
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return reason.lower()


def _usage(body: Mapping[str, Any]) -> tuple[int | None, int | None]:
    usage = body.get("usageMetadata") or {}
    prompt = usage.get("promptTokenCount")
    answer, thoughts = usage.get("candidatesTokenCount"), usage.get("thoughtsTokenCount")
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    return prompt, output


def completion_from_json(body: Any) -> Completion:
    """The completion a ``GenerateContentResponse`` (REST JSON) stands for.

    Raises ``PermanentError`` when the response holds no answer and no reason for its absence.
    """
    if not isinstance(body, Mapping):
        raise PermanentError("Gemini API sent a response without an answer")
    input_tokens, output_tokens = _usage(body)
    candidates = body.get("candidates") or []
    if not candidates:
        blocked = (body.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            return Completion(text="", finish_reason="content_filter",
                              input_tokens=input_tokens, output_tokens=output_tokens)
        raise PermanentError("Gemini API sent a response without a candidate or a reason")
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(part["text"] for part in parts
                   if isinstance(part.get("text"), str) and not part.get("thought"))
    return Completion(text=text, finish_reason=finish_reason(candidate.get("finishReason")),
                      input_tokens=input_tokens, output_tokens=output_tokens)


def custom_id_in(metadata: Mapping[str, Any] | None) -> str | None:
    """The custom id an inline response's ``metadata`` carries, or None when it carries none."""
    for name in _ID_KEYS:
        value = (metadata or {}).get(name)
        if isinstance(value, str) and value:
            return value
    return None


def error_message(error: Any, secret: str | None = None) -> str:
    """A per-request batch error (``{"code", "message", "status"}``) as one line."""
    data = as_json(error)
    if not isinstance(data, Mapping):
        return f"Gemini API error: {one_line(data, secret)}"
    code = data.get("code")
    return str(api_error(code if isinstance(code, int) else None, data.get("status"),
                         data.get("message"), {"error": data}, secret))
