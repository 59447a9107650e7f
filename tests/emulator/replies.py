"""Deterministic answers and token counts shared by every emulated provider.

Tests import `reply_text` and `count_words` to compute the values the emulator
will send back, so a test can tell that each row of a dataset got its own answer.
"""

from __future__ import annotations

from typing import Any, Iterable

# A prompt containing this marker gets a per-request error inside a batch
# (OpenAI error-file line, Anthropic "errored" result, Gemini per-item error).
# Synchronous calls ignore it: use fault rules for those.
FAIL_MARKER = "[[fail]]"


def reply_text(model: str, prompt: str) -> str:
    """The answer the emulator gives to `prompt` sent to `model`."""
    return f"{model} says: {prompt}"


def count_words(text: str) -> int:
    """The emulator's token count: whitespace-separated words."""
    return len(text.split())


def input_tokens(texts: Iterable[str]) -> int:
    """Input tokens for a request whose message texts (user + system) are `texts`."""
    return sum(count_words(t) for t in texts)


def text_of_content(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content: a string or a list of parts.

    Parts are joined with a newline; non-text parts (images, tool calls) are skipped
    because the emulator only answers text.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "\n".join(texts)
    return ""


def text_of_gemini_content(content: Any) -> str:
    """Text of a Gemini Content ({"role", "parts": [{"text"}]}) or a bare string."""
    if isinstance(content, str):
        return content
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts") or []
    return "\n".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
