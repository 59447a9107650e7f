"""An Anthropic ``Message`` -> Loom's ``Completion``; shared by sync and batch results.

- text: the message's text blocks joined (thinking, tool-use and other blocks are skipped);
- finish_reason: ``end_turn``/``stop_sequence`` are natural ends (None); ``max_tokens`` and
  ``model_context_window_exceeded`` cut the answer at a token limit (``length``); ``refusal``
  is the safety stop (``content_filter``); anything else is passed on lower-cased;
- input_tokens: the prompt's whole cost, i.e. ``input_tokens`` plus the prompt-cache creation
  and read tokens the API counts apart; output_tokens as reported.

A message without a single text block is an answer only when it stopped for a reason that
explains the emptiness (a refusal or a token limit): then text is ``""``. Otherwise there is
no answer at all, and the row gets a failure.
"""

from __future__ import annotations

from typing import Any

from loom_core.model import Completion

__all__ = ["completion_from_message", "finish_reason"]

_NATURAL = frozenset({"end_turn", "stop_sequence"})
_MAPPED = {
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str | None:
    """Loom's finish reason for an Anthropic ``stop_reason``."""
    if stop_reason is None or stop_reason in _NATURAL:
        return None
    return _MAPPED.get(stop_reason, str(stop_reason).lower())


def _input_tokens(usage: Any) -> int | None:
    if usage is None or getattr(usage, "input_tokens", None) is None:
        return None
    total = usage.input_tokens
    for cached in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        total += getattr(usage, cached, None) or 0
    return total


def completion_from_message(message: Any) -> Completion:
    """The ``Completion`` for an ``anthropic.types.Message`` (or a line's ``result.message``)."""
    blocks = getattr(message, "content", None) or []
    texts = [block.text for block in blocks
             if getattr(block, "type", None) == "text" and isinstance(block.text, str)]
    reason = finish_reason(getattr(message, "stop_reason", None))
    usage = getattr(message, "usage", None)
    if not texts and reason not in ("length", "content_filter"):
        stop = getattr(message, "stop_reason", None)
        return Completion.failure(
            f"anthropic returned no text (stop_reason={stop}, "
            f"{len(blocks)} non-text content block(s))"
        )
    return Completion(
        text="".join(texts),
        finish_reason=reason,
        input_tokens=_input_tokens(usage),
        output_tokens=getattr(usage, "output_tokens", None),
    )
