"""``loom run --sync``: answer every prompt now, from the cache or a pool of provider calls.

Identical prompts are asked once. Every answer is cached the moment it arrives, so nothing paid
for is lost if the run stops; errors are never cached, so a re-run asks again only for them.
A stopped run writes no output (never half a file) and says how many answers it kept.

``answer_records`` is the engine without the file: records in, each record's answer out. The
file path (``run_sync``) and the library facade (``loom.Loom.generate_many``) both use it, so
in-memory prompts get the same cache, pool and retry rules as ``loom run --sync``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

import attrs

from ..cache_key import cache_key
from ..cache_writer import CacheWriter
from ..calls import CallRunner, Outcome, StopToken
from ..clock import utc_now
from ..codecs import CodecRegistry
from ..errors import Interrupted, Words, describe, neutral_words
from ..merge import write_merged
from ..model import CacheEntry, Completion, GenerationSettings, Record, RowKey
from ..ports import OutputGuard, Progress, ResponseCache, SyncProvider
from ..retry import RetryPolicy
from .dataset import DatasetRequest, ensure_writable, load_dataset, output_path_for

__all__ = ["SyncAnswers", "SyncOptions", "SyncRequest", "SyncSummary", "answer_records",
           "run_sync"]


@attrs.frozen
class SyncRequest(DatasetRequest):
    """What ``loom run --sync`` was asked to do."""

    workers: int = 8
    use_cache: bool = True
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)

    def options(self) -> SyncOptions:
        return SyncOptions(provider=self.provider, model=self.model, settings=self.settings,
                           workers=self.workers, use_cache=self.use_cache, retry=self.retry)


@attrs.frozen
class SyncOptions:
    """How to answer records: who answers, with which settings, how many calls at once."""

    provider: str
    model: str
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    workers: int = 8
    use_cache: bool = True
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)


@attrs.frozen
class SyncAnswers:
    """Each record's answer, by record key, and what it took to get them."""

    completions: Mapping[RowKey, Completion]
    #: The exception behind each failed answer, by record key (its text is the completion's
    #: ``error``), for a caller that raises instead of writing the error into a row.
    failures: Mapping[RowKey, Exception]
    cache_hits: int
    #: Answers that came from the provider in this run (and were cached).
    fresh: int
    #: Distinct prompts sent to the provider (retries not counted).
    calls: int
    retries: int
    input_tokens: int
    output_tokens: int
    cache_write_failures: int
    #: Whether a ``StopToken`` stopped the run before every record had its answer.
    stopped: bool


@attrs.frozen
class SyncSummary:
    output_path: str
    rows: int
    cache_hits: int
    #: Distinct prompts sent to the provider (retries not counted).
    calls: int
    errors: int
    #: Answers that ended early: cut by the token limit or stopped by a content filter.
    cut_short: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    cache_write_failures: int = 0


def run_sync(
    request: SyncRequest,
    *,
    codecs: CodecRegistry,
    provider: SyncProvider,
    cache: ResponseCache,
    guard: OutputGuard,
    progress: Progress,
    stop: StopToken | None = None,
    now: Callable[[], str] = utc_now,
    words: Words = neutral_words,
) -> SyncSummary:
    dataset = load_dataset(codecs, request.source, request.prompt_column, request.template)
    destination = output_path_for(
        request.source, request.output, dataset.codec, request.provider, request.model
    )
    ensure_writable(guard, destination)

    answers = asyncio.run(answer_records(
        dataset.records, request.options(), provider=provider, cache=cache, progress=progress,
        stop=stop, now=now, words=words))
    if answers.stopped:
        raise Interrupted(
            f"Interrupted: {answers.fresh:,} new answers are cached "
            f"({len(dataset.records) - len(answers.completions):,} rows still to do); no "
            f"output was written. Run the same command again to finish: cached rows are not "
            f"paid twice."
        )

    stats = write_merged(
        dataset.codec, dataset.source, destination, answers.completions,
        keys=[r.key for r in dataset.records], provider=request.provider, model=request.model,
        with_meta=request.with_meta,
    )
    completions = [c for c in answers.completions.values() if c.ok]
    return SyncSummary(
        output_path=destination, rows=stats.rows, cache_hits=answers.cache_hits,
        calls=answers.calls, errors=stats.errors,
        cut_short=sum(1 for c in completions if c.finish_reason),
        input_tokens=answers.input_tokens, output_tokens=answers.output_tokens,
        retries=answers.retries, cache_write_failures=answers.cache_write_failures,
    )


