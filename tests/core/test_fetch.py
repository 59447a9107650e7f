"""``fetch_batch`` / ``fetch_batches``: statuses saved, finished batches merged, state kept safe."""

from __future__ import annotations

import pytest

from loom_core.errors import AuthenticationError, OutputExistsError, UnknownProviderError
from loom_core.merge import NO_ANSWER
from loom_core.model import BatchJob, BatchStatus, Completion
from loom_core.ports import BatchProvider, OutputGuard
from loom_core.services.fetch import FetchOptions, FetchOutcome, fetch_batch, fetch_batches
from loom_core.services.manage import select_batches
from loom_core.services.submit import SubmitRequest, submit_batch

from .fakes import (
    AlwaysGuard,
    FakeBatchProvider,
    InMemoryCache,
    InMemoryStateStore,
    MemoryCodec,
    NeverGuard,
)

SOURCE = "in/prompts.mem"
OUTPUT = "in/prompts_results_openai_gpt-4o-mini.mem"
ROWS = [{"id": f"task-{i}", "prompt": f"prompt {i}"} for i in range(8)]


class World:
    def __init__(self) -> None:
        self.codec = MemoryCodec({SOURCE: [dict(row) for row in ROWS]})
        self.provider = FakeBatchProvider()
        self.store = InMemoryStateStore()
        self.cache = InMemoryCache()

    def remember(self, batch_id: str = "batch_1", *, rows: list[dict[str, object]] = ROWS,
                 status: BatchStatus = BatchStatus.IN_PROGRESS, **changes: object) -> BatchJob:
        """A job as ``loom run`` would have saved it: custom id ``row-<i>`` for row ``i``."""
        fields: dict[str, object] = dict(
            batch_id=batch_id, provider="openai", model="gpt-4o-mini",
            original_file_path=SOURCE, file_type="mem", prompt_column=None,
            id_map={f"row-{i}": row["id"] for i, row in enumerate(rows)},
            created_at="2026-05-01T12:00:00+00:00", status=status,
        )
        fields.update(changes)
        job = BatchJob(**fields)  # type: ignore[arg-type]
        self.store.save(job)
        return job

    def answer(self, job: BatchJob, *, missing: tuple[str, ...] = (),
               errors: dict[str, str] | None = None) -> None:
        """Results for every row of ``job``, as the provider would hand them back."""
        errors = errors or {}
        prompts = {row["id"]: row["prompt"] for row in self.codec.files[job.original_file_path]}
        self.provider.results_for[job.batch_id] = {
            custom_id: (Completion.failure(errors[custom_id]) if custom_id in errors
                        else Completion(text=f"answer to {prompts[row_key]}"))
            for custom_id, row_key in job.id_map.items() if custom_id not in missing
        }

    def fetch(self, job: BatchJob, *, keep: bool = False,
              guard: OutputGuard | None = None) -> FetchOutcome:
        return fetch_batch(job, provider_for=lambda _job: self.provider,
                           codecs=self.codec.registry(), store=self.store, cache=self.cache,
                           guard=guard or AlwaysGuard(), options=FetchOptions(keep=keep))

    def responses(self, path: str = OUTPUT) -> list[object]:
        return [row["llm_response"] for row in self.codec.files[path]]


# --- pending and unsuccessful batches ----------------------------------------------------------


@pytest.mark.parametrize("status", [BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS])
def test_a_pending_batch_is_saved_with_its_status_and_nothing_is_written(
    status: BatchStatus,
) -> None:
    world = World()
    job = world.remember(status=BatchStatus.VALIDATING)
    world.provider.script("batch_1", status)

    outcome = world.fetch(job)

    assert outcome == FetchOutcome(job=job, status=status)
    assert not outcome.failed
    assert world.store.status_of("openai", "batch_1") == status.value
    assert world.provider.results_calls == []
    assert set(world.codec.files) == {SOURCE}


