"""OpenAI's ``BatchProvider``: a JSONL file of chat-completion requests, the Batch API, and the
output and error files it leaves.

Submit writes one line per request (``custom_id``, ``POST /v1/chat/completions``, the body
``request.chat_body`` builds, as sync calls send it) to a spooled temporary file, uploads it as
``<name>.jsonl`` with purpose ``batch`` and creates the batch. Results stream both result files
line by line: the output file holds answers (and per-request HTTP errors, whose
``response.status_code`` is not 200), the error file holds requests that never ran
(``batch_expired``, ``batch_cancelled``) or failed; either file may be absent.

The ``dialect`` and the size limits are per instance, so that the openai-compatible plugin can
reuse this class for other servers' Batch APIs (vLLM's) without OpenAI's name or OpenAI's caps.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import openai

from loom_core.errors import PermanentError, ProviderError, Remedy, UnsupportedError
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
from .request import OPENAI, ChatDialect, chat_body
from ..http_errors import one_line
from .response import completion_from_chat

__all__ = ["ENDPOINT", "MAX_FILE_BYTES", "MAX_REQUESTS", "OpenAIBatch", "result_of_line"]

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
# Small batches stay in memory; a big one spills to disk instead of filling it.
_SPOOL_BYTES = 16 * 1024 * 1024
# OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512.
_MAX_METADATA = 16
_MAX_KEY, _MAX_VALUE = 64, 512

_STATUSES = {
    "validating": BatchStatus.VALIDATING,
    "in_progress": BatchStatus.IN_PROGRESS,
    # Still on its way to a final state: loom fetch must look again.
    "finalizing": BatchStatus.IN_PROGRESS,
    # Up to 10 minutes after a cancel, before "cancelled".
    "cancelling": BatchStatus.CANCELLING,
    "completed": BatchStatus.COMPLETED,
    "failed": BatchStatus.FAILED,
    "expired": BatchStatus.EXPIRED,
    "cancelled": BatchStatus.CANCELLED,
}


def _metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    pairs = list(metadata.items())[:_MAX_METADATA]
    # A path's tail tells more than its head, so long values keep their end.
    return {str(k)[:_MAX_KEY]: str(v)[-_MAX_VALUE:] for k, v in pairs}


def _failure(label: str, error: Any) -> Completion:
    error = error if isinstance(error, Mapping) else {}
    code = error.get("code") or error.get("type")
    said = error.get("message") or "no message"
    return Completion.failure(one_line(f"{label}" + (f" {code}" if code else "") + f": {said}"))


def result_of_line(item: Mapping[str, Any], label: str = "OpenAI") -> tuple[str, Completion]:
    """One line of an output or error file -> (custom id, its answer or its failure)."""
    custom_id = str(item.get("custom_id"))
    if item.get("error"):
        return custom_id, _failure(label, item["error"])
    response = item.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200:
        return custom_id, _failure(f"{label} {status}", body.get("error"))
    try:
        return custom_id, completion_from_chat(body, label)
    except ProviderError as error:
        return custom_id, Completion.failure(str(error))


class OpenAIBatch(BatchProvider, BatchFinder):
    """``BatchProvider`` over the openai SDK's files and batches resources."""

    #: OpenAI's caps on one batch file; None where a server has none that Loom knows of.
    max_requests: int | None = MAX_REQUESTS
    max_file_bytes: int | None = MAX_FILE_BYTES

    def __init__(self, client: openai.OpenAI, api_key: str | None,
                 dialect: ChatDialect = OPENAI) -> None:
        self._client = client
        self._api_key = api_key
        self._dialect = dialect
        self._label = dialect.display_name

    @classmethod
    def from_config(cls, config: ProviderConfig) -> OpenAIBatch:
        return cls(sync_client(config), config.api_key)

    @property
    def limits(self) -> BatchLimits:
        # A little under the caps: the core plans parts from estimated sizes.
        return BatchLimits(
            max_requests=self.max_requests,
            max_bytes=int(self.max_file_bytes * 0.95) if self.max_file_bytes else None)

    def find_batch(self, metadata: Mapping[str, str], size: int,
                   created_after: str) -> str | None:
        """The batch carrying ``metadata`` among those created since ``created_after``."""
        cutoff = epoch_seconds(created_after) - CLOCK_SKEW_SECONDS
        wanted = _metadata(metadata)
        with translated(self._api_key, self._label):
            for batch in self._client.batches.list(limit=100):  # newest first, all pages
                if batch.created_at < cutoff:
                    break
                found = batch.metadata or {}
                if all(found.get(key) == value for key, value in wanted.items()):
                    return batch.id
        return None

    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        name = self._dialect.name
        if self.max_requests is not None and len(requests) > self.max_requests:
            raise UnsupportedError(
                f"{name} does not support batches of more than {self.max_requests:,} requests "
                f"(this one has {len(requests):,}); split the file. ", Remedy.USE_SYNC
            )
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as lines:
            size = 0
            for request in requests:
                line = json.dumps({
                    "custom_id": request.custom_id, "method": "POST", "url": ENDPOINT,
                    "body": chat_body(model, request.prompt, settings, self._dialect),
                }, ensure_ascii=False) + "\n"
                size += lines.write(line.encode("utf-8"))
            if self.max_file_bytes is not None and size > self.max_file_bytes:
                raise UnsupportedError(
                    f"{name} does not support batch files over "
                    f"{self.max_file_bytes / 1024 / 1024:,.0f} MB (this one is "
                    f"{size / 1024 / 1024:,.0f} MB); split the file. ", Remedy.USE_SYNC
                )
            lines.seek(0)
            with translated(self._api_key, self._label):
                # The name must end in .jsonl: the API refuses a batch file without it.
                uploaded = self._client.files.create(file=("loom-batch.jsonl", lines),
                                                     purpose="batch")
                options: dict[str, Any] = {}
                if metadata:
                    options["metadata"] = _metadata(metadata)
                batch = self._client.batches.create(
                    input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
                    **options,
                )
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        with translated(self._api_key, self._label):
            batch = self._client.batches.retrieve(batch_id)
        try:
            return _STATUSES[batch.status]
        except KeyError:
            raise PermanentError(
                f"{self._label} reported batch {batch_id} in a status Loom does not recognise: "
                f"{batch.status!r}"
            ) from None

    def results(self, batch_id: str) -> Iterator[tuple[str, Completion]]:
        with translated(self._api_key, self._label):
            batch = self._client.batches.retrieve(batch_id)
        # A batch whose every request failed has only an error file; an expired one keeps
        # its finished answers in the output file and the rest in the error file.
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                yield from self._lines(file_id)

    def _lines(self, file_id: str) -> Iterator[tuple[str, Completion]]:
        with translated(self._api_key, self._label):
            with self._client.files.with_streaming_response.content(file_id) as response:
                for number, line in enumerate(response.iter_lines(), 1):
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError:
                        item = None
                    if not isinstance(item, dict):
                        raise PermanentError(
                            f"{self._label} batch file {file_id}, line {number}, is not a JSON "
                            f"object"
                        )
                    yield result_of_line(item, self._label)

    def cancel(self, batch_id: str) -> None:
        with translated(self._api_key, self._label):
            self._client.batches.cancel(batch_id)

    def close(self) -> None:
        self._client.close()