async def answer_records(
    records: Sequence[Record],
    options: SyncOptions,
    *,
    provider: SyncProvider,
    cache: ResponseCache,
    progress: Progress,
    stop: StopToken | None = None,
    now: Callable[[], str] = utc_now,
    words: Words = neutral_words,
) -> SyncAnswers:
    """Answer every record: cache first, then one provider call per distinct prompt.

    Record keys must be unique; answers come back by key. ``provider`` is closed at the end
    (an adapter serves one run). Failed records get a ``Completion`` with the error's text,
    and their exception in ``failures``; only a usage error (refused before sending, so
    every record would fail alike) is raised. A failure's text is said in ``words``, the
    caller's face's (it lands in the row's ``llm_error``).
    """
    answerer = _Answerer(options, provider, cache, progress, now, stop or StopToken(), words)
    progress.start(len(records))
    try:
        completions = await answerer.answer_all(records)
    finally:
        progress.finish()
    counts = answerer.runner.counts
    return SyncAnswers(
        completions=completions, failures=answerer.failures, cache_hits=answerer.cache_hits,
        fresh=answerer.fresh, calls=counts.prompts_sent, retries=counts.retries,
        input_tokens=answerer.input_tokens, output_tokens=answerer.output_tokens,
        cache_write_failures=answerer.cache_write_failures, stopped=answerer.stop.stopping,
    )


class _Answerer:
    """Finds each record's answer: cache first, then one provider call per distinct prompt."""

    def __init__(self, options: SyncOptions, provider: SyncProvider, cache: ResponseCache,
                 progress: Progress, now: Callable[[], str], stop: StopToken,
                 words: Words) -> None:
        self.options = options
        self.words = words
        self.provider = provider
        self.cache = cache
        self.progress = progress
        self.now = now
        self.stop = stop
        self.runner: CallRunner[tuple[str, list[Record]], Completion] = CallRunner(
            options.workers, options.retry, stop=stop)
        self.cache_hits = 0
        self.fresh = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.failures: dict[RowKey, Exception] = {}
        self.cache_write_failures = 0
        self._params = options.settings.set_fields() or None
        # Cache files are written by a thread beside the event loop: creating a file costs
        # the loop a few hundred microseconds of waiting on the disk per answer otherwise,
        # which with many workers is a large part of the client's time per call. The writer
        # starts with the calls (``answer_all``) and always stops with them.

    async def answer_all(self, records: Sequence[Record]) -> dict[RowKey, Completion]:
        answers: dict[RowKey, Completion] = {}
        by_key: dict[str, list[Record]] = {}
        for record in records:
            key = cache_key(self.options.provider, self.options.model, record.prompt,
                            self.options.settings)
            by_key.setdefault(key, []).append(record)

        # Every lookup is done before the first call: once answers arrive, the cache writer
        # creates files in the same folder, and a lookup then waits on the folder's lock in
        # the kernel (measured: 0.13 ms per lookup while calls ran, against 0.02 ms before).
        to_ask: list[tuple[str, list[Record]]] = []
        for key, group in by_key.items():
            entry = self.cache.get(key) if self.options.use_cache else None
            if entry is None:
                to_ask.append((key, group))
                continue
            completion = entry.to_completion()
            for record in group:
                answers[record.key] = completion
                self.cache_hits += 1
                self.progress.advance(completion, cached=True)

        writer = CacheWriter(self.cache)

        async def ask(item: tuple[str, list[Record]]) -> Completion:
            return await self.provider.generate(self.options.model, item[1][0].prompt,
                                                self.options.settings)

        def done(item: tuple[str, list[Record]], outcome: Outcome[Completion]) -> None:
            key, group = item
            completion = outcome.result if outcome.error is None else (
                Completion.failure(describe(outcome.error, self.words)))
            if completion.ok:
                self._remember(writer, key, completion)
            for record in group:
                answers[record.key] = completion
                if outcome.error is not None:
                    self.failures[record.key] = outcome.error
                self.progress.advance(completion, error=not completion.ok)

        try:
            await self.runner.run(to_ask, ask, done)
        finally:
            await self.provider.aclose()
            # Every answer that arrived is on disk before the run reports anything.
            await asyncio.to_thread(writer.close)
            self.cache_write_failures = writer.failures
        return answers

    def _remember(self, writer: CacheWriter, key: str, completion: Completion) -> None:
        self.fresh += 1
        self.input_tokens += completion.input_tokens or 0
        self.output_tokens += completion.output_tokens or 0
        writer.put(key, CacheEntry.from_completion(
            completion, provider=self.options.provider, model=self.options.model,
            created_at=self.now(), params=self._params))

