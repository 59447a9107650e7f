"""Batch jobs at scale: parts within the provider's limits, the cache, partial results,
crash recovery, locks and cancelling."""

from __future__ import annotations

import pytest

from loom_core.batching import RequestSize, plan_parts, request_size
from loom_core.cache_key import cache_key
from loom_core.errors import InputError, PartlySubmittedError, StateError, TransientError
from loom_core.merge import NO_ANSWER
from loom_core.model import BatchLimits, BatchStatus, CacheEntry, Completion
from loom_core.services.cancel import cancel_job, cancellable
from loom_core.services.fetch import FetchOptions, fetch_batch
from loom_core.services.submit import SubmitRequest, submit_batch

from .fakes import AlwaysGuard, FakeBatchProvider, InMemoryCache, InMemoryStateStore, MemoryCodec

SOURCE = "in.mem"
OUTPUT = "in_results_openai_m.mem"
ROWS = [{"id": f"r{i}", "prompt": f"prompt {i}"} for i in range(10)]


class World:
    def __init__(self, limits: BatchLimits | None = None) -> None:
        self.codec = MemoryCodec({SOURCE: [dict(r) for r in ROWS]})
        self.provider = FakeBatchProvider(limits=limits)
        self.store = InMemoryStateStore()
        self.cache = InMemoryCache()

    def submit(self, **request):
        return submit_batch(SubmitRequest(source=SOURCE, provider="openai", model="m", **request),
                            codecs=self.codec.registry(), provider=self.provider,
                            store=self.store, cache=self.cache, guard=AlwaysGuard())

    def fetch(self, job, **options):
        saved = self.store.load(job.provider, job.name)
        return fetch_batch(saved, provider_for=lambda _job: self.provider,
                           codecs=self.codec.registry(), store=self.store, cache=self.cache,
                           guard=AlwaysGuard(), options=FetchOptions(**options))

    def cache_answer(self, prompt: str, text: str) -> None:
        self.cache.entries[cache_key("openai", "m", prompt)] = CacheEntry("openai", "m", text, "t")

    def responses(self) -> list:
        return [row["llm_response"] for row in self.codec.files[OUTPUT]]


# --- planning ----------------------------------------------------------------------------------


def test_parts_respect_every_limit_and_keep_the_order() -> None:
    sizes = [RequestSize(bytes=100, tokens=10)] * 10
    assert plan_parts(sizes, BatchLimits()) == [(0, 10)]
    assert plan_parts(sizes, BatchLimits(max_requests=4)) == [(0, 4), (4, 8), (8, 10)]
    assert plan_parts(sizes, BatchLimits(max_bytes=350)) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert plan_parts(sizes, BatchLimits(max_tokens=50)) == [(0, 5), (5, 10)]


def test_a_request_larger_than_a_whole_batch_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InputError, match="shorten that prompt"):
        plan_parts([RequestSize(bytes=1000, tokens=1)], BatchLimits(max_bytes=999))


def test_request_size_counts_the_escaped_prompt_and_the_settings() -> None:
    small = request_size("hi", None)
    assert request_size('"hi"\n', '{"temperature":0.2}').bytes > small.bytes
    assert request_size("x" * 300, None).tokens == 101


# --- submitting --------------------------------------------------------------------------------


def test_a_dataset_over_the_limits_goes_as_several_parts_of_one_job() -> None:
    world = World(BatchLimits(max_requests=4))
    job = world.submit().job
    assert [(p.start, p.end) for p in job.parts] == [(0, 4), (4, 8), (8, 10)]
    assert [p.batch_id for p in job.parts] == ["batch_1", "batch_2", "batch_3"]
    assert job.batch_id == "batch_1" and job.job_id.startswith("loom-")
    sent = [[r.prompt for r in world.provider.submissions[f"batch_{i}"].requests]
            for i in (1, 2, 3)]
    assert sent == [[f"prompt {i}" for i in range(a, b)] for a, b in [(0, 4), (4, 8), (8, 10)]]
    assert world.provider.submissions["batch_2"].metadata == {"loom_job": job.job_id,
                                                             "loom_part": "1"}


def test_cached_prompts_are_not_sent() -> None:
    world = World()
    world.cache_answer("prompt 3", "old answer")
    outcome = world.submit()
    assert (outcome.rows, outcome.cached) == (10, 1)
    assert "prompt 3" not in [r.prompt for r in world.provider.submissions["batch_1"].requests]
    assert len(outcome.job.id_map) == 9


def test_when_every_row_is_cached_the_output_is_written_at_once() -> None:
    world = World()
    for row in ROWS:
        world.cache_answer(row["prompt"], f"cached {row['id']}")
    outcome = world.submit()
    assert outcome.job is None and outcome.written.output_path == OUTPUT
    assert world.provider.submissions == {} and world.store.saved == {}
    assert world.responses() == [f"cached r{i}" for i in range(10)]