def test_a_failed_batch_is_recorded_and_not_merged() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.FAILED)

    outcome = world.fetch(job)

    assert outcome.status is BatchStatus.FAILED and outcome.output_path is None
    assert world.store.status_of("openai", "batch_1") == "failed"
    assert set(world.codec.files) == {SOURCE}


@pytest.mark.parametrize("status", [BatchStatus.EXPIRED, BatchStatus.CANCELLED])
def test_an_expired_or_cancelled_batch_keeps_the_answers_it_has(status: BatchStatus) -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", status)
    world.answer(job, missing=("row-1", "row-6"))

    outcome = world.fetch(job)

    assert outcome.status is status and outcome.output_path == OUTPUT
    assert (outcome.rows, outcome.errors) == (8, 2)
    rows = world.codec.files[OUTPUT]
    assert [row["llm_error"] for row in rows].count(NO_ANSWER) == 2
    assert rows[0]["llm_response"] == "answer to prompt 0"
    # The answers it produced are in the cache, so a re-run sends only the missing rows.
    assert len(world.cache.entries) == 6
    assert world.store.status_of("openai", "batch_1") is None


# --- completed batches -------------------------------------------------------------------------


def test_results_in_shuffled_order_are_merged_into_their_own_rows() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)

    outcome = world.fetch(job)

    assert world.provider.yielded["batch_1"] != list(job.id_map)  # really out of order
    assert world.codec.files[OUTPUT] == [
        {**row, "llm_response": f"answer to {row['prompt']}"} for row in ROWS
    ]
    assert world.codec.columns[OUTPUT] == ["llm_response"]
    assert (outcome.status, outcome.output_path, outcome.rows, outcome.errors) == (
        BatchStatus.COMPLETED, OUTPUT, len(ROWS), 0)


def test_csv_rows_are_matched_by_index_strings() -> None:
    world = World()
    world.codec.files["t.mem"] = [{"text": "a"}, {"text": "b"}, {"text": "c"}]
    job = world.remember(original_file_path="t.mem", prompt_column="text",
                         id_map={"row-0": "0", "row-1": "1", "row-2": "2"})
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.results_for["batch_1"] = {
        "row-2": Completion("C"), "row-0": Completion("A"), "row-1": Completion("B")}

    outcome = world.fetch(job)

    assert outcome.output_path == "t_results_openai_gpt-4o-mini.mem"
    assert world.responses(outcome.output_path) == ["A", "B", "C"]


def test_a_released_tool_state_with_uuid_custom_ids_merges() -> None:
    world = World()
    world.codec.files["t.mem"] = [{"text": "a"}, {"text": "b"}]
    uuids = ["0b8e4a4c-5a2e-4a8e-9f0e-3c1b2d4e5f60", "7d1c2b3a-0000-4000-8000-123456789abc"]
    job = world.remember(original_file_path="t.mem", prompt_column="text",
                         id_map={uuids[0]: "0", uuids[1]: "1"})
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.results_for["batch_1"] = {uuids[1]: Completion("B"), uuids[0]: Completion("A")}

    outcome = world.fetch(job)

    assert world.responses(outcome.output_path) == ["A", "B"]


def test_a_row_missing_from_the_results_gets_an_error() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job, missing=("row-3",))

    outcome = world.fetch(job)

    rows = world.codec.files[OUTPUT]
    assert world.codec.columns[OUTPUT] == ["llm_response", "llm_error"]
    assert (rows[3]["llm_response"], rows[3]["llm_error"]) == (None, NO_ANSWER)
    assert all(row["llm_error"] is None for i, row in enumerate(rows) if i != 3)
    assert (outcome.rows, outcome.errors) == (len(ROWS), 1)


def test_per_request_errors_land_in_their_rows() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job, errors={"row-1": "invalid_request: max_tokens too large"})

    outcome = world.fetch(job)

    row = world.codec.files[OUTPUT][1]
    assert (row["llm_response"], row["llm_error"]) == (None,
                                                       "invalid_request: max_tokens too large")
    assert outcome.errors == 1 and not outcome.failed


