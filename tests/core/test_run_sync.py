"""``run_sync``: cache first, one provider call per distinct prompt, answers merged by row."""

from __future__ import annotations

from typing import Any

import pytest

from loom_core.cache_key import cache_key
from loom_core.errors import (
    InputError,
    OutputExistsError,
    PermanentError,
    RateLimitedError,
    StateError,
    TransientError,
)
from loom_core.model import CacheEntry, Completion, GenerationSettings
from loom_core.ports import OutputGuard
from loom_core.retry import RetryPolicy
from loom_core.services.run_sync import LOOKUP_CHUNK, SyncRequest, SyncSummary, run_sync

from .fakes import (
    AlwaysGuard,
    FakeSyncProvider,
    InMemoryCache,
    MemoryCodec,
    NeverGuard,
    RecordingProgress,
    times,
)

SOURCE = "in/prompts.mem"
OUTPUT = "in/prompts_results_openai_gpt-4o-mini.mem"
NOW = "2026-05-01T12:00:00+00:00"
#: Retries without waiting: every computed delay is 0 seconds.
NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)


class World:
    """One sync run's collaborators, all fakes."""

    def __init__(self, rows: list[dict[str, object]], provider: FakeSyncProvider | None = None,
                 cache: InMemoryCache | None = None) -> None:
        self.codec = MemoryCodec({SOURCE: rows})
        self.provider = provider or FakeSyncProvider()
        self.cache = cache or InMemoryCache()
        self.progress = RecordingProgress()

    def run(self, guard: OutputGuard | None = None, **request: Any) -> SyncSummary:
        fields: dict[str, Any] = dict(source=SOURCE, provider="openai", model="gpt-4o-mini",
                                      retry=NO_WAIT)
        fields.update(request)
        return run_sync(SyncRequest(**fields), codecs=self.codec.registry(),
                        provider=self.provider, cache=self.cache, guard=guard or AlwaysGuard(),
                        progress=self.progress, now=lambda: NOW)

    def output(self, path: str = OUTPUT) -> list[dict[str, object]]:
        return self.codec.files[path]

    def responses(self, path: str = OUTPUT) -> list[object]:
        return [row["llm_response"] for row in self.output(path)]


def json_rows(*prompts: str) -> list[dict[str, object]]:
    return [{"id": f"task-{i}", "prompt": prompt} for i, prompt in enumerate(prompts)]


def answer(prompt: str) -> str:
    return f"gpt-4o-mini answers: {prompt}"


def key(prompt: str, settings: GenerationSettings | None = None) -> str:
    return cache_key("openai", "gpt-4o-mini", prompt, settings)


# --- merging -----------------------------------------------------------------------------------


def test_each_row_gets_its_own_answer_in_file_order() -> None:
    prompts = ["slowest", "slow", "quick", "quickest"]
    provider = FakeSyncProvider(delays={"slowest": 30, "slow": 20, "quick": 10})
    world = World(json_rows(*prompts), provider)

    summary = world.run(workers=4)

    assert provider.finished == ["quickest", "quick", "slow", "slowest"]  # out of file order
    assert world.output() == [
        {"id": f"task-{i}", "prompt": p, "llm_response": answer(p)} for i, p in enumerate(prompts)
    ]
    assert world.codec.columns[OUTPUT] == ["llm_response"]
    assert summary == SyncSummary(output_path=OUTPUT, rows=4, cache_hits=0, calls=4, errors=0)


def test_csv_like_rows_are_keyed_by_index() -> None:
    rows = [{"n": "1", "text": "a", "tag": "x"}, {"n": "2", "text": "b", "tag": "y"}]
    world = World(rows)
    world.run(prompt_column="text")
    assert world.output() == [{**rows[0], "llm_response": answer("a")},
                              {**rows[1], "llm_response": answer("b")}]


def test_output_option_replaces_the_default_path() -> None:
    world = World(json_rows("p"))
    summary = world.run(output="elsewhere/out.mem")
    assert summary.output_path == "elsewhere/out.mem"
    assert world.responses("elsewhere/out.mem") == [answer("p")]
    assert OUTPUT not in world.codec.files


def test_with_meta_adds_provider_and_model() -> None:
    world = World(json_rows("p"))
    world.run(with_meta=True)
    assert world.codec.columns[OUTPUT] == ["llm_response", "llm_provider", "llm_model",
                                           "llm_finish_reason", "llm_input_tokens",
                                           "llm_output_tokens"]
    assert world.output()[0] == {"id": "task-0", "prompt": "p", "llm_response": answer("p"),
                                 "llm_provider": "openai", "llm_model": "gpt-4o-mini",
                                 "llm_finish_reason": None, "llm_input_tokens": None,
                                 "llm_output_tokens": None}


