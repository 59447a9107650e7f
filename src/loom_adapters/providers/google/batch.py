"""``BatchProvider`` for Gemini: the Batch API (``loom run``, then ``loom fetch``).

A batch goes out inline (``batches.create(src=[...])``, each entry carrying its custom id in
``metadata.key``) unless its serialized requests pass ``inline_limit_bytes`` (the API takes
about 20 MB inline): then the requests are written as JSONL lines ``{"key", "request"}`` to a
temporary file, uploaded, and the batch is created from ``files/<id>``. Either way each request
carries the same settings, placed by the SDK's own rules (``request.py``). Results come back the
same way, inline or as a JSONL file, and are matched on the key. The released loom-batch 0.7.0
sent its inline requests with ``metadata.custom_id`` instead, which is read too. An inline
response whose metadata came back without any id is handed on by its position, for
``loom fetch`` to match to the request sent there, as the last resort: the API reference says
inline responses come in request order
(https://ai.google.dev/api/batch-api#GenerateContentBatchOutput), though an open SDK issue
(googleapis/python-genai#1909) reports them out of order, and without ids nothing can tell;
fetch at least uses positions only when no entry has an id and there is one per request.

Batch names carry a ``batches/`` prefix, and the SDK refuses a name without it before sending.
An older Loom stored bare ids; ``canonical_id`` gives the prefixed form, which ``loom fetch``
uses to repair the state file, and every method accepts either.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import httpx2
from google import genai

from loom_core.errors import PermanentError
from loom_core.model import (
    BatchLimits,
    BatchRequest,
    BatchStatus,
    Completion,
    GenerationSettings,
)
from loom_core.ports import BatchFinder, BatchIdRepair, BatchProvider
from loom_core.providers import ProviderConfig

from ..batch_lookup import CLOCK_SKEW_SECONDS, epoch_seconds

from ..http_errors import one_line
from .client import DEFAULT_TIMEOUT, make_sync_client
from .errors import translated
from .request import GeminiRequest, inline_request, rest_request
from .response import as_json, completion_from_json, custom_id_in, error_message

__all__ = ["INLINE_LIMIT_BYTES", "GoogleBatch"]

#: Serialized inline requests above this size go as an uploaded file. The API's limit on the
#: whole create request is about 20 MB; the margin covers the envelope around the requests.
INLINE_LIMIT_BYTES = 19_000_000
#: The most an uploaded batch input file may hold.
MAX_FILE_BYTES = 2 * 1024**3
_DISPLAY_NAME_LIMIT = 128
_NAME = re.compile(r"batches/[^/\s]+")

#: Gemini's job states (``BATCH_STATE_*`` on the wire, ``JOB_STATE_*`` in the SDK) -> Loom's.
#: The Gemini API shows a batch being cancelled as running (its BatchState has no cancelling
#: value); Loom remembers the cancel it asked for, so that batch still reads ``cancelling``.
_STATUSES = {
    "PENDING": BatchStatus.VALIDATING,
    "QUEUED": BatchStatus.VALIDATING,
    "RUNNING": BatchStatus.IN_PROGRESS,
    "UPDATING": BatchStatus.IN_PROGRESS,
    "PAUSED": BatchStatus.IN_PROGRESS,
    "CANCELLING": BatchStatus.CANCELLING,
    "SUCCEEDED": BatchStatus.COMPLETED,
    "PARTIALLY_SUCCEEDED": BatchStatus.COMPLETED,
    "FAILED": BatchStatus.FAILED,
    "CANCELLED": BatchStatus.CANCELLED,
    "EXPIRED": BatchStatus.EXPIRED,
}


class GoogleBatch(BatchProvider, BatchFinder, BatchIdRepair):
    """Submits, watches, reads and cancels Gemini batches with the blocking SDK client."""

    def __init__(self, client: genai.Client, http: httpx2.Client, api_key: str | None, *,
                 inline_limit_bytes: int | None = None) -> None:
        # Kept on the instance: a genai.Client that is garbage collected closes its transport.
        self._client = client
        self._http = http
        self._secret = api_key
        self._inline_limit = INLINE_LIMIT_BYTES if inline_limit_bytes is None else (
            inline_limit_bytes)

    @classmethod
    def from_config(cls, config: ProviderConfig, *, inline_limit_bytes: int | None = None,
                    timeout: float | None = DEFAULT_TIMEOUT) -> GoogleBatch:
        client, http = make_sync_client(config, timeout)
        return cls(client, http, config.api_key, inline_limit_bytes=inline_limit_bytes)

    def close(self) -> None:
        self._http.close()
        self._client.close()


    # -- names -------------------------------------------------------------------------------
    def canonical_id(self, batch_id: str) -> str:
        """``batches/<id>``, the only form the SDK accepts, from it or from a bare ``<id>``."""
        name = batch_id.strip()
        if _NAME.fullmatch(name):
            return name
        if name and "/" not in name and not any(c.isspace() for c in name):
            return f"batches/{name}"
        raise PermanentError(f"{batch_id!r} is not a Gemini batch name (batches/<id>)")

    # -- the port ----------------------------------------------------------------------------
    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        request = GeminiRequest(settings, self._client._api_client)  # refuses before sending
        display_name = _display_name(metadata)
        entries = self._inline_entries(requests, request)
        if entries is not None:
            source: Any = entries
        else:
            source = self._upload(requests, request, display_name)
        with translated(self._secret):
            job = self._client.batches.create(
                model=model, src=source, config={"display_name": display_name})
        if not job.name:
            raise PermanentError("Gemini API created a batch without a name")
        return job.name  # exactly as given, prefix and all

    def status(self, batch_id: str) -> BatchStatus:
        name = self.canonical_id(batch_id)
        with translated(self._secret):
            job = self._client.batches.get(name=name)
        state = str(getattr(job.state, "value", job.state))
        status = _STATUSES.get(state.removeprefix("JOB_STATE_").removeprefix("BATCH_STATE_"))
        if status is None:
            raise PermanentError(f"Gemini batch {name} is in state {state}, which Loom does "
                                 "not recognise")
        return status

    def results(self, batch_id: str) -> Iterator[tuple[str | int, Completion]]:
        name = self.canonical_id(batch_id)
        with translated(self._secret):
            job = self._client.batches.get(name=name)
        dest = job.dest
        if dest is None:
            return
        if dest.inlined_responses is not None:
            # An entry whose metadata came back without an id goes by its position: the API
            # documents inline responses in request order (GenerateContentBatchOutput).
            for position, item in enumerate(dest.inlined_responses):
                key = custom_id_in(item.metadata)
                yield (position if key is None else key), self._completion(item.response,
                                                                           item.error)
        elif dest.file_name:
            yield from self._file_results(dest.file_name)

    @property
    def limits(self) -> BatchLimits:
        # Requests past the inline limit go as an uploaded file, which may hold up to 2 GB.
        return BatchLimits(max_bytes=int(MAX_FILE_BYTES * 0.95))

    def find_batch(self, metadata: Mapping[str, str], size: int,
                   created_after: str) -> str | None:
        """The batch whose display name carries ``metadata``, created since ``created_after``."""
        wanted = _display_name(metadata)
        cutoff = epoch_seconds(created_after) - CLOCK_SKEW_SECONDS
        with translated(self._secret):
            jobs = list(self._client.batches.list())
        for job in jobs:
            if job.display_name == wanted and epoch_seconds(job.create_time) >= cutoff:
                return job.name
        return None

    def cancel(self, batch_id: str) -> None:
        name = self.canonical_id(batch_id)
        with translated(self._secret):
            self._client.batches.cancel(name=name)

    # -- inside ------------------------------------------------------------------------------
    def _inline_entries(self, requests: Sequence[BatchRequest],
                        request: GeminiRequest) -> list[dict[str, Any]] | None:
        """The inline entries, or None once they grow past the inline limit."""
        entries, size = [], 0
        for item in requests:
            # Measured as the API receives it: {"request": <REST body>, "metadata": ...}.
            wire = {"request": rest_request(item.prompt, request),
                    "metadata": {"key": item.custom_id}}
            size += len(json.dumps(wire, ensure_ascii=False).encode("utf-8"))
            if size > self._inline_limit:
                return None
            entries.append(inline_request(item.custom_id, item.prompt, request))
        return entries

    def _upload(self, requests: Sequence[BatchRequest], request: GeminiRequest,
                display_name: str) -> str:
        """Write the requests as JSONL to a temporary file, upload it, return ``files/<id>``."""
        with tempfile.TemporaryFile() as lines:
            for item in requests:
                line = {"key": item.custom_id, "request": rest_request(item.prompt, request)}
                lines.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
            lines.seek(0)
            with translated(self._secret):
                uploaded = self._client.files.upload(
                    file=lines, config={"mime_type": "jsonl", "display_name": display_name})
        if not uploaded.name:
            raise PermanentError("Gemini API stored the batch input without a name")
        return uploaded.name

    def _file_results(self, file_name: str) -> Iterator[tuple[str, Completion]]:
        """Stream a results file: downloaded to a temporary file, then read line by line."""
        with tempfile.TemporaryFile() as lines:
            with translated(self._secret):
                self._client.files.download(file=file_name, destination=lines)
            lines.seek(0)
            yield from self._lines(lines)

    def _lines(self, lines: IO[bytes]) -> Iterator[tuple[str, Completion]]:
        for raw in lines:
            try:
                item = json.loads(raw)
            except ValueError:
                continue  # a blank or torn line names no request; its row stays unanswered
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                yield item["key"], self._completion(item.get("response"), item.get("error"))

    def _completion(self, response: Any, error: Any) -> Completion:
        if error is not None:
            return Completion.failure(error_message(error, self._secret))
        if response is None:
            return Completion.failure("Gemini API reported this request without an answer")
        try:
            return completion_from_json(as_json(response))
        except PermanentError as problem:
            return Completion.failure(str(problem))


def _display_name(metadata: Mapping[str, str]) -> str:
    """``loom <metadata values>``, cut from the left to the API's length limit (a path's tail
    says more than its head)."""
    name = one_line(" ".join(["loom", *(value for value in metadata.values() if value)]))
    if len(name) <= _DISPLAY_NAME_LIMIT:
        return name
    return "loom …" + name[-(_DISPLAY_NAME_LIMIT - len("loom …")):]