def test_results_for_unknown_custom_ids_are_ignored() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)
    world.provider.results_for["batch_1"]["stranger"] = Completion("not ours")

    world.fetch(job)

    assert "not ours" not in world.responses()
    assert world.codec.columns[OUTPUT] == ["llm_response"]


def test_a_row_added_after_submit_gets_an_error_not_an_empty_cell() -> None:
    world = World()
    job = world.remember(rows=ROWS[:2])
    world.codec.files[SOURCE] = ROWS[:2] + [{"id": "new", "prompt": "added later"}]
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)

    world.fetch(job)

    assert world.codec.files[OUTPUT][2].get("llm_error") == NO_ANSWER


def test_with_meta_and_a_chosen_output_path_come_from_the_state() -> None:
    world = World()
    job = world.remember(with_meta=True, output_path="out/merged.mem")
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)

    outcome = world.fetch(job)

    assert outcome.output_path == "out/merged.mem"
    assert world.codec.columns["out/merged.mem"] == [
        "llm_response", "llm_provider", "llm_model", "llm_finish_reason", "llm_input_tokens",
        "llm_output_tokens"]
    assert world.codec.files["out/merged.mem"][0]["llm_model"] == "gpt-4o-mini"


# --- what happens to the state ----------------------------------------------------------------


def test_without_keep_the_state_is_deleted_after_the_merge() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)

    world.fetch(job, keep=False)

    assert OUTPUT in world.codec.files
    assert world.store.saved == {} and world.store.deleted == [("openai", "batch_1")]


def test_with_keep_the_state_is_saved_as_completed() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)

    world.fetch(job, keep=True)

    assert world.store.status_of("openai", "batch_1") == "completed"
    assert world.store.deleted == []


def test_a_failed_write_keeps_the_state() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)
    world.codec.fail_write = OSError(28, "No space left on device")

    outcome = world.fetch(job, keep=False)

    assert OUTPUT not in world.codec.files
    assert world.store.deleted == []
    assert world.store.status_of("openai", "batch_1") == "unknown"  # the next fetch retries
    assert outcome.failed and "No space left on device" in outcome.problem


def test_a_refused_output_leaves_the_batch_pending() -> None:
    world = World()
    job = world.remember(status=BatchStatus.IN_PROGRESS)
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)
    guard = NeverGuard()

    outcome = world.fetch(job, guard=guard)

    assert guard.asked == [OUTPUT]
    assert outcome.failed and isinstance(outcome.error, OutputExistsError)
    assert (outcome.error.path, outcome.error.pending) == (OUTPUT, "batch_1")
    assert world.store.status_of("openai", "batch_1") == "in_progress"
    assert world.provider.results_calls == []  # nothing downloaded for nothing
    assert OUTPUT not in world.codec.files


# --- trouble looking at a batch ---------------------------------------------------------------


def test_a_status_error_saves_unknown_with_the_reason() -> None:
    world = World()
    job = world.remember()
    world.provider.status_errors["batch_1"] = AuthenticationError("401: invalid key")

    outcome = world.fetch(job)

    assert outcome.status is BatchStatus.UNKNOWN
    assert outcome.failed and outcome.problem == "401: invalid key"
    assert world.store.status_of("openai", "batch_1") == "unknown"


def test_an_untranslated_sdk_error_is_named_by_its_type() -> None:
    world = World()
    job = world.remember()
    world.provider.status_errors["batch_1"] = ConnectionResetError("peer reset")

    outcome = world.fetch(job)

    assert outcome.problem == "ConnectionResetError: peer reset"
    assert world.store.status_of("openai", "batch_1") == "unknown"


