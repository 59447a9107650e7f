"""The value types' own rules: statuses, settings and completions."""

from __future__ import annotations

import pytest

from loom_core.model import BatchPart, BatchStatus, CacheEntry, Completion, GenerationSettings

#: The seed README's ``loom fetch`` status table, copied verbatim
#: (seed/000_40ef8622991d5dd5.txt, section "loom fetch").
SEED_STATUS_TABLE = {
    "validating": "Provider has accepted the batch and is queueing/preparing it; no work has "
                  "started yet.",
    "in_progress": "Provider is actively running the prompts; check back later.",
    "completed": "All prompts finished and results were downloaded — the merged output file has "
                 "been written.",
    "failed": "Provider reported the batch as failed; results are not available.",
    "expired": "Batch exceeded the provider's time limit (typically 24h) before completing.",
    "cancelled": "Batch was cancelled — either by you on the provider's dashboard, or by the "
                 "provider itself.",
    "unknown": "The last fetch attempt raised an error (invalid id, auth failure, network glitch, "
               "or an API response Loom doesn't recognise). Re-run loom fetch to retry; if it "
               "persists, inspect the metadata file under ~/.loom/batches/.",
}


def test_the_statuses_are_the_seeds_seven_and_cancelling() -> None:
    seed = list(SEED_STATUS_TABLE)
    assert [status.value for status in BatchStatus] == seed[:2] + ["cancelling"] + seed[2:]


@pytest.mark.parametrize(("value", "text"), SEED_STATUS_TABLE.items())
def test_explanation_is_the_seeds_sentence(value: str, text: str) -> None:
    assert BatchStatus(value).explanation == text


def test_cancelling_says_what_happens_next() -> None:
    assert BatchStatus.CANCELLING.explanation == (
        "You cancelled the batch and the provider is stopping it; once it has stopped, "
        "loom fetch merges the answers it finished.")


@pytest.mark.parametrize(("reported", "recorded"), [
    (BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING),
    (BatchStatus.VALIDATING, BatchStatus.CANCELLING),
    (BatchStatus.CANCELLED, BatchStatus.CANCELLED),
    (BatchStatus.COMPLETED, BatchStatus.COMPLETED),
    (BatchStatus.UNKNOWN, BatchStatus.UNKNOWN),
])
def test_a_part_being_cancelled_stays_cancelling_until_the_provider_ends_it(
        reported: BatchStatus, recorded: BatchStatus) -> None:
    part = BatchPart(index=0, start=0, end=1, batch_id="b", status=BatchStatus.CANCELLING)
    part.seen(reported)
    assert part.status is recorded


def test_a_part_not_being_cancelled_takes_what_the_provider_reports() -> None:
    part = BatchPart(index=0, start=0, end=1, batch_id="b", status=BatchStatus.VALIDATING)
    part.seen(BatchStatus.IN_PROGRESS)
    assert part.status is BatchStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("value", "terminal"),
    [
        ("validating", False),
        ("in_progress", False),
        ("cancelling", False),
        ("completed", True),
        ("failed", True),
        ("expired", True),
        ("cancelled", True),
        # The seed's table calls only validating/in_progress non-terminal, but says of unknown
        # "Re-run loom fetch to retry": a plain `loom fetch` must pick it up again.
        ("unknown", False),
    ],
)
def test_is_terminal(value: str, terminal: bool) -> None:
    assert BatchStatus(value).is_terminal is terminal


def test_settings_convert_their_inputs() -> None:
    settings = GenerationSettings(temperature="0.5", max_tokens=100.0, stop=["a", "b"])
    assert settings.temperature == 0.5 and isinstance(settings.temperature, float)
    assert settings.max_tokens == 100 and isinstance(settings.max_tokens, int)
    assert settings.stop == ("a", "b")


def test_a_single_stop_string_is_one_stop_sequence() -> None:
    assert GenerationSettings(stop="END").stop == ("END",)


def test_no_settings_have_no_fields_and_no_canonical_json() -> None:
    assert GenerationSettings().set_fields() == {}
    assert GenerationSettings().canonical_json() is None


def test_set_fields_names_only_what_is_set() -> None:
    settings = GenerationSettings(top_k=0, json_mode=False, extra={"x": 1})
    assert settings.set_fields() == {"top_k": 0, "extra": {"x": 1}}


def test_completion_ok_and_failure() -> None:
    assert Completion(text="hi").ok
    failure = Completion.failure("boom")
    assert not failure.ok and failure.text is None and failure.error == "boom"


def test_cache_entry_becomes_a_completion() -> None:
    entry = CacheEntry(provider="p", model="m", response="r", created_at="t",
                       finish_reason="length", input_tokens=3, output_tokens=4)
    assert entry.to_completion() == Completion(text="r", finish_reason="length", input_tokens=3,
                                               output_tokens=4)


def test_a_completion_becomes_a_cache_entry_and_back() -> None:
    completion = Completion(text="r", finish_reason="length", input_tokens=3, output_tokens=4)
    entry = CacheEntry.from_completion(completion, provider="p", model="m", created_at="t",
                                       params={"temperature": 0.2})
    assert entry == CacheEntry(provider="p", model="m", response="r", created_at="t",
                               params={"temperature": 0.2}, finish_reason="length",
                               input_tokens=3, output_tokens=4)
    assert entry.to_completion() == completion
    empty = CacheEntry.from_completion(Completion(text=None), provider="p", model="m",
                                       created_at="t")
    assert empty.response == "" and empty.params is None