def test_identical_prompts_are_asked_once_and_answer_every_row() -> None:
    world = World(json_rows("same", "other", "same", "same"))
    summary = world.run()
    assert sorted(world.provider.calls) == ["other", "same"]
    assert world.responses() == [answer("same"), answer("other"), answer("same"), answer("same")]
    assert (summary.calls, summary.rows) == (2, 4)
    assert world.cache.puts == 2


def test_workers_bound_the_calls_in_flight() -> None:
    world = World(json_rows(*[f"p{i}" for i in range(20)]))
    world.run(workers=3)
    assert len(world.provider.calls) == 20
    assert world.provider.max_in_flight == 3


def test_settings_reach_the_provider() -> None:
    settings = GenerationSettings(temperature=0.1, system="Be brief")
    world = World(json_rows("p"))
    world.run(settings=settings)
    assert world.provider.settings_seen == [settings]


def test_provider_is_closed_once() -> None:
    world = World(json_rows("a", "b"))
    world.run()
    assert world.provider.closed == 1


def test_progress_sees_every_row() -> None:
    cache = InMemoryCache({key("cached"): CacheEntry("openai", "gpt-4o-mini", "old", NOW)})
    provider = FakeSyncProvider({"bad": [PermanentError("400: bad")]})
    world = World(json_rows("cached", "fresh", "bad"), provider, cache)
    world.run()
    progress = world.progress
    assert progress.total == 3 and progress.finished == 1
    assert sorted((a.cached, a.error) for a in progress.advances) == [
        (False, False), (False, True), (True, False)]


def test_an_empty_dataset_is_an_input_error_before_any_call() -> None:
    world = World([])
    with pytest.raises(InputError):
        world.run()
    assert world.provider.calls == [] and world.cache.gets == 0


# --- the cache ---------------------------------------------------------------------------------


def test_fresh_answers_are_cached_under_the_released_key() -> None:
    world = World(json_rows("Hello"))
    world.run()
    assert world.cache.entries == {
        key("Hello"): CacheEntry(provider="openai", model="gpt-4o-mini", response=answer("Hello"),
                                 created_at=NOW),
    }


def test_cache_hits_make_no_provider_call() -> None:
    cache = InMemoryCache({
        key("a"): CacheEntry("openai", "gpt-4o-mini", "cached a", NOW),
        key("b"): CacheEntry("openai", "gpt-4o-mini", "cached b", NOW),
    })
    world = World(json_rows("a", "b", "a"), cache=cache)

    summary = world.run()

    assert world.provider.calls == []
    assert world.responses() == ["cached a", "cached b", "cached a"]
    assert (summary.cache_hits, summary.calls) == (3, 0)
    assert world.cache.puts == 0


def test_a_second_run_is_all_cache_hits() -> None:
    world = World(json_rows("a", "b"))
    world.run()
    world.provider.calls.clear()
    summary = world.run()
    assert world.provider.calls == []
    assert summary.cache_hits == 2 and world.responses() == [answer("a"), answer("b")]


def test_no_cache_calls_the_provider_but_still_stores_fresh_answers() -> None:
    cache = InMemoryCache({key("a"): CacheEntry("openai", "gpt-4o-mini", "stale", "2020")})
    world = World(json_rows("a"), cache=cache)

    summary = world.run(use_cache=False)

    assert world.provider.calls == ["a"]
    assert world.responses() == [answer("a")]
    assert summary.cache_hits == 0
    assert world.cache.gets == 0
    assert world.cache.entries[key("a")].response == answer("a")


def test_settings_change_the_cache_key() -> None:
    cache = InMemoryCache({key("a"): CacheEntry("openai", "gpt-4o-mini", "without settings", NOW)})
    world = World(json_rows("a"), cache=cache)
    settings = GenerationSettings(temperature=0.7, stop=["END"])

    world.run(settings=settings)

    assert world.provider.calls == ["a"]
    assert world.responses() == [answer("a")]
    entry = world.cache.entries[key("a", settings)]
    assert entry.params == {"temperature": 0.7, "stop": ["END"]}
    assert world.cache.entries[key("a")].response == "without settings"


def test_model_and_provider_are_part_of_the_key() -> None:
    cache = InMemoryCache({cache_key("openai", "gpt-4o", "a"): CacheEntry("openai", "gpt-4o",
                                                                          "other model", NOW)})
    world = World(json_rows("a"), cache=cache)
    world.run()
    assert world.provider.calls == ["a"]