def test_a_provider_that_cannot_be_built_is_one_batchs_problem() -> None:
    world = World()
    job = world.remember()

    def provider_for(_job: BatchJob) -> BatchProvider:
        raise UnknownProviderError("openai", ["echo"])

    outcome = fetch_batch(job, provider_for=provider_for, codecs=world.codec.registry(),
                          store=world.store, cache=world.cache, guard=AlwaysGuard(),
                          options=FetchOptions())

    assert outcome.status is BatchStatus.UNKNOWN and "Unknown provider" in outcome.problem
    assert world.store.status_of("openai", "batch_1") == "unknown"


def test_one_batchs_trouble_does_not_stop_the_next() -> None:
    world = World()
    broken = world.remember("batch_broken")
    fine = world.remember("batch_fine")
    world.provider.status_errors["batch_broken"] = RuntimeError("boom")
    world.provider.script("batch_fine", BatchStatus.COMPLETED)
    world.answer(fine)

    outcomes = list(fetch_batches(
        [broken, fine], provider_for=lambda _job: world.provider, codecs=world.codec.registry(),
        store=world.store, cache=world.cache, guard=AlwaysGuard(), options=FetchOptions(),
    ))

    assert [o.status for o in outcomes] == [BatchStatus.UNKNOWN, BatchStatus.COMPLETED]
    assert outcomes[0].failed and not outcomes[1].failed
    assert world.provider.status_calls == ["batch_broken", "batch_fine"]
    assert world.store.status_of("openai", "batch_broken") == "unknown"
    assert world.store.status_of("openai", "batch_fine") is None
    assert world.responses()[0] == "answer to prompt 0"


def test_results_that_fail_to_download_keep_the_state() -> None:
    world = World()
    job = world.remember()
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.answer(job)
    world.provider.results_errors["batch_1"] = TimeoutError("read timed out")

    outcome = world.fetch(job)

    assert outcome.failed and "TimeoutError" in outcome.problem
    assert world.store.status_of("openai", "batch_1") == "unknown"
    assert OUTPUT not in world.codec.files


# --- submit, then fetch ------------------------------------------------------------------------


def test_a_submitted_batch_comes_back_through_a_plain_fetch() -> None:
    world = World()
    job = submit_batch(SubmitRequest(source=SOURCE, provider="openai", model="gpt-4o-mini",
                                     with_meta=True),
                       codecs=world.codec.registry(), provider=world.provider, store=world.store,
                       cache=world.cache, guard=AlwaysGuard()).job
    world.provider.script(job.batch_id, BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED)
    world.provider.answer_all(job.batch_id, except_ids=["row-5"],
                              errors={"row-2": "overloaded"})

    def fetch_all() -> list[FetchOutcome]:
        jobs = [e for e in select_batches(world.store, None) if isinstance(e, BatchJob)]
        return list(fetch_batches(jobs, provider_for=lambda _job: world.provider,
                                  codecs=world.codec.registry(), store=world.store,
                                  cache=world.cache, guard=AlwaysGuard(),
                                  options=FetchOptions()))

    first, = fetch_all()
    assert first.status is BatchStatus.IN_PROGRESS and OUTPUT not in world.codec.files

    second, = fetch_all()
    assert (second.status, second.rows, second.errors) == (BatchStatus.COMPLETED, 8, 2)
    rows = world.codec.files[OUTPUT]
    assert [row["llm_response"] for row in rows] == [
        None if i in (2, 5) else f"answer to prompt {i}" for i in range(8)]
    assert (rows[2]["llm_error"], rows[5]["llm_error"]) == ("overloaded", NO_ANSWER)
    assert all(row["llm_provider"] == "openai" for row in rows)
    assert world.store.saved == {} and fetch_all() == []


class PrefixingProvider(FakeBatchProvider):
    """A provider whose ids gained a prefix since an older tool stored them (like Gemini's)."""

    def canonical_id(self, batch_id: str) -> str:
        return batch_id if batch_id.startswith("batches/") else f"batches/{batch_id}"


