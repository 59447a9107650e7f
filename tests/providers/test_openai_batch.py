"""OpenAI batch adapter through the real SDK against the emulator: submit, the status of
every state, results from output and error files in any order, cancel, and failures."""

from __future__ import annotations

import re

import json
import os
import socket

import openai
import pytest

from loom_adapters.providers.openai import SPEC
from loom_adapters.providers.openai.batch import OpenAIBatch, result_of_line
from loom_core.errors import AuthenticationError, PermanentError, TransientError, UnsupportedError
from loom_core.model import BatchRequest, BatchStatus, GenerationSettings
from loom_core.providers import ProviderConfig
from tests.emulator.replies import count_words, reply_text
from tests.support import said

MODEL = "gpt-emu"


def adapter(key: str = "test-key", base_url: str | None = None) -> OpenAIBatch:
    return SPEC.build("batch", ProviderConfig(
        api_key=key, base_url=base_url or os.environ["OPENAI_BASE_URL"]))


def sdk() -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=os.environ["OPENAI_BASE_URL"], max_retries=0)


def requests_for(prompts: list[str]) -> list[BatchRequest]:
    return [BatchRequest(f"row-{i}", p) for i, p in enumerate(prompts)]


def submit(provider: OpenAIBatch, prompts: list[str],
           settings: GenerationSettings = GenerationSettings()) -> str:
    return provider.submit(MODEL, requests_for(prompts), settings,
                           {"loom_source": "data.json", "loom_created_at": "2026-11-26"})


def input_lines(batch_id: str) -> list[dict]:
    c = sdk()
    file_id = c.batches.retrieve(batch_id).input_file_id
    return [json.loads(line) for line in c.files.content(file_id).text.splitlines() if line]


def test_submit_uploads_a_jsonl_file_and_creates_the_batch(emulator):
    settings = GenerationSettings(temperature=0.5, max_tokens=20, system="Be brief.",
                                  json_mode=True, extra={"user": "u"})
    batch_id = submit(adapter(), ["first ü prompt", "second"], settings)
    upload = emulator.requests("openai", "files_upload")[-1]
    assert upload["form"]["purpose"] == "batch"
    assert upload["form"]["filename"].endswith(".jsonl")
    created = emulator.requests("openai", "batches_create")[-1]["json"]
    assert created["endpoint"] == "/v1/chat/completions"
    assert created["completion_window"] == "24h"
    assert created["metadata"] == {"loom_source": "data.json", "loom_created_at": "2026-11-26"}
    assert created["input_file_id"].startswith("file-")
    lines = input_lines(batch_id)
    assert [line["custom_id"] for line in lines] == ["row-0", "row-1"]
    assert {line["method"] for line in lines} == {"POST"}
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    body = lines[0]["body"]
    assert body["messages"][-1] == {"role": "user", "content": "first ü prompt"}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["model"], body["temperature"], body["max_tokens"], body["user"]) == (
        MODEL, 0.5, 20, "u")
    assert body["response_format"] == {"type": "json_object"}


def test_long_metadata_is_trimmed_to_the_api_limits(emulator):
    adapter().submit(MODEL, requests_for(["x"]), GenerationSettings(),
                     {"loom_source": "/very/long/" + "d" * 600 + "/data.json"})
    sent = emulator.requests("openai", "batches_create")[-1]["json"]["metadata"]
    assert len(sent["loom_source"]) == 512 and sent["loom_source"].endswith("/data.json")


def test_unsupported_settings_refuse_before_upload(emulator):
    with pytest.raises(UnsupportedError) as refused:
        submit(adapter(), ["x"], GenerationSettings(top_k=3))
    assert re.search("openai does not support --top-k", said(refused.value))
    assert emulator.calls("openai") == 0


def test_reasoning_model_lines_use_max_completion_tokens(emulator):
    provider = adapter()
    batch_id = provider.submit("o3-mini", requests_for(["x"]), GenerationSettings(max_tokens=9),
                               {})
    body = input_lines(batch_id)[0]["body"]
    assert body["max_completion_tokens"] == 9 and "max_tokens" not in body


def test_status_maps_every_state(emulator):
    emulator.plan_batches("openai", ["validating", "in_progress", "finalizing", "completed"])
    provider = adapter()
    batch_id = submit(provider, ["a"])
    assert [provider.status(batch_id) for _ in range(5)] == [
        BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.IN_PROGRESS,
        BatchStatus.COMPLETED, BatchStatus.COMPLETED]


@pytest.mark.parametrize("state, status", [
    ("failed", BatchStatus.FAILED), ("expired", BatchStatus.EXPIRED),
    ("cancelled", BatchStatus.CANCELLED), ("cancelling", BatchStatus.CANCELLING),
])
def test_terminal_and_transitional_states(emulator, state, status):
    provider = adapter()
    batch_id = submit(provider, ["a", "b"])
    emulator.set_batch_state("openai", batch_id, state)
    assert provider.status(batch_id) is status


