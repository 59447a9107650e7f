"""``loom run --sync``: answer every prompt now, from the cache or a pool of provider calls.

Identical prompts are asked once. Every answer is cached the moment it arrives, so nothing paid
for is lost if the run stops; errors are never cached, so a re-run asks again only for them.
A stopped run writes no output (never half a file) and says how many answers it kept.

``answer_records`` is the engine without the file: records in, each record's answer out, for
the library facade (``loom.Loom.generate_many``). ``run_sync`` runs the same engine over a file
of any length in two passes, so that a re-run of a million cached rows holds no row in memory:
the first reads the rows, looks their keys up in the cache a chunk at a time (``get_many``) and
keeps each row's key (32 bytes) and the rows still to ask; the provider answers those; the
second writes the output as the codec reads the file again, looking each chunk of cached rows
up again just before it is written. While every row so far is cached, the output is written
during the first pass already, so a re-run of a wholly cached file looks each answer up once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from ..cache_key import cache_keyer
from ..cache_writer import CacheWriter
from ..calls import CallRunner, Outcome, StopToken
from ..clock import utc_now
from ..codecs import CodecRegistry
from ..errors import InputError, Interrupted, StateError, Words, describe, neutral_words
from ..merge import MergeStats, write_answers
from ..model import CacheEntry, Completion, GenerationSettings, Record, RowKey
from ..ports import FileCodec, OutputGuard, Progress, ResponseCache, SyncProvider
from ..retry import RetryPolicy
from ..template import PromptTemplate
from .dataset import DatasetRequest, ensure_writable, output_path_for

__all__ = ["SyncAnswers", "SyncOptions", "SyncRequest", "SyncSummary", "answer_records",
           "run_sync"]

#: Rows per cache look-up (``get_many``), in both passes.
LOOKUP_CHUNK = 2000
_DIGEST = 32


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
    codec = codecs.for_path(request.source)
    template = PromptTemplate(request.template) if request.template is not None else None
    records = codec.read(request.source, request.prompt_column, template)
    first = next(records, None)
    if first is None:
        raise InputError(f"{request.source}: the dataset is empty; there is nothing to send.")
    destination = output_path_for(
        request.source, request.output, codec, request.provider, request.model
    )
    ensure_writable(guard, destination)

    answerer = _Answerer(request.options(), provider, cache, progress, now, stop or StopToken(),
                         words)
    planner = _Planner(answerer, itertools.chain((first,), records))
    if request.use_cache:
        written = _write_if_all_cached(codec, request, destination, planner)
        if written is not None:
            stats, cut_short = written
            progress.start(planner.plan.rows)
            try:
                answerer.report_hits(planner.plan.hits)
                asyncio.run(answerer.ask(()))  # nothing to ask: closes the provider
            finally:
                progress.finish()
            return SyncSummary(output_path=destination, rows=stats.rows,
                               cache_hits=planner.plan.hits, calls=0, errors=stats.errors,
                               cut_short=cut_short)

    plan = planner.finish()
    progress.start(plan.rows)
    try:
        answerer.report_hits(plan.hits)
        fresh = asyncio.run(answerer.ask(plan.to_ask))
    finally:
        progress.finish()
    if answerer.stop.stopping:
        answered = sum(len(group) for key, group in plan.to_ask if key in fresh)
        raise Interrupted(
            f"Interrupted: {answerer.fresh:,} new answers are cached "
            f"({plan.rows - plan.hits - answered:,} rows still to do); no "
            f"output was written. Run the same command again to finish: cached rows are not "
            f"paid twice."
        )

    rows = _RowAnswers(request.source, plan, fresh, cache)
    stats = write_answers(
        codec, request.source, destination, rows,
        with_error=any(not completion.ok for completion in fresh.values()),
        provider=request.provider, model=request.model, with_meta=request.with_meta,
    )
    return SyncSummary(
        output_path=destination, rows=stats.rows, cache_hits=plan.hits,
        calls=answerer.runner.counts.prompts_sent, errors=stats.errors,
        cut_short=rows.cut_short, input_tokens=answerer.input_tokens,
        output_tokens=answerer.output_tokens, retries=answerer.runner.counts.retries,
        cache_write_failures=answerer.cache_write_failures,
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
    completions: dict[RowKey, Completion] = {}
    failures: dict[RowKey, Exception] = {}
    try:
        groups: dict[str, list[Record]] = {}
        for record in records:
            groups.setdefault(answerer.key(record.prompt), []).append(record)
        hits = answerer.look_up(list(groups))
        to_ask = []
        for key, group in groups.items():
            entry = hits.get(key)
            if entry is None:
                to_ask.append((key, group))
                continue
            completion = entry.to_completion()
            for record in group:
                completions[record.key] = completion
        answerer.report_hits(sum(len(groups[key]) for key in hits))
        fresh = await answerer.ask(to_ask)
    finally:
        progress.finish()
    for key, group in to_ask:
        if key in fresh:
            for record in group:
                completions[record.key] = fresh[key]
                if key in answerer.failures:
                    failures[record.key] = answerer.failures[key]
    counts = answerer.runner.counts
    return SyncAnswers(
        completions=completions, failures=failures, cache_hits=answerer.cache_hits,
        fresh=answerer.fresh, calls=counts.prompts_sent, retries=counts.retries,
        input_tokens=answerer.input_tokens, output_tokens=answerer.output_tokens,
        cache_write_failures=answerer.cache_write_failures, stopped=answerer.stop.stopping,
    )


@attrs.define
class _Plan:
    """What the first pass over a file learned."""

    #: Each row's cache key, 32 bytes a row, in file order.
    row_keys: bytearray = attrs.field(factory=bytearray)
    rows: int = 0
    hits: int = 0
    #: The distinct prompts the cache did not answer, with their rows, in file order.
    to_ask: list[tuple[str, list[Record]]] = attrs.field(factory=list)


class _Answerer:
    """Finds answers: cache first, then one provider call per distinct prompt."""

    def __init__(self, options: SyncOptions, provider: SyncProvider, cache: ResponseCache,
                 progress: Progress, now: Callable[[], str], stop: StopToken,
                 words: Words) -> None:
        self.words = words
        self.options = options
        self.provider = provider
        self.cache = cache
        self.progress = progress
        self.now = now
        self.stop = stop
        self.key = cache_keyer(options.provider, options.model, options.settings)
        self.runner: CallRunner[tuple[str, list[Record]], Completion] = CallRunner(
            options.workers, options.retry, stop=stop)
        self.cache_hits = 0
        self.fresh = 0
        self.input_tokens = 0
        self.output_tokens = 0
        #: The exception behind each failed answer, by cache key.
        self.failures: dict[str, Exception] = {}
        self.cache_write_failures = 0
        self._params = options.settings.set_fields() or None

    def look_up(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        """The cache's answers among ``keys``, a chunk per round trip.

        Every look-up is done before the first call: once answers arrive, the cache writer
        commits beside the calls, and the event loop is not the place to wait on a disk.
        """
        if not self.options.use_cache:
            return {}
        found: dict[str, CacheEntry] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            found.update(self.cache.get_many(keys[start:start + LOOKUP_CHUNK]))
        return found

    def report_hits(self, count: int) -> None:
        self.cache_hits += count
        for _ in range(count):
            self.progress.advance(None, cached=True)

    async def ask(self, to_ask: Sequence[tuple[str, list[Record]]]) -> dict[str, Completion]:
        """Ask the provider once per distinct prompt; each answer (or failure) by cache key.

        Answers are cached as they arrive, by a thread beside the event loop (a commit is no
        wait for the loop to make): the writer starts with the calls and always stops with
        them. A prompt a stop left unasked has no answer.
        """
        answers: dict[str, Completion] = {}
        writer = CacheWriter(self.cache)

        async def call(item: tuple[str, list[Record]]) -> Completion:
            return await self.provider.generate(self.options.model, item[1][0].prompt,
                                                self.options.settings)

        def done(item: tuple[str, list[Record]], outcome: Outcome[Completion]) -> None:
            key, group = item
            completion = outcome.result if outcome.error is None else (
                Completion.failure(describe(outcome.error, self.words)))
            if completion.ok:
                self._remember(writer, key, completion)
            elif outcome.error is not None:
                self.failures[key] = outcome.error
            answers[key] = completion
            for _record in group:
                self.progress.advance(completion, error=not completion.ok)

        try:
            await self.runner.run(to_ask, call, done)
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


class _Planner:
    """The first pass over a file, a chunk of rows at a time: each row's key, the cache's
    answers, and what is left to ask."""

    def __init__(self, answerer: _Answerer, records: Iterable[Record]) -> None:
        self.plan = _Plan()
        self._answerer = answerer
        self._records = iter(records)
        self._asking: dict[str, list[Record]] = {}

    def next_chunk(self) -> list[tuple[Record, CacheEntry | None]]:
        """The next rows with the cache's answer to each (None: to ask); empty at the end."""
        if self._answerer.stop.stopping:
            # Ctrl-C while a large file is read: nothing was sent, nothing is lost.
            raise Interrupted("Interrupted before any request was sent; no output was written.")
        chunk = list(itertools.islice(self._records, LOOKUP_CHUNK))
        key_of = self._answerer.key
        keys = [key_of(record.prompt) for record in chunk]
        hits = self._answerer.look_up(list({k: None for k in keys if k not in self._asking}))
        plan, row_keys = self.plan, self.plan.row_keys
        for record, key in zip(chunk, keys):
            row_keys += bytes.fromhex(key)
            if key in hits:
                plan.hits += 1
            else:
                # Only the prompt of a row still to ask is kept.
                self._asking.setdefault(key, []).append(record)
        plan.rows += len(chunk)
        return [(record, hits.get(key)) for record, key in zip(chunk, keys)]

    def finish(self) -> _Plan:
        while self.next_chunk():
            pass
        self.plan.to_ask = list(self._asking.items())
        return self.plan