# --- errors ------------------------------------------------------------------------------------


def test_a_permanent_error_lands_in_llm_error_and_is_not_cached() -> None:
    provider = FakeSyncProvider({"bad": [PermanentError("400: prompt too long")]})
    world = World(json_rows("good", "bad"), provider)

    summary = world.run(with_meta=True)

    assert world.codec.columns[OUTPUT] == ["llm_response", "llm_provider", "llm_model",
                                           "llm_finish_reason", "llm_input_tokens",
                                           "llm_output_tokens", "llm_error"]
    good, bad = world.output()
    assert (good["llm_response"], good["llm_error"]) == (answer("good"), None)
    assert (bad["llm_response"], bad["llm_error"]) == (None, "400: prompt too long")
    assert provider.calls.count("bad") == 1  # never retried
    assert set(world.cache.entries) == {key("good")}
    assert summary.errors == 1


def test_a_re_run_asks_again_only_for_the_rows_that_failed() -> None:
    provider = FakeSyncProvider({"bad": [PermanentError("400")]})
    world = World(json_rows("good", "bad"), provider)
    world.run()
    provider.calls.clear()

    summary = world.run()

    assert provider.calls == ["bad"]
    assert world.responses() == [answer("good"), answer("bad")]
    assert "llm_error" not in world.codec.columns[OUTPUT]
    assert (summary.cache_hits, summary.calls, summary.errors) == (1, 1, 0)


def test_an_error_completion_returned_by_the_provider_is_a_row_error() -> None:
    provider = FakeSyncProvider({"x": [Completion.failure("content_filter")]})
    world = World(json_rows("x"), provider)
    world.run()
    assert world.output()[0]["llm_error"] == "content_filter"
    assert world.cache.entries == {}


def test_rate_limits_are_retried_until_the_answer_comes() -> None:
    provider = FakeSyncProvider({"p": times(2, RateLimitedError("429", retry_after=0.0))})
    world = World(json_rows("p", "q"), provider)
    summary = world.run()
    assert provider.calls.count("p") == 3
    assert world.responses() == [answer("p"), answer("q")]
    assert summary.errors == 0 and "llm_error" not in world.codec.columns[OUTPUT]


def test_transient_errors_past_max_retries_become_the_row_error() -> None:
    provider = FakeSyncProvider({"p": times(10, TransientError("503 overloaded"))})
    world = World(json_rows("p", "q"), provider)
    world.run()
    assert provider.calls.count("p") == NO_WAIT.max_retries + 1
    assert world.output()[0]["llm_error"] == "503 overloaded"
    assert world.output()[1]["llm_error"] is None


def test_an_adapter_bug_costs_one_row_not_the_run() -> None:
    provider = FakeSyncProvider({"p": [KeyError("choices")]})
    world = World(json_rows("p", "q"), provider)
    world.run()
    assert world.output()[0]["llm_error"] == "KeyError: 'choices'"
    assert world.output()[1]["llm_response"] == answer("q")


def test_identical_failing_prompts_share_the_error() -> None:
    provider = FakeSyncProvider({"bad": [PermanentError("400")]})
    world = World(json_rows("bad", "bad"), provider)
    summary = world.run()
    assert provider.calls == ["bad"]
    assert [row["llm_error"] for row in world.output()] == ["400", "400"]
    assert summary.errors == 2


# --- the output guard --------------------------------------------------------------------------


def test_a_refused_output_stops_the_run_before_any_call() -> None:
    world = World(json_rows("a", "b"))
    guard = NeverGuard()

    with pytest.raises(OutputExistsError, match="already exists"):
        world.run(guard=guard)

    assert guard.asked == [OUTPUT]
    assert world.provider.calls == []
    assert world.cache.gets == 0 and world.cache.puts == 0
    assert OUTPUT not in world.codec.files
    assert world.progress.total is None


def test_the_guard_is_asked_about_the_real_destination() -> None:
    world = World(json_rows("a"))
    guard = AlwaysGuard()
    world.run(guard=guard, output="custom.mem")
    assert guard.asked == ["custom.mem"]


# --- large files: chunked look-ups, two passes -------------------------------------------------


def cached(*prompts: str) -> InMemoryCache:
    return InMemoryCache({key(p): CacheEntry("openai", "gpt-4o-mini", f"cached {p}", NOW)
                          for p in prompts})


