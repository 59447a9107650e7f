"""The response-cache key, exactly as the released loom-batch computes it (docs/compatibility.md).

sha256 over provider, model and prompt joined by NUL bytes, with a fourth part, the canonical
JSON of the generation settings, only when some setting is set: old cache entries keep hitting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .model import GenerationSettings

__all__ = ["cache_key", "cache_keyer"]


def cache_key(provider: str, model: str, prompt: str, settings: GenerationSettings | None = None) -> str:
    parts = [provider, model, prompt]
    settings_json = settings.canonical_json() if settings is not None else None
    if settings_json is not None:
        parts.append(settings_json)
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def cache_keyer(provider: str, model: str,
                settings: GenerationSettings | None = None) -> Callable[[str], str]:
    """``cache_key`` for many prompts of one run: the settings' JSON is spelled once, not per
    row, and the hash of what comes before the prompt is computed once and copied."""
    head = hashlib.sha256(f"{provider}\x00{model}\x00".encode())
    settings_json = settings.canonical_json() if settings is not None else None
    tail = b"" if settings_json is None else b"\x00" + settings_json.encode("utf-8")

    def key(prompt: str) -> str:
        digest = head.copy()
        digest.update(prompt.encode("utf-8"))
        digest.update(tail)
        return digest.hexdigest()

    return key
