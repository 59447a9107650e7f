"""``count_tokens``: each distinct prompt counted once, every occurrence paid for."""

from __future__ import annotations

from loom_core.errors import PermanentError, RateLimitedError
from loom_core.retry import RetryPolicy
from loom_core.services.tokens import TokenRequest, TokenSummary, count_tokens

from .fakes import FakeTokenCounter, MemoryCodec, RecordingProgress, times

NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)


def count(prompts: list[str], counter: FakeTokenCounter, progress: RecordingProgress,
          workers: int = 8) -> TokenSummary:
    codec = MemoryCodec({"in.mem": [{"id": i, "prompt": p} for i, p in enumerate(prompts)]})
    request = TokenRequest(source="in.mem", provider="anthropic", model="claude",
                           workers=workers, retry=NO_WAIT)
    return count_tokens(request, codecs=codec.registry(), counter=counter, progress=progress)


def test_duplicates_are_counted_once_and_paid_for_each_time() -> None:
    counter, progress = FakeTokenCounter(), RecordingProgress()
    summary = count(["one two", "three", "one two"], counter, progress)
    assert sorted(counter.calls) == ["one two", "three"]
    assert summary == TokenSummary(total=5, prompts=3, errors=0)
    assert progress.total == 3 and progress.finished == 1
    assert sorted(a.tokens for a in progress.advances) == [1, 2, 2]
    assert counter.closed == 1


def test_errors_are_counted_per_prompt_with_samples() -> None:
    counter = FakeTokenCounter({"bad": [PermanentError("400: too long")]})
    progress = RecordingProgress()
    summary = count(["bad", "ok", "bad"], counter, progress)
    assert summary == TokenSummary(total=1, prompts=3, errors=2,
                                   error_samples=("400: too long",))
    assert sum(a.error for a in progress.advances) == 2


def test_rate_limits_are_retried() -> None:
    counter = FakeTokenCounter({"p q": times(2, RateLimitedError("429", 0.0))})
    summary = count(["p q"], counter, RecordingProgress())
    assert counter.calls == ["p q"] * 3
    assert summary.total == 2 and summary.errors == 0


def test_workers_bound_the_counts_in_flight() -> None:
    counter = FakeTokenCounter()
    count([f"p{i}" for i in range(12)], counter, RecordingProgress(), workers=4)
    assert counter.max_in_flight == 4
