"""``loom run --sync``: answer every prompt now, from the cache or a pool of provider calls.

Identical prompts are asked once. Every answer is cached the moment it arrives, so nothing paid
for is lost if the run stops; errors are never cached, so a re-run asks again only for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import attrs

from ..cache_key import cache_key
from ..clock import utc_now
from ..codecs import CodecRegistry
from ..errors import LoomError, ProviderError
from ..merge import write_merged
from ..model import CacheEntry, Completion, GenerationSettings, Record
from ..pool import run_pool
from ..ports import OutputGuard, Progress, ResponseCache, SyncProvider
from ..retry import RetryPolicy, call_with_retries
from .dataset import ensure_writable, load_dataset, output_path_for

__all__ = ["SyncRequest", "SyncSummary", "run_sync"]


@attrs.frozen
class SyncRequest:
    """What ``loom run --sync`` was asked to do."""

    source: str
    provider: str
    model: str
    prompt_column: str | None = None
    output: str | None = None
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    with_meta: bool = False
    workers: int = 8
    use_cache: bool = True
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)


@attrs.frozen
class SyncSummary:
    output_path: str
    rows: int
    cache_hits: int
    calls: int
    errors: int


def run_sync(
    request: SyncRequest,
    *,
    codecs: CodecRegistry,
    provider: SyncProvider,
    cache: ResponseCache,
    guard: OutputGuard,
    progress: Progress,
    now: Callable[[], str] = utc_now,
) -> SyncSummary:
    dataset = load_dataset(codecs, request.source, request.prompt_column)
    destination = output_path_for(
        request.source, request.output, dataset.codec, request.provider, request.model
    )
    ensure_writable(guard, destination)

    answerer = _Answerer(request, provider, cache, progress, now)
    progress.start(len(dataset.records))
    try:
        answers = asyncio.run(answerer.answer_all(dataset.records))
    finally:
        progress.finish()

    stats = write_merged(
        dataset.codec, dataset.source, destination, dataset.prompt_column, answers,
        keys=[r.key for r in dataset.records], provider=request.provider, model=request.model,
        with_meta=request.with_meta,
    )
    return SyncSummary(
        output_path=destination, rows=stats.rows, cache_hits=answerer.cache_hits,
        calls=answerer.calls, errors=stats.errors,
    )


class _Answerer:
    """Finds each record's answer: cache first, then one provider call per distinct prompt."""

    def __init__(self, request: SyncRequest, provider: SyncProvider, cache: ResponseCache,
                 progress: Progress, now: Callable[[], str]) -> None:
        self.request = request
        self.provider = provider
        self.cache = cache
        self.progress = progress
        self.now = now
        self.cache_hits = 0
        self.calls = 0
        self.cache_write_failures = 0

    async def answer_all(self, records: list[Record]) -> dict[object, Completion]:
        answers: dict[object, Completion] = {}
        by_key: dict[str, list[Record]] = {}
        for record in records:
            key = cache_key(self.request.provider, self.request.model, record.prompt,
                            self.request.settings)
            by_key.setdefault(key, []).append(record)

        to_ask: list[tuple[str, list[Record]]] = []
        for key, group in by_key.items():
            entry = self.cache.get(key) if self.request.use_cache else None
            if entry is None:
                to_ask.append((key, group))
                continue
            for record in group:
                answers[record.key] = entry.to_completion()
                self.cache_hits += 1
                self.progress.advance(answers[record.key], cached=True)

        async def ask(item: tuple[str, list[Record]]) -> None:
            key, group = item
            completion = await self._ask(group[0].prompt)
            if completion.ok:
                self._remember(key, completion)
            for record in group:
                answers[record.key] = completion
                self.progress.advance(completion, error=not completion.ok)

        try:
            await run_pool(to_ask, ask, self.request.workers)
        finally:
            await self.provider.aclose()
        return answers

    async def _ask(self, prompt: str) -> Completion:
        self.calls += 1
        request = self.request
        try:
            return await call_with_retries(
                lambda: self.provider.generate(request.model, prompt, request.settings),
                request.retry,
            )
        except ProviderError as error:
            return Completion.failure(str(error))
        except Exception as error:  # an adapter bug must cost one row, not the whole run
            return Completion.failure(f"{type(error).__name__}: {error}")

    def _remember(self, key: str, completion: Completion) -> None:
        params = self.request.settings.set_fields() or None
        entry = CacheEntry(
            provider=self.request.provider, model=self.request.model,
            response=completion.text or "", created_at=self.now(), params=params,
            finish_reason=completion.finish_reason, input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
        )
        try:
            self.cache.put(key, entry)
        except LoomError:
            # A full disk must not cost the answers of the whole run: this row still gets its
            # answer in the output, it just will not be served from the cache next time.
            self.cache_write_failures += 1
