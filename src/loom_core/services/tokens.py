"""``loom tokens``: count the input tokens of every prompt with the provider's counting API."""

from __future__ import annotations

import asyncio

import attrs

from ..calls import CallRunner, Outcome, StopToken
from ..codecs import CodecRegistry
from ..errors import Interrupted, Words, describe, neutral_words
from ..model import GenerationSettings
from ..ports import Progress, TokenCounter
from ..retry import RetryPolicy
from .dataset import load_dataset

__all__ = ["TokenRequest", "TokenSummary", "count_tokens"]


@attrs.frozen
class TokenRequest:
    source: str
    provider: str
    model: str
    prompt_column: str | None = None
    #: Builds each prompt from the row's fields instead of reading ``prompt_column``.
    template: str | None = None
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    workers: int = 8
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)


@attrs.frozen
class TokenSummary:
    total: int
    prompts: int
    errors: int
    #: The first few distinct error messages, to tell the user why some prompts were not counted.
    error_samples: tuple[str, ...] = ()


def count_tokens(
    request: TokenRequest, *, codecs: CodecRegistry, counter: TokenCounter, progress: Progress,
    stop: StopToken | None = None, words: Words = neutral_words,
) -> TokenSummary:
    dataset = load_dataset(codecs, request.source, request.prompt_column, request.template)
    stop = stop or StopToken()
    progress.start(len(dataset.records))
    try:
        summary = asyncio.run(_count_all(request, [r.prompt for r in dataset.records], counter,
                                         progress, stop, words))
    finally:
        progress.finish()
    if stop.stopping:
        raise Interrupted("Interrupted: token counting stopped before every prompt was counted.")
    return summary


async def _count_all(request: TokenRequest, prompts: list[str], counter: TokenCounter,
                     progress: Progress, stop: StopToken, words: Words) -> TokenSummary:
    # A prompt that occurs several times costs its tokens each time but is counted once.
    occurrences: dict[str, int] = {}
    for prompt in prompts:
        occurrences[prompt] = occurrences.get(prompt, 0) + 1
    total = 0
    errors: list[str] = []

    async def count(prompt: str) -> int:
        return await counter.count(request.model, prompt, request.settings)

    def done(prompt: str, outcome: Outcome[int]) -> None:
        nonlocal total
        times = occurrences[prompt]
        if outcome.error is not None:
            error = outcome.error
            message = describe(error, words)
            errors.extend([message] * times)
            for _ in range(times):
                progress.advance(error=True)
            return
        total += (outcome.result or 0) * times
        for _ in range(times):
            progress.advance(tokens=outcome.result)

    runner: CallRunner[str, int] = CallRunner(request.workers, request.retry, stop=stop)
    try:
        await runner.run(list(occurrences), count, done)
    finally:
        await counter.aclose()
    return TokenSummary(total=total, prompts=len(prompts), errors=len(errors),
                        error_samples=tuple(dict.fromkeys(errors))[:3])
