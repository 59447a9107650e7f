"""Splitting a job's requests into provider batches that each stay within the provider's limits.

The split is planned from sizes alone, before anything is written or uploaded, so a dataset
that cannot be sent fails before any money is spent. Sizes are estimates, deliberately on the
high side: a request's line in a batch file is its prompt, JSON-escaped, plus the settings and a
fixed envelope; its input tokens are taken as one per three bytes of prompt (English runs
nearer four, so this leaves room), which is what OpenAI's enqueued-token budget is checked
against.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import attrs

from .errors import InputError
from .model import BatchLimits

__all__ = ["RequestSize", "plan_parts", "request_size"]

#: Bytes of a batch line besides the prompt and the settings: ids, model, method, url, keys.
ENVELOPE_BYTES = 300


@attrs.frozen
class RequestSize:
    bytes: int
    tokens: int


def request_size(prompt: str, settings_json: str | None) -> RequestSize:
    """The estimated size of one request in a batch file, and its input tokens."""
    encoded = len(json.dumps(prompt, ensure_ascii=False).encode("utf-8"))
    extra = len(settings_json.encode("utf-8")) if settings_json else 0
    return RequestSize(bytes=encoded + extra + ENVELOPE_BYTES, tokens=encoded // 3 + 1)


def plan_parts(sizes: Iterable[RequestSize], limits: BatchLimits) -> list[tuple[int, int]]:
    """``(start, end)`` ranges over the requests, in order, each range one provider batch."""
    parts: list[tuple[int, int]] = []
    start = count = used_bytes = used_tokens = 0
    for index, size in enumerate(sizes):
        if limits.max_bytes is not None and size.bytes > limits.max_bytes:
            raise InputError(
                f"Request {index} is about {size.bytes:,} bytes, more than the provider takes "
                f"in one batch ({limits.max_bytes:,}); shorten that prompt.")
        full = count > 0 and (
            (limits.max_requests is not None and count + 1 > limits.max_requests)
            or (limits.max_bytes is not None and used_bytes + size.bytes > limits.max_bytes)
            or (limits.max_tokens is not None and used_tokens + size.tokens > limits.max_tokens))
        if full:
            parts.append((start, index))
            start, count, used_bytes, used_tokens = index, 0, 0, 0
        count += 1
        used_bytes += size.bytes
        used_tokens += size.tokens
    if count:
        parts.append((start, start + count))
    return parts