def test_an_id_stored_in_an_old_form_is_repaired_and_its_state_renamed() -> None:
    world = World()
    world.provider = PrefixingProvider()
    job = world.remember("abc")
    world.provider.script("batches/abc", BatchStatus.IN_PROGRESS)
    outcome = world.fetch(job)
    assert outcome.status is BatchStatus.IN_PROGRESS
    assert world.provider.status_calls == ["batches/abc"]
    assert world.store.status_of("openai", "abc") is None
    assert world.store.status_of("openai", "batches/abc") == "in_progress"
    assert outcome.job.batch_id == "batches/abc"


def test_an_id_already_in_canonical_form_is_left_alone() -> None:
    world = World()
    world.provider = PrefixingProvider()
    job = world.remember("batches/abc")
    world.fetch(job)
    assert world.store.deleted == []


# --- the released tool's jobs: its cache answers, and answers that came back by position ---------


def released_job(world: World) -> BatchJob:
    """A job as loom-batch 0.7.0 saved it: custom ids are the JSON ids, every row is in
    ``id_map``, and the rows its cache answered (task-2, task-5) are in ``cached_responses``
    and were never sent."""
    return world.remember(
        id_map={row["id"]: row["id"] for row in ROWS},
        cached_responses={"task-2": "cached answer 2", "task-5": "cached answer 5"})


def sent_rows() -> list[int]:
    return [i for i in range(len(ROWS)) if i not in (2, 5)]


def test_the_released_tools_cache_answers_fill_the_rows_it_never_sent() -> None:
    world = World()
    job = released_job(world)
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.results_for["batch_1"] = {
        f"task-{i}": Completion(text=f"answer to prompt {i}") for i in sent_rows()}

    outcome = world.fetch(job)

    assert world.responses() == [
        f"cached answer {i}" if i in (2, 5) else f"answer to prompt {i}" for i in range(8)]
    assert (outcome.rows, outcome.errors) == (8, 0)
    assert (outcome.merged.answered, outcome.merged.from_cache) == (8, 2)


def test_answers_without_ids_go_to_the_requests_sent_at_their_positions() -> None:
    world = World()
    job = released_job(world)
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    # Every answer came back by its position among the six rows sent (rows 2 and 5 were not).
    world.provider.results_for["batch_1"] = {  # type: ignore[assignment]
        position: Completion(text=f"answer to prompt {i}")
        for position, i in enumerate(sent_rows())}

    outcome = world.fetch(job)

    assert world.responses() == [
        f"cached answer {i}" if i in (2, 5) else f"answer to prompt {i}" for i in range(8)]
    assert outcome.errors == 0


@pytest.mark.parametrize("entries", [
    pytest.param({0: "a0", 1: "a1", 2: "a3", 3: "a4", 4: "a6"}, id="one-missing"),
    pytest.param({0: "a0", 1: "a1", 2: "a3", 3: "a4", 4: "a6", 5: "a7", 6: "extra"},
                 id="one-extra"),
    pytest.param({0: "a0", 1: "a1", 2: "a3", 3: "a4", 4: "a6", 9: "a7"}, id="out-of-range"),
    pytest.param({"task-1": "a1", 0: "a0", 2: "a3", 3: "a4", 4: "a6", 5: "a7"},
                 id="some-with-ids"),
])
def test_positions_are_not_trusted_unless_the_list_has_one_entry_per_request(
    entries: dict[object, str],
) -> None:
    world = World()
    job = released_job(world)
    world.provider.script("batch_1", BatchStatus.COMPLETED)
    world.provider.results_for["batch_1"] = {  # type: ignore[assignment]
        key: Completion(text=text) for key, text in entries.items()}

    outcome = world.fetch(job)

    # No row gets another row's answer: rows without a trusted answer say so.
    by_id = {key: text for key, text in entries.items() if isinstance(key, str)}
    assert world.responses() == [
        f"cached answer {i}" if i in (2, 5) else by_id.get(f"task-{i}") for i in range(8)]
    assert outcome.errors == 6 - len(by_id)