class _NotAllCached(Exception):
    """A row the cache does not answer: the output cannot be written in the first pass."""


def _write_if_all_cached(codec: FileCodec, request: SyncRequest, destination: str,
                         planner: _Planner) -> tuple[MergeStats, int] | None:
    """Write the output during the first pass, while every row so far is cached.

    A re-run whose every row the cache answers (the common large case) then reads each
    answer once and the file twice, instead of each answer twice. At the first row the cache
    does not answer, the write is abandoned (the codec's write is atomic: nothing is left)
    and the first pass goes on without it. Returns the write's stats and how many answers
    were cut short, or None.
    """
    window: list[tuple[Record, CacheEntry | None]] = []
    start = 0
    cut_short = 0

    def answer(record: Record) -> Completion:
        nonlocal window, start, cut_short
        if record.index - start >= len(window):
            start += len(window)
            window = planner.next_chunk()
        offset = record.index - start
        if not 0 <= offset < len(window) or window[offset][0].index != record.index:
            raise InputError(f"{request.source} changed while it was being merged; run again.")
        entry = window[offset][1]
        if entry is None:
            raise _NotAllCached
        completion = entry.to_completion()
        if completion.finish_reason:
            cut_short += 1
        return completion

    try:
        stats = write_answers(codec, request.source, destination, answer, with_error=False,
                              provider=request.provider, model=request.model,
                              with_meta=request.with_meta)
    except _NotAllCached:
        return None
    return stats, cut_short