def test_a_wholly_cached_file_is_looked_up_a_chunk_at_a_time_and_once() -> None:
    prompts = [f"p{i}" for i in range(LOOKUP_CHUNK * 2 + 5)]
    world = World(json_rows(*prompts), cache=cached(*prompts))

    summary = world.run(with_meta=True)

    assert world.responses() == [f"cached {p}" for p in prompts]
    assert "llm_error" not in world.codec.columns[OUTPUT]
    assert world.cache.gets == len(prompts) and world.cache.round_trips == 3
    assert (summary.rows, summary.cache_hits, summary.calls, summary.errors) == (
        len(prompts), len(prompts), 0, 0)
    assert world.provider.calls == [] and world.provider.closed == 1
    assert world.progress.total == len(prompts) and world.progress.finished == 1
    assert all(a.cached for a in world.progress.advances) and len(world.progress.advances) == (
        len(prompts))


def test_rows_the_cache_lacks_late_in_a_large_file_are_asked_and_the_rest_read_again() -> None:
    prompts = [f"p{i}" for i in range(LOOKUP_CHUNK * 2 + 5)]
    missing = {prompts[7], prompts[-1]}
    world = World(json_rows(*prompts), cache=cached(*(p for p in prompts if p not in missing)))

    summary = world.run()

    assert sorted(world.provider.calls) == sorted(missing)
    assert world.responses() == [answer(p) if p in missing else f"cached {p}" for p in prompts]
    assert (summary.cache_hits, summary.calls) == (len(prompts) - 2, 2)
    # The first pass looks every row up; the second looks the cached ones up again, a chunk
    # per round trip, and never the rows it has just been answered.
    assert world.cache.round_trips == 6
    assert world.cache.gets == len(prompts) + len(prompts) - 2


def test_identical_prompts_across_chunks_are_asked_once() -> None:
    prompts = ["same"] + [f"p{i}" for i in range(LOOKUP_CHUNK)] + ["same"]
    world = World(json_rows(*prompts))
    world.run(workers=16)
    assert world.provider.calls.count("same") == 1
    assert world.responses()[0] == world.responses()[-1] == answer("same")


def test_an_answer_cut_short_from_the_cache_is_counted() -> None:
    cache = InMemoryCache({key("a"): CacheEntry("openai", "gpt-4o-mini", "cut", NOW,
                                                finish_reason="length")})
    world = World(json_rows("a", "a"), cache=cache)
    assert world.run().cut_short == 2


class ForgetfulCache(InMemoryCache):
    """Answers each key once, then forgets it: ``loom cache clear`` run between the passes."""

    def get_many(self, keys):
        found = super().get_many(keys)
        for key_ in found:
            del self.entries[key_]
        return found


def test_a_cached_answer_deleted_between_the_passes_fails_the_run_without_output() -> None:
    world = World(json_rows("a", "b"), cache=ForgetfulCache(cached("a").entries))
    with pytest.raises(StateError, match="deleted while the output was being written"):
        world.run()
    assert OUTPUT not in world.codec.files
    assert world.provider.calls == ["b"]


def test_the_library_engine_looks_up_in_chunks_too() -> None:
    import asyncio

    from loom_core.model import Record
    from loom_core.ports import SilentProgress
    from loom_core.services.run_sync import SyncOptions, answer_records

    prompts = [f"p{i}" for i in range(LOOKUP_CHUNK + 1)]
    cache = cached(*prompts[1:])
    records = [Record(index=i, key=i, prompt=p) for i, p in enumerate(prompts)]
    provider = FakeSyncProvider()
    answers = asyncio.run(answer_records(
        records, SyncOptions(provider="openai", model="gpt-4o-mini", retry=NO_WAIT),
        provider=provider, cache=cache, progress=SilentProgress()))
    assert cache.round_trips == 2 and provider.calls == ["p0"]
    assert answers.completions[0].text == answer("p0")
    assert answers.completions[5].text == "cached p5" and answers.cache_hits == LOOKUP_CHUNK


def test_a_stop_while_the_file_is_read_sends_nothing_and_writes_nothing() -> None:
    from loom_core.calls import StopToken
    from loom_core.errors import Interrupted

    prompts = [f"p{i}" for i in range(LOOKUP_CHUNK + 1)]
    for cache in (cached(*prompts), cached()):  # all cached, and none
        world = World(json_rows(*prompts), cache=cache)
        stop = StopToken()
        stop.request()
        with pytest.raises(Interrupted, match="before any request was sent"):
            run_sync(SyncRequest(source=SOURCE, provider="openai", model="gpt-4o-mini",
                                 retry=NO_WAIT),
                     codecs=world.codec.registry(), provider=world.provider, cache=world.cache,
                     guard=AlwaysGuard(), progress=world.progress, stop=stop, now=lambda: NOW)
        assert world.provider.calls == [] and OUTPUT not in world.codec.files
