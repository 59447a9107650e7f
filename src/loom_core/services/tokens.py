"""``loom tokens``: count the input tokens of every prompt with the provider's counting API."""

from __future__ import annotations

import asyncio

import attrs

from ..codecs import CodecRegistry
from ..errors import ProviderError
from ..model import GenerationSettings
from ..pool import run_pool
from ..ports import Progress, TokenCounter
from ..retry import RetryPolicy, call_with_retries
from .dataset import load_dataset

__all__ = ["TokenRequest", "TokenSummary", "count_tokens"]


@attrs.frozen
class TokenRequest:
    source: str
    provider: str
    model: str
    prompt_column: str | None = None
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    workers: int = 8
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)


@attrs.frozen
class TokenSummary:
    total: int
    prompts: int
    errors: int
    #: The first few error messages, to tell the user why some prompts were not counted.
    error_samples: tuple[str, ...] = ()


def count_tokens(
    request: TokenRequest, *, codecs: CodecRegistry, counter: TokenCounter, progress: Progress
) -> TokenSummary:
    dataset = load_dataset(codecs, request.source, request.prompt_column)
    progress.start(len(dataset.records))
    try:
        return asyncio.run(_count_all(request, [r.prompt for r in dataset.records], counter,
                                      progress))
    finally:
        progress.finish()


async def _count_all(request: TokenRequest, prompts: list[str], counter: TokenCounter,
                     progress: Progress) -> TokenSummary:
    # A prompt that occurs several times costs its tokens each time but is counted once.
    occurrences: dict[str, int] = {}
    for prompt in prompts:
        occurrences[prompt] = occurrences.get(prompt, 0) + 1
    total = 0
    errors: list[str] = []

    async def count(prompt: str) -> None:
        nonlocal total
        times = occurrences[prompt]
        try:
            tokens = await call_with_retries(
                lambda: counter.count(request.model, prompt, request.settings), request.retry
            )
        except Exception as error:  # a provider's error, or an adapter bug: one prompt's loss
            message = str(error) if isinstance(error, ProviderError) else (
                f"{type(error).__name__}: {error}")
            errors.extend([message] * times)
            for _ in range(times):
                progress.advance(error=True)
            return
        total += tokens * times
        for _ in range(times):
            progress.advance(tokens=tokens)

    try:
        await run_pool(list(occurrences), count, request.workers)
    finally:
        await counter.aclose()
    return TokenSummary(total=total, prompts=len(prompts), errors=len(errors),
                        error_samples=tuple(dict.fromkeys(errors))[:3])