def test_results_come_shuffled_and_are_matched_by_custom_id(emulator):
    provider = adapter()
    prompts = [f"prompt number {i}" for i in range(8)]
    batch_id = submit(provider, prompts)
    provider.status(batch_id)
    assert provider.status(batch_id) is BatchStatus.COMPLETED
    results = list(provider.results(batch_id))
    ids = [custom_id for custom_id, _ in results]
    assert ids != sorted(ids, key=lambda c: int(c.split("-")[1])), "emulator shuffles"
    answers = dict(results)
    assert sorted(answers) == sorted(f"row-{i}" for i in range(8))
    for i, prompt in enumerate(prompts):
        done = answers[f"row-{i}"]
        assert done.ok and done.text == reply_text(MODEL, prompt)
        assert done.input_tokens == count_words(prompt)
        assert done.output_tokens == count_words(reply_text(MODEL, prompt))
        assert done.finish_reason is None


def test_per_request_errors_are_failures(emulator):
    provider = adapter()
    batch_id = submit(provider, ["fine", "broken [[fail]]", "also fine"])
    provider.status(batch_id)
    answers = dict(provider.results(batch_id))
    assert answers["row-0"].ok and answers["row-2"].ok
    broken = answers["row-1"]
    assert not broken.ok and broken.text is None
    assert "400" in broken.error and "[[fail]]" in broken.error


def test_all_failed_batch_has_only_an_error_file(emulator):
    provider = adapter()
    batch_id = submit(provider, ["x [[fail]]", "y [[fail]]"])
    provider.status(batch_id)
    assert provider.status(batch_id) is BatchStatus.COMPLETED
    assert sdk().batches.retrieve(batch_id).output_file_id is None
    answers = dict(provider.results(batch_id))
    assert sorted(answers) == ["row-0", "row-1"]
    assert not any(a.ok for a in answers.values())


def test_expired_batch_keeps_finished_answers(emulator):
    emulator.plan_batches("openai", ["in_progress", "expired"], partial=2)
    provider = adapter()
    batch_id = submit(provider, [f"p {i}" for i in range(5)])
    assert provider.status(batch_id) is BatchStatus.IN_PROGRESS
    assert provider.status(batch_id) is BatchStatus.EXPIRED
    answers = dict(provider.results(batch_id))
    assert sorted(answers) == [f"row-{i}" for i in range(5)]
    done = [a for a in answers.values() if a.ok]
    expired = [a for a in answers.values() if not a.ok]
    assert len(done) == 2 and len(expired) == 3
    assert all("batch_expired" in a.error for a in expired)


def test_cancel(emulator):
    provider = adapter()
    batch_id = submit(provider, ["a", "b", "c"])
    provider.cancel(batch_id)
    assert emulator.calls("openai", "batches_cancel") == 1
    assert provider.status(batch_id) is BatchStatus.CANCELLING
    assert provider.status(batch_id) is BatchStatus.CANCELLED
    answers = dict(provider.results(batch_id))
    assert {a.error for a in answers.values()} == {
        "OpenAI batch_cancelled: This request was not executed because the batch was "
        "cancelled."}


def test_results_of_an_unfinished_batch_are_empty(emulator):
    provider = adapter()
    batch_id = submit(provider, ["a"])
    emulator.set_batch_state("openai", batch_id, "in_progress")
    assert list(provider.results(batch_id)) == []


def test_output_lines_with_an_error_status_are_failures():
    custom_id, done = result_of_line({
        "custom_id": "row-3", "error": None,
        "response": {"status_code": 429, "body": {"error": {
            "message": "Too many\nrequests", "code": "rate_limit_exceeded"}}},
    })
    assert custom_id == "row-3" and not done.ok
    assert done.error == "OpenAI 429 rate_limit_exceeded: Too many requests"
    _, empty = result_of_line({"custom_id": "row-4", "response": {"status_code": 200, "body": {
        "choices": [{"message": {"content": None}, "finish_reason": "stop"}]}}})
    assert not empty.ok and "no answer" in empty.error
    _, filtered = result_of_line({"custom_id": "row-5", "response": {"status_code": 200, "body": {
        "choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]}}})
    assert (filtered.text, filtered.finish_reason) == ("", "content_filter")


def test_failures_are_domain_errors(emulator):
    with pytest.raises(AuthenticationError) as caught:
        submit(adapter(key="bad-key"), ["x"])
    assert "bad-key" not in str(caught.value)
    provider = adapter()
    with pytest.raises(PermanentError, match="404"):
        provider.status("batch_nope")
    emulator.add_fault(provider="openai", endpoint="batches_get", status=500, times=1)
    batch_id = submit(provider, ["x"])
    with pytest.raises(TransientError):
        provider.status(batch_id)
    emulator.add_fault(provider="openai", endpoint="files_download", drop=True, times=1)
    provider.status(batch_id)
    with pytest.raises(TransientError):
        list(provider.results(batch_id))
    assert len(list(provider.results(batch_id))) == 1


def test_unreachable_host():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="could not reach"):
        adapter(base_url=f"http://127.0.0.1:{port}/v1").status("batch_x")


def test_no_metadata_sends_none(emulator):
    adapter().submit(MODEL, requests_for(["x"]), GenerationSettings(), {})
    assert "metadata" not in emulator.requests("openai", "batches_create")[-1]["json"]
