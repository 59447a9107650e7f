"""An OpenAI-style chat completion (a plain dict) -> ``Completion``.

Shared by OpenAI sync calls (the SDK object as a dict), OpenAI batch output lines and OpenRouter
answers, which all carry the same ``chat.completion`` body. No SDK is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loom_core.errors import PermanentError, TransientError
from loom_core.model import Completion

__all__ = ["completion_from_chat", "finish_reason_of"]

# Finish reasons that explain an answer without text: the answer was cut or withheld.
_EXPLAINS_EMPTY = ("length", "content_filter")


def finish_reason_of(raw: Any) -> str | None:
    """Loom's finish reason: None for a natural end, else the provider's reason lower-cased."""
    if raw is None:
        return None
    reason = str(raw).strip().lower()
    return None if reason in ("", "stop") else reason


def _text_of(content: Any) -> str | None:
    # Some OpenAI-compatible upstreams (reached through OpenRouter) send a list of parts.
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text") for part in content
                 if isinstance(part, Mapping) and isinstance(part.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def completion_from_chat(data: Mapping[str, Any], provider: str) -> Completion:
    """The answer in a chat-completion body, or raise the ``ProviderError`` saying why none.

    ``provider`` is the display name used in error messages ("OpenAI", "OpenRouter").
    """
    choices = data.get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        raise PermanentError(f"{provider} sent a response with no answer (no choices)")
    choice = choices[0]
    message = choice.get("message") or {}
    reason = finish_reason_of(choice.get("finish_reason"))
    text = _text_of(message.get("content"))
    if message.get("refusal"):
        # The model declined: a safety stop, whatever finish reason came with it.
        reason = "content_filter"
    usage = data.get("usage") or {}
    if text is None:
        if reason in _EXPLAINS_EMPTY:
            text = ""
        elif reason == "error":
            # OpenRouter: the upstream model failed mid-answer; another try may well succeed.
            raise TransientError(f"{provider}: the model failed while answering "
                                 f"(finish reason 'error')")
        else:
            raise PermanentError(
                f"{provider} sent a response with no answer (message content is null, "
                f"finish reason {choice.get('finish_reason')!r})"
            )
    return Completion(
        text=text,
        finish_reason=reason,
        input_tokens=_int_or_none(usage.get("prompt_tokens")),
        output_tokens=_int_or_none(usage.get("completion_tokens")),
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