def test_the_job_is_recorded_before_the_first_part_is_sent() -> None:
    world = World(BatchLimits(max_requests=4))
    seen_saved = []
    original = world.provider.submit

    def submit(*args, **kwargs):
        seen_saved.append(dict(world.store.saved))
        return original(*args, **kwargs)

    world.provider.submit = submit
    job = world.submit().job
    first = seen_saved[0][("openai", job.name)]
    assert [p["batch_id"] for p in first["parts"]] == [None, None, None]
    # Each part's id was saved before the next part went out.
    assert [p["batch_id"] for p in seen_saved[2][("openai", job.name)]["parts"]] == [
        "batch_1", "batch_2", None]


def test_a_part_lost_in_a_crash_is_found_by_its_metadata_not_sent_twice() -> None:
    world = World(BatchLimits(max_requests=4))
    job = world.submit().job
    # As if Loom crashed after the provider accepted part 2 but before saving its id.
    lost = job.parts[1].batch_id
    job.parts[1].batch_id = None
    world.store.save(job)
    world.provider.find_batch = lambda metadata, size, created_after: (
        lost if metadata == {"loom_job": job.job_id, "loom_part": "1"} else None)
    world.fetch(job)
    assert world.store.load("openai", job.name).parts[1].batch_id == lost
    assert len(world.provider.submissions) == 3


def test_a_part_never_accepted_is_sent_by_the_next_fetch() -> None:
    world = World(BatchLimits(max_requests=4))
    original = world.provider.submit
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise TransientError("connection reset")
        return original(*args, **kwargs)

    world.provider.submit = flaky
    with pytest.raises(PartlySubmittedError) as partly:
        world.submit()
    (job,) = world.store.all()
    assert (partly.value.job_id, partly.value.accepted, partly.value.total_parts) == (
        job.job_id, 2, 3)
    assert isinstance(partly.value.cause, TransientError) and partly.value.exit_code == 1
    assert str(partly.value).startswith(
        f"connection reset (2 of 3 parts of job {job.job_id} were accepted; ")
    assert [p.batch_id for p in job.parts] == ["batch_1", "batch_2", None]
    world.fetch(job)
    saved = world.store.load("openai", job.name)
    assert [p.batch_id for p in saved.parts] == ["batch_1", "batch_2", "batch_3"]
    assert [r.prompt for r in world.provider.submissions["batch_3"].requests] == [
        "prompt 8", "prompt 9"]


def test_a_refusal_before_anything_was_accepted_leaves_no_state() -> None:
    from loom_core.errors import AuthenticationError

    world = World()

    def refuse(*args, **kwargs):
        raise AuthenticationError("bad key")

    world.provider.submit = refuse
    with pytest.raises(AuthenticationError):
        world.submit()
    assert world.store.saved == {}


# --- fetching ----------------------------------------------------------------------------------


def test_a_job_merges_once_every_part_has_ended() -> None:
    world = World(BatchLimits(max_requests=4))
    job = world.submit().job
    for part in job.parts:
        world.provider.answer_all(part.batch_id)
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.script("batch_2", BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED)
    world.provider.script("batch_3", BatchStatus.COMPLETED)
    first = world.fetch(job)
    assert first.status is BatchStatus.IN_PROGRESS and OUTPUT not in world.codec.files
    saved = world.store.load("openai", job.name)
    assert [p.status for p in saved.parts] == [BatchStatus.COMPLETED, BatchStatus.IN_PROGRESS,
                                               BatchStatus.COMPLETED]
    second = world.fetch(job)
    assert second.status is BatchStatus.COMPLETED and second.errors == 0
    assert world.responses() == [f"answer to prompt {i}" for i in range(10)]
    # Ended parts are not asked again.
    assert world.provider.status_calls.count("batch_1") == 1


def test_cached_rows_and_downloaded_rows_merge_and_downloads_go_into_the_cache() -> None:
    world = World()
    world.cache_answer("prompt 0", "from the cache")
    job = world.submit().job
    world.provider.script(job.batch_id, BatchStatus.COMPLETED)
    world.provider.answer_all(job.batch_id, errors={"row-5": "overloaded"})
    outcome = world.fetch(job)
    assert world.responses()[0] == "from the cache"
    assert world.responses()[1] == "answer to prompt 1"
    assert outcome.merged.from_cache == 1 and outcome.errors == 1
    # Eight new answers cached; the error is not.
    assert len(world.cache.entries) == 9


def test_a_rerun_after_a_partial_batch_sends_only_the_rows_without_an_answer() -> None:
    world = World()
    job = world.submit().job
    world.provider.script(job.batch_id, BatchStatus.EXPIRED)
    world.provider.answer_all(job.batch_id, except_ids=["row-2", "row-7"])
    outcome = world.fetch(job)
    assert outcome.status is BatchStatus.EXPIRED and outcome.errors == 2
    assert world.codec.files[OUTPUT][2]["llm_error"] == NO_ANSWER
    again = world.submit().job
    assert [r.prompt for r in world.provider.submissions[again.batch_id].requests] == [
        "prompt 2", "prompt 7"]
    world.provider.script(again.batch_id, BatchStatus.COMPLETED)
    world.provider.answer_all(again.batch_id)
    world.fetch(again)
    assert world.responses() == [f"answer to prompt {i}" for i in range(10)]
    assert "llm_error" not in world.codec.files[OUTPUT][0]