class _RowAnswers:
    """Each row's answer as the output is written (the second pass): this run's answers from
    memory, the cached ones read again a chunk of rows ahead of the writer."""

    def __init__(self, source: str, plan: _Plan, fresh: Mapping[str, Completion],
                 cache: ResponseCache) -> None:
        self._source = source
        self._plan = plan
        self._fresh = fresh
        self._cache = cache
        self._start = 0
        self._window: list[Completion | None] = []
        self.cut_short = 0

    def __call__(self, record: Record) -> Completion | None:
        offset = record.index - self._start
        if not 0 <= offset < len(self._window):
            self._load(record.index)
            offset = record.index - self._start
        completion = self._window[offset]
        if completion is None:
            # The cache answered this row in the first pass and no longer has the answer.
            raise StateError(
                "A cached answer was deleted while the output was being written (loom cache "
                "clear or prune?); no output was written. Run the same command again.")
        if completion.ok and completion.finish_reason:
            self.cut_short += 1
        return completion

    def _load(self, index: int) -> None:
        if not 0 <= index < self._plan.rows:
            raise InputError(f"{self._source} changed while it was being merged; run again.")
        start = index - index % LOOKUP_CHUNK
        end = min(start + LOOKUP_CHUNK, self._plan.rows)
        raw = self._plan.row_keys
        keys = [raw[at:at + _DIGEST].hex() for at in range(start * _DIGEST, end * _DIGEST,
                                                              _DIGEST)]
        wanted = list({key: None for key in keys if key not in self._fresh})
        cached = self._cache.get_many(wanted) if wanted else {}
        window: list[Completion | None] = []
        for key in keys:
            completion = self._fresh.get(key)
            if completion is None and (entry := cached.get(key)) is not None:
                completion = entry.to_completion()
            window.append(completion)
        self._start, self._window = start, window


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
