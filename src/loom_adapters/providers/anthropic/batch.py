"""``BatchProvider`` for Anthropic: the Message Batches API through the blocking client.

- submit: one ``{"custom_id", "params"}`` per row, ``params`` being ``request.build_params``
  (a plain dict, so temperature/top_p/top_k sit in it directly). The API has no batch
  metadata, so ``metadata`` is not sent. Limits are checked before sending: at most 100,000
  requests and 256 MB per batch, custom ids matching ``^[a-zA-Z0-9_-]{1,64}$``.
- status: ``in_progress`` is in progress and ``canceling`` cancelling; ``ended`` says only that
  processing stopped, so how it ended is read from ``request_counts`` and
  ``cancel_initiated_at`` (``batch_status``).
- results: streams the JSONL lines (``messages.batches.results``), yielding every line:
  ``succeeded`` as the answer, ``errored``/``canceled``/``expired`` as failures. It works for
  every ended batch, cancelled and expired ones included, so their finished rows can be kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anthropic

from loom_core.errors import PermanentError, UnsupportedError
from loom_core.model import (
    BatchLimits,
    BatchRequest,
    BatchStatus,
    Completion,
    GenerationSettings,
)
from loom_core.ports import BatchFinder, BatchProvider
from loom_core.providers import ProviderConfig

from ..batch_lookup import CLOCK_SKEW_SECONDS, epoch_seconds

from .client import sync_client
from .errors import translated
from .request import CUSTOM_ID_PATTERN, build_params
from .response import completion_from_message

__all__ = ["AnthropicBatch", "batch_status", "line_completion"]

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024


def batch_status(batch: Any) -> BatchStatus:
    """Loom's status for an Anthropic ``MessageBatch``."""
    processing = batch.processing_status
    if processing == "in_progress":
        return BatchStatus.IN_PROGRESS
    if processing == "canceling":
        return BatchStatus.CANCELLING
    if processing != "ended":
        raise PermanentError(f"anthropic reported an unrecognised batch status {processing!r}")
    counts = batch.request_counts
    total = (counts.succeeded + counts.errored + counts.canceled + counts.expired
             + counts.processing)
    if total and counts.canceled == total:
        return BatchStatus.CANCELLED
    # A cancel that came after every request had finished cancelled nothing: that batch is
    # complete, so only a cancel that stopped some request makes it "cancelled".
    if batch.cancel_initiated_at is not None and counts.canceled:
        return BatchStatus.CANCELLED
    if counts.expired and not counts.succeeded:
        return BatchStatus.EXPIRED
    return BatchStatus.COMPLETED


def _error_text(result: Any) -> str:
    # An errored line is {"type": "errored", "error": {"type": "error", "error": {type, message}}}.
    outer = getattr(result, "error", None)
    inner = getattr(outer, "error", None)
    kind = getattr(inner, "type", None)
    said = getattr(inner, "message", None)
    if kind or said:
        return " ".join(f"anthropic: request errored: {kind or 'error'}: {said or ''}".split())
    return "anthropic: request errored (no error detail given)"


def line_completion(result: Any) -> Completion:
    """The ``Completion`` for one results line's ``result``."""
    kind = getattr(result, "type", None)
    if kind == "succeeded":
        return completion_from_message(result.message)
    if kind == "errored":
        return Completion.failure(_error_text(result))
    if kind == "canceled":
        return Completion.failure("anthropic: request canceled before it was processed "
                                  "(the batch was cancelled)")
    if kind == "expired":
        return Completion.failure("anthropic: request expired before it was processed "
                                  "(the batch reached its 24-hour limit)")
    return Completion.failure(f"anthropic: unrecognised result type {kind!r}")


class AnthropicBatch(BatchProvider, BatchFinder):
    """Submits, watches, reads and cancels Message Batches."""

    #: A little under the API's caps: the core plans parts from estimated sizes.
    limits = BatchLimits(max_requests=MAX_REQUESTS, max_bytes=int(MAX_BYTES * 0.95))

    def __init__(self, client: anthropic.Anthropic, api_key: str | None) -> None:
        self._client = client
        self._api_key = api_key

    @classmethod
    def from_config(cls, config: ProviderConfig) -> AnthropicBatch:
        return cls(sync_client(config), config.api_key)

    def find_batch(self, metadata: Mapping[str, str], size: int,
                   created_after: str) -> str | None:
        """The one batch of ``size`` requests created since ``created_after``, if exactly one.

        Message Batches carry no metadata, so a batch lost in a crash is recognised by its
        size and time alone; when that is ambiguous, nothing is claimed (and the part is sent
        again rather than merged with a stranger's results).
        """
        cutoff = epoch_seconds(created_after) - CLOCK_SKEW_SECONDS
        candidates = []
        with translated(api_key=self._api_key):
            for batch in self._client.messages.batches.list(limit=100):  # newest first
                if epoch_seconds(batch.created_at) < cutoff:
                    break
                counts = batch.request_counts
                total = (counts.processing + counts.succeeded + counts.errored
                         + counts.canceled + counts.expired)
                if total == size:
                    candidates.append(batch.id)
        return candidates[0] if len(candidates) == 1 else None

    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        if len(requests) > MAX_REQUESTS:
            raise UnsupportedError(
                f"anthropic accepts at most {MAX_REQUESTS:,} requests per batch; this batch "
                f"has {len(requests):,}")
        body: list[dict[str, Any]] = []
        size = 0
        for request in requests:
            if not CUSTOM_ID_PATTERN.match(request.custom_id):
                raise PermanentError(
                    f"anthropic: custom id {request.custom_id!r} does not match "
                    f"^[a-zA-Z0-9_-]{{1,64}}$")
            entry = {"custom_id": request.custom_id,
                     "params": build_params(model, request.prompt, settings)}
            size += len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + 1
            body.append(entry)
        if size > MAX_BYTES:
            raise UnsupportedError(
                f"anthropic accepts at most 256 MB per batch; this batch is about "
                f"{size / 2**20:,.0f} MB")
        with translated(api_key=self._api_key):
            batch = self._client.messages.batches.create(requests=body)
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        with translated(api_key=self._api_key):
            batch = self._client.messages.batches.retrieve(batch_id)
        return batch_status(batch)

    def results(self, batch_id: str) -> Iterator[tuple[str, Completion]]:
        with translated(api_key=self._api_key):
            try:
                lines = self._client.messages.batches.results(batch_id)
            except anthropic.AnthropicError as error:
                # The SDK looks the batch up first and refuses one without a results URL.
                if "results_url" not in str(error) or isinstance(error, anthropic.APIError):
                    raise
                raise PermanentError(f"anthropic: batch {batch_id} has not ended yet; its "
                                     f"results are available once it has") from error
        try:
            iterator = iter(lines)
            while True:
                # Only the read is translated: an exception thrown into this generator by
                # its consumer must pass through untouched.
                with translated(api_key=self._api_key):
                    line = next(iterator, None)
                if line is None:
                    return
                yield line.custom_id, line_completion(line.result)
        finally:
            lines.close()

    def cancel(self, batch_id: str) -> None:
        with translated(api_key=self._api_key):
            self._client.messages.batches.cancel(batch_id)

    def close(self) -> None:
        self._client.close()