def test_kept_results_are_not_downloaded_again() -> None:
    world = World()
    job = world.submit().job
    world.provider.script(job.batch_id, BatchStatus.COMPLETED)
    world.provider.answer_all(job.batch_id)
    world.codec.fail_write = OSError(28, "No space left on device")
    first = world.fetch(job)
    assert first.failed and len(world.provider.results_calls) == 1
    world.codec.fail_write = None
    second = world.fetch(job)
    assert second.status is BatchStatus.COMPLETED
    assert len(world.provider.results_calls) == 1  # merged from the kept copy
    assert world.store.results == {}  # kept results go with the state


def test_a_job_another_process_holds_is_skipped() -> None:
    world = World()
    job = world.submit().job
    with world.store.lock(job):
        outcome = world.fetch(job)
    assert outcome.failed and "another loom process" in outcome.problem
    assert world.provider.status_calls == []


def test_cancel_stops_running_parts_and_the_next_fetch_keeps_what_they_finished() -> None:
    world = World(BatchLimits(max_requests=5))
    job = world.submit().job
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.script("batch_2", BatchStatus.IN_PROGRESS, BatchStatus.CANCELLED)
    world.provider.answer_all("batch_1")
    world.provider.answer_all("batch_2", except_ids=[f"row-{i}" for i in range(6, 10)])
    world.fetch(job)  # part 1 ends, part 2 still running
    saved = world.store.load("openai", job.name)
    status = cancel_job(saved, provider_for=lambda _job: world.provider, store=world.store)
    # Every part has ended, but the job is pending until a fetch has merged it.
    assert world.provider.cancelled == ["batch_2"] and status is BatchStatus.CANCELLING
    assert [p.status for p in world.store.load("openai", job.name).parts] == [
        BatchStatus.COMPLETED, BatchStatus.CANCELLED]
    outcome = world.fetch(job)
    assert outcome.status is BatchStatus.CANCELLED and outcome.errors == 4
    assert world.responses()[:6] == [f"answer to prompt {i}" for i in range(6)]


def test_a_cancel_the_provider_shows_as_running_stays_cancelling_until_it_ends() -> None:
    world = World()
    job = world.submit().job
    # As the Gemini API does: no cancelling state, the batch runs on while it stops.
    world.provider.script("batch_1", BatchStatus.IN_PROGRESS, BatchStatus.IN_PROGRESS,
                          BatchStatus.CANCELLED)
    world.provider.answer_all("batch_1", except_ids=[f"row-{i}" for i in range(3, 10)])
    status = cancel_job(world.store.load("openai", job.name),
                        provider_for=lambda _job: world.provider, store=world.store)
    assert status is BatchStatus.CANCELLING and world.provider.cancelled == ["batch_1"]
    assert world.fetch(job).status is BatchStatus.CANCELLING
    # A look that fails is unknown, and does not forget the cancel.
    world.provider.status_errors["batch_1"] = TransientError("network glitch")
    assert world.fetch(job).status is BatchStatus.UNKNOWN
    assert world.store.load("openai", job.name).parts[0].status is BatchStatus.CANCELLING
    del world.provider.status_errors["batch_1"]
    # Not asked twice; and once it has ended, its three answers are merged.
    assert not cancellable(world.store.load("openai", job.name))
    outcome = world.fetch(job)
    assert outcome.status is BatchStatus.CANCELLED and outcome.errors == 7
    assert world.responses()[:3] == [f"answer to prompt {i}" for i in range(3)]


def test_the_lock_is_held_while_cancelling() -> None:
    world = World()
    job = world.submit().job
    with world.store.lock(job), pytest.raises(StateError):
        cancel_job(job, provider_for=lambda _job: world.provider, store=world.store)
    assert world.provider.cancelled == []


def test_kept_completions_round_trip() -> None:
    from loom_core.serialization import completion_from_dict, completion_to_dict

    completion = Completion(text="t", finish_reason="length", input_tokens=3, output_tokens=4)
    assert completion_from_dict(completion_to_dict("row-1", completion)) == ("row-1", completion)
    assert completion_to_dict("row-2", Completion.failure("x")) == {"custom_id": "row-2",
                                                                  "error": "x"}


def test_a_token_budget_the_user_gives_splits_the_job() -> None:
    world = World()
    job = world.submit(max_batch_tokens=10).job  # each prompt is about 4 tokens
    assert len(job.parts) > 1
    assert all(part.size <= 2 for part in job.parts)


def test_an_all_cached_job_refuses_an_existing_output_without_talking_of_a_batch() -> None:
    from loom_core.errors import OutputExistsError

    from .fakes import NeverGuard

    world = World()
    for row in ROWS:
        world.cache_answer(row["prompt"], "cached")
    with pytest.raises(OutputExistsError) as refused:
        submit_batch(SubmitRequest(source=SOURCE, provider="openai", model="m"),
                     codecs=world.codec.registry(), provider=world.provider, store=world.store,
                     cache=world.cache, guard=NeverGuard())
    assert (refused.value.path, refused.value.pending) == (OUTPUT, None)
    assert world.store.saved == {}
