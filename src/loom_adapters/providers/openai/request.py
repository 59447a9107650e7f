"""GenerationSettings -> an OpenAI chat-completions request body (a plain dict).

One function builds the body for every caller, so a setting means the same thing everywhere:
OpenAI sync calls, every line of an OpenAI batch file, and OpenRouter (whose API is
OpenAI-compatible and which imports this module). No SDK is imported here, so OpenRouter can
share it without loading ``openai``.

What the provider cannot honour is refused with ``UnsupportedError`` while the body is built,
that is before anything is sent.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from loom_core.errors import Option, UnsupportedError
from loom_core.model import GenerationSettings

__all__ = [
    "JSON_INSTRUCTION",
    "OPENAI",
    "OPENROUTER",
    "ChatDialect",
    "chat_body",
    "chat_messages",
    "is_reasoning_model",
]

#: Added as a system message in JSON mode when no message mentions JSON: OpenAI refuses
#: ``response_format={"type": "json_object"}`` unless the word "json" appears in the messages.
JSON_INSTRUCTION = "Answer in JSON."

#: OpenAI accepts at most this many stop sequences.
OPENAI_MAX_STOP = 4

# o1, o3-mini, o4-mini-2025-04-16, gpt-5, gpt-5.1, gpt-5-mini (and later gpt-N), also
# fine-tuned ("ft:o4-mini:org::id"); but not the chat variants (gpt-5-chat-latest), which
# are ordinary chat models.
_REASONING = re.compile(r"^(?:o\d+|gpt-(\d+))(?:$|[-.])")


@attrs.frozen
class ChatDialect:
    """How one OpenAI-compatible API differs from the others in what it accepts."""

    #: The provider's name, as the user types it after --provider (used in messages).
    name: str
    supports_top_k: bool = False
    #: Refuse more stop sequences than this (None: no limit known).
    max_stop: int | None = None
    #: Apply OpenAI's reasoning-model rules (max_completion_tokens, default sampling only).
    reasoning_rules: bool = False
    #: How error messages name the API ("OpenAI"); ``name`` when empty. Adapters reused for
    #: another server (the openai-compatible plugin) must not blame OpenAI for its answers.
    label: str = ""

    @property
    def display_name(self) -> str:
        return self.label or self.name


OPENAI = ChatDialect(name="openai", max_stop=OPENAI_MAX_STOP, reasoning_rules=True,
                     label="OpenAI")
# OpenRouter passes top_k on to the models that have it, and translates max_tokens itself
# for reasoning models, so none of OpenAI's own refusals apply.
OPENROUTER = ChatDialect(name="openrouter", supports_top_k=True)


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` is an OpenAI reasoning model (o-series, gpt-5 and later)."""
    name = model.removeprefix("ft:").split(":", 1)[0].lower()
    match = _REASONING.match(name)
    if match is None or "-chat" in name:
        return False
    generation = match.group(1)
    return generation is None or int(generation) >= 5


def chat_messages(prompt: str, settings: GenerationSettings) -> list[dict[str, str]]:
    """The messages for one prompt: the system text if any, the JSON hint if needed, the
    prompt as the user message."""
    messages: list[dict[str, str]] = []
    if settings.system:
        messages.append({"role": "system", "content": settings.system})
    # Only json_object mode needs the word; a JSON schema (the ``schema`` setting) does not.
    if (settings.json_mode and settings.schema is None
            and not _mentions_json(settings.system, prompt)):
        messages.append({"role": "system", "content": JSON_INSTRUCTION})
    messages.append({"role": "user", "content": prompt})
    return messages


def chat_body(model: str, prompt: str, settings: GenerationSettings,
              dialect: ChatDialect = OPENAI) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``prompt`` under ``settings``.

    Raises ``UnsupportedError`` for a setting ``dialect`` cannot honour.
    """
    reasoning = dialect.reasoning_rules and is_reasoning_model(model)
    _refuse_unsupported(model, settings, dialect, reasoning)

    body: dict[str, Any] = {"model": model, "messages": chat_messages(prompt, settings)}
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        # Reasoning models refuse max_tokens: their limit covers hidden reasoning tokens too.
        body["max_completion_tokens" if reasoning else "max_tokens"] = settings.max_tokens
    if settings.top_p is not None:
        body["top_p"] = settings.top_p
    if settings.top_k is not None:
        body["top_k"] = settings.top_k
    if settings.stop:
        body["stop"] = list(settings.stop)
    if settings.seed is not None:
        body["seed"] = settings.seed
    if settings.presence_penalty is not None:
        body["presence_penalty"] = settings.presence_penalty
    if settings.frequency_penalty is not None:
        body["frequency_penalty"] = settings.frequency_penalty
    schema = settings.schema
    if schema is not None:
        # Structured output. Not "strict": strict mode refuses every schema outside OpenAI's
        # subset (all properties required, no additional ones), which a user's schema may be.
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": _schema_name(schema), "schema": dict(schema)}}
    elif settings.json_mode:
        body["response_format"] = {"type": "json_object"}
    # Last, so that a user's extra field wins over Loom's own choice of the same name.
    body.update(settings.extra)
    return body


def _schema_name(schema: Any) -> str:
    # The API wants a name of letters, digits, _ and -, at most 64 long.
    title = schema.get("title") if isinstance(schema, dict) else None
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(title or "answer")).strip("_")[:64]
    return name or "answer"


def _mentions_json(system: str | None, prompt: str) -> bool:
    return "json" in (system or "").lower() or "json" in prompt.lower()


# Sampling settings a reasoning model accepts only at their default value.
_REASONING_DEFAULTS = (
    ("temperature", 1.0),
    ("top_p", 1.0),
    ("presence_penalty", 0.0),
    ("frequency_penalty", 0.0),
)


def _refuse_unsupported(model: str, settings: GenerationSettings, dialect: ChatDialect,
                        reasoning: bool) -> None:
    if settings.top_k is not None and not dialect.supports_top_k:
        raise UnsupportedError(f"{dialect.name} does not support ", Option("top_k"))
    if dialect.max_stop is not None and len(settings.stop) > dialect.max_stop:
        raise UnsupportedError(
            f"{dialect.name} does not support ", Option("stop"), f" with more than "
            f"{dialect.max_stop} sequences ({len(settings.stop)} given)"
        )
    if not reasoning:
        return
    for field, default in _REASONING_DEFAULTS:
        value = getattr(settings, field)
        if value is not None and value != default:
            raise UnsupportedError(
                f"{dialect.name} does not support ", Option(field), f" with the reasoning "
                f"model {model} (only the default, {default:g}, is accepted)"
            )
