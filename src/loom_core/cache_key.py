"""The response-cache key, exactly as the released loom-batch computes it (docs/compatibility.md).

sha256 over provider, model and prompt joined by NUL bytes, with a fourth part, the canonical
JSON of the generation settings, only when some setting is set: old cache entries keep hitting.
"""

from __future__ import annotations

import hashlib

from .model import GenerationSettings

__all__ = ["cache_key"]


def cache_key(provider: str, model: str, prompt: str, settings: GenerationSettings | None = None) -> str:
    parts = [provider, model, prompt]
    settings_json = settings.canonical_json() if settings is not None else None
    if settings_json is not None:
        parts.append(settings_json)
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
