"""The domain's value types.

Everything Loom reasons about is one of these attrs classes: a dataset row (``Record``), the
knobs of a generation (``GenerationSettings``), one answer (``Completion``), a batch submitted to a
provider and remembered locally (``BatchJob``) and its ``BatchStatus``. They hold data and the
rules that belong to the data; they know nothing of files, SDKs or the terminal. The JSON shape
of ``BatchJob`` and ``CacheEntry`` lives in ``loom_core.serialization``.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

__all__ = [
    "BatchJob",
    "BatchLimits",
    "BatchPart",
    "BatchRequest",
    "BatchStatus",
    "CacheEntry",
    "CacheStats",
    "Completion",
    "GenerationSettings",
    "Record",
    "RowKey",
    "WITH_RESULTS",
]

#: A row's identity in its file: the JSON item's ``id`` (kept with its JSON type), or the CSV
#: row's zero-based index as a string. This is what a batch's ``id_map`` maps custom ids to.
RowKey = Any


class BatchStatus(str, enum.Enum):
    """A batch's last-seen status: the seed's ``loom fetch`` table, and ``cancelling``."""

    VALIDATING = "validating"
    IN_PROGRESS = "in_progress"
    #: A cancel was asked for and the provider has not yet said the batch ended.
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """Whether the provider will never change this batch again.

        ``unknown`` is not terminal: it means the last look failed, and the next fetch retries.
        """
        return self not in (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS,
                            BatchStatus.CANCELLING, BatchStatus.UNKNOWN)

    @property
    def explanation(self) -> str:
        """The one-sentence meaning the seed gives for this status."""
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    BatchStatus.VALIDATING: (
        "Provider has accepted the batch and is queueing/preparing it; no work has started yet."
    ),
    BatchStatus.IN_PROGRESS: "Provider is actively running the prompts; check back later.",
    BatchStatus.CANCELLING: (
        "You cancelled the batch and the provider is stopping it; once it has stopped, "
        "loom fetch merges the answers it finished."
    ),
    BatchStatus.COMPLETED: (
        "All prompts finished and results were downloaded — the merged output file has been "
        "written."
    ),
    BatchStatus.FAILED: "Provider reported the batch as failed; results are not available.",
    BatchStatus.EXPIRED: (
        "Batch exceeded the provider's time limit (typically 24h) before completing."
    ),
    BatchStatus.CANCELLED: (
        "Batch was cancelled — either by you on the provider's dashboard, or by the provider "
        "itself."
    ),
    BatchStatus.UNKNOWN: (
        "The last fetch attempt raised an error (invalid id, auth failure, network glitch, or an "
        "API response Loom doesn't recognise). Re-run loom fetch to retry; if it persists, "
        "inspect the metadata file under ~/.loom/batches/."
    ),
}


@attrs.frozen
class Record:
    """One dataset row as the core sees it: where it is, who it is, what to ask."""

    index: int
    key: RowKey
    prompt: str


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected a whole number, got {value}")
    return int(value)


def _stop_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # one stop sequence, not one per character
        return (value,)
    return tuple(value or ())


@attrs.frozen
class GenerationSettings:
    """How to generate, the same for every provider; unset fields are left to the provider.

    The canonical JSON of the set fields is part of the cache key (docs/compatibility.md): a
    change of settings must miss the cache, and no settings at all must keep the released
    tool's key.
    """

    temperature: float | None = attrs.field(default=None, converter=_optional_float)
    max_tokens: int | None = attrs.field(default=None, converter=_optional_int)
    top_p: float | None = attrs.field(default=None, converter=_optional_float)
    top_k: int | None = attrs.field(default=None, converter=_optional_int)
    stop: tuple[str, ...] = attrs.field(default=(), converter=_stop_tuple)
    seed: int | None = attrs.field(default=None, converter=_optional_int)
    presence_penalty: float | None = attrs.field(default=None, converter=_optional_float)
    frequency_penalty: float | None = attrs.field(default=None, converter=_optional_float)
    system: str | None = None
    json_mode: bool = False
    #: A JSON Schema the answer must follow, through the provider's structured-output feature.
    schema: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    # Left out of the hash (a dict cannot be hashed); equality still compares it.
    extra: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def set_fields(self) -> dict[str, Any]:
        """The fields that are set, under the names the cache key uses."""
        fields: dict[str, Any] = {}
        for name in (
            "temperature", "max_tokens", "top_p", "top_k", "seed",
            "presence_penalty", "frequency_penalty", "system",
        ):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        if self.stop:
            fields["stop"] = list(self.stop)
        if self.json_mode:
            fields["json_mode"] = True
        if self.schema is not None:
            fields["schema"] = self.schema
        if self.extra:
            fields["extra"] = dict(self.extra)
        return fields

    def canonical_json(self) -> str | None:
        """The settings as the cache key spells them, or None when nothing is set."""
        fields = self.set_fields()
        if not fields:
            return None
        return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen
class Completion:
    """What came back for one prompt: an answer, or the reason there is none.

    ``finish_reason`` says why the answer stopped when it was not a natural end (for example
    ``length`` or ``content_filter``); an answer cut short is still an answer.
    """

    text: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failure(cls, error: str) -> Completion:
        return cls(text=None, error=error)


@attrs.frozen
class BatchRequest:
    """One prompt inside a batch, under the custom id that brings its answer back to its row."""

    custom_id: str
    prompt: str


@attrs.define
class BatchPart:
    """One provider batch of a Loom job: the job's requests ``start`` to ``end`` (in ``id_map``
    order). ``batch_id`` is None until the provider has accepted the part."""

    index: int
    start: int
    end: int
    batch_id: str | None = None
    status: BatchStatus = BatchStatus.VALIDATING

    @property
    def size(self) -> int:
        return self.end - self.start

    def seen(self, status: BatchStatus) -> None:
        """Record the status the provider reports now.

        A part Loom asked to cancel stays ``cancelling`` until the provider says it ended:
        some APIs (Gemini's) report a batch being cancelled as still running.
        """
        if self.status is BatchStatus.CANCELLING and status in (BatchStatus.VALIDATING,
                                                                BatchStatus.IN_PROGRESS):
            return
        self.status = status


@attrs.frozen
class BatchLimits:
    """How much one provider batch may hold; None means no limit of that kind."""

    max_requests: int | None = None
    max_bytes: int | None = None
    #: OpenAI's per-model queue of enqueued input tokens, when the user gives it.
    max_tokens: int | None = None


#: The statuses a finished part can leave answers in (an expired or cancelled batch keeps
#: the answers it produced before it stopped).
WITH_RESULTS = frozenset({BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED})


@attrs.define
class BatchJob:
    """A batch job Loom submitted and remembers under ``batches/``; the fields are the seed's.

    A dataset larger than one provider batch is sent as several ``parts`` under one job; a
    job written by the released tool (no ``job_id``) is one part whose id is ``batch_id``.
    ``batch_id`` always names the first part, so older readers still find a provider batch.
    Mutable on purpose: ``loom fetch`` updates statuses and saves the job again.
    """

    batch_id: str
    provider: str
    model: str
    original_file_path: str
    #: The codec's name: ``json`` or ``csv`` for the built-in formats.
    file_type: str
    prompt_column: str | None
    id_map: dict[str, RowKey]
    created_at: str
    status: BatchStatus = BatchStatus.VALIDATING
    output_path: str | None = None
    with_meta: bool = False
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    #: The API address the batch was submitted to, when it was not the provider's default.
    base_url: str | None = None
    #: Loom's own id for the job, known before anything is sent (None for released-tool jobs).
    job_id: str | None = None
    parts: list[BatchPart] = attrs.field(factory=list)
    #: The template prompts were built with, when they were not read from a column.
    prompt_template: str | None = None
    #: Answers the released tool took from its cache at submit time and never sent (custom id
    #: -> text); its ``id_map`` still lists those rows. Loom's own jobs leave this empty.
    cached_responses: dict[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not self.parts:
            sent = sum(1 for custom_id in self.id_map if custom_id not in self.cached_responses)
            self.parts = [BatchPart(index=0, start=0, end=sent,
                                    batch_id=self.batch_id, status=self.status)]

    def sent_ids(self, part: BatchPart) -> Iterator[str]:
        """The custom ids of ``part``'s requests, in the order they were sent."""
        sent = (custom_id for custom_id in self.id_map if custom_id not in self.cached_responses)
        return itertools.islice(sent, part.start, part.end)

    @property
    def name(self) -> str:
        """How the job is known locally: its Loom id, or for older jobs its batch id."""
        return self.job_id or self.batch_id

    def answers_to(self, identifier: str) -> bool:
        """Whether ``identifier`` names this job or one of its provider batches."""
        return identifier in (self.job_id, self.batch_id) or any(
            part.batch_id == identifier for part in self.parts)

    def parts_status(self) -> BatchStatus:
        """The status the parts add up to: pending while any part is; else the worst end.

        ``status`` takes a terminal value only once the job is done with (merged, or failed
        with nothing to merge), so a job whose merge did not happen is fetched again.
        """
        statuses = [part.status for part in self.parts]
        for status in (BatchStatus.UNKNOWN, BatchStatus.CANCELLING, BatchStatus.VALIDATING,
                       BatchStatus.IN_PROGRESS, BatchStatus.FAILED, BatchStatus.EXPIRED,
                       BatchStatus.CANCELLED):
            if status in statuses:
                return status
        return BatchStatus.COMPLETED


@attrs.frozen
class CacheEntry:
    """One cached answer: the fields the released tool's ``cache/<sha256>.json`` files hold."""

    provider: str
    model: str
    response: str
    created_at: str
    params: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @classmethod
    def from_completion(cls, completion: Completion, *, provider: str, model: str,
                        created_at: str, params: Mapping[str, Any] | None = None) -> CacheEntry:
        """The entry that caches ``completion`` (the inverse of ``to_completion``)."""
        return cls(
            provider=provider, model=model, response=completion.text or "",
            created_at=created_at, params=params, finish_reason=completion.finish_reason,
            input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
        )

    def to_completion(self) -> Completion:
        return Completion(
            text=self.response,
            finish_reason=self.finish_reason,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )


@attrs.frozen
class CacheStats:
    """What the response cache holds: ``loom cache stats``."""

    entries: int
    #: Bytes the cache's files take on disk (allocated blocks, not their lengths).
    bytes_on_disk: int
    #: Entries by (provider, model), for those whose provider and model were read; the released
    #: tool's files are counted in ``legacy_files`` instead, without being opened.
    by_model: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    #: How many of ``entries`` are files in the released tool's one-file-per-answer layout.
    legacy_files: int = 0
