"""The google batch adapter through the real google-genai SDK against the emulator.

Submit (inline, and as an uploaded JSONL file when the requests are large, with ``extra`` fields
placed alike either way), the status of every state, results in the provider's shuffled order
with per-request errors, cancel, bare ids from an older Loom, and the errors the batch calls can
meet.
"""

from __future__ import annotations

import re

import json
import socket

import pytest
from google import genai
from google.genai import types

from loom_adapters.providers.google.batch import GoogleBatch
from loom_core.errors import AuthenticationError, PermanentError, TransientError, UnsupportedError
from loom_core.model import BatchRequest, BatchStatus, GenerationSettings
from loom_core.providers import ProviderConfig
from tests.emulator.replies import count_words, reply_text
from tests.support import said

MODEL = "gemini-emu"
META = {"loom_source": "/data/prompts.json", "loom_created_at": "2026-11-26T10:00:00+00:00"}
PLAIN = GenerationSettings()


@pytest.fixture
def make(emulator):
    """Build batch adapters on the emulator, closed at the end of the test."""
    made: list[GoogleBatch] = []

    def build(key: str = "test-key", base_url: str | None = None, **options) -> GoogleBatch:
        url = base_url or emulator.env()["GOOGLE_GEMINI_BASE_URL"]
        adapter = GoogleBatch.from_config(ProviderConfig(api_key=key, base_url=url), **options)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def requests_for(prompts: list[str]) -> list[BatchRequest]:
    return [BatchRequest(f"row-{i}", prompt) for i, prompt in enumerate(prompts)]


def uploaded_lines(emulator, file_name: str) -> list[dict]:
    # The emulator records no body for upload data, but serves the stored file back; the real
    # API would not (uploaded files cannot be downloaded), so this is a test-only look.
    client = genai.Client(api_key="k", http_options=types.HttpOptions(
        base_url=emulator.env()["GOOGLE_GEMINI_BASE_URL"]))
    return [json.loads(line) for line in client.files.download(file=file_name).splitlines()]


# ---- submit ----------------------------------------------------------------------------

def test_inline_submit_keeps_the_name_and_sends_every_request_with_its_key(emulator, make):
    settings = GenerationSettings(temperature=0.3, max_tokens=20, top_p=0.5, top_k=4,
                                  stop=("END",), seed=1, presence_penalty=0.1,
                                  frequency_penalty=0.2, system="be brief", json_mode=True)
    name = make().submit(MODEL, requests_for(["first", "second"]), settings, META)
    assert name == f"batches/{emulator.batches('gemini')[0]['id']}"  # as the provider gave it
    body = emulator.requests("gemini", "batches_create")[0]
    assert body["path"] == f"/gemini/v1/models/{MODEL}:batchGenerateContent"
    batch = body["json"]["batch"]
    assert batch["displayName"] == "loom /data/prompts.json 2026-11-26T10:00:00+00:00"
    entries = batch["inputConfig"]["requests"]["requests"]
    assert [e["metadata"] for e in entries] == [{"key": "row-0"}, {"key": "row-1"}]
    for entry, prompt in zip(entries, ["first", "second"], strict=True):
        request = entry["request"]
        assert request["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
        assert request["systemInstruction"]["parts"] == [{"text": "be brief"}]
        assert request["generationConfig"] == {
            "temperature": 0.3, "maxOutputTokens": 20, "topP": 0.5, "topK": 4,
            "stopSequences": ["END"], "seed": 1, "presencePenalty": 0.1,
            "frequencyPenalty": 0.2, "responseMimeType": "application/json"}
    assert emulator.calls("gemini", "files_upload") == 0


def test_large_requests_go_as_an_uploaded_jsonl_file(emulator, make):
    adapter = make(inline_limit_bytes=200)
    prompts = [f"prompt number {i}" for i in range(6)]
    settings = GenerationSettings(temperature=0.5, system="sys")
    name = adapter.submit(MODEL, requests_for(prompts), settings, META)
    assert name.startswith("batches/")
    source = emulator.requests("gemini", "batches_create")[0]["json"]["batch"]["inputConfig"]
    assert set(source) == {"fileName"} and source["fileName"].startswith("files/")
    upload = emulator.requests("gemini", "files_upload")[0]
    assert upload["headers"]["x-goog-upload-header-content-type"] == "jsonl"
    assert upload["json"]["file"]["display_name"].startswith("loom ")
    assert uploaded_lines(emulator, source["fileName"]) == [
        {"key": f"row-{i}", "request": {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            # As the SDK spells a system prompt in a sync call's body.
            "systemInstruction": {"parts": [{"text": "sys"}], "role": "user"},
            "generationConfig": {"temperature": 0.5}}}
        for i, prompt in enumerate(prompts)]
    assert adapter.status(name) is BatchStatus.VALIDATING
    assert adapter.status(name) is BatchStatus.COMPLETED
    answers = dict(adapter.results(name))
    assert {key: c.text for key, c in answers.items()} == {
        f"row-{i}": reply_text(MODEL, prompt) for i, prompt in enumerate(prompts)}


EXTRA = {"candidate_count": 1, "safetySettings": [
    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]}


@pytest.mark.parametrize("limit", [10**9, 10], ids=["inline", "file"])
def test_extra_fields_land_where_the_sdk_puts_them_inline_and_in_a_file(emulator, make, limit):
    adapter = make(inline_limit_bytes=limit)
    name = adapter.submit(MODEL, requests_for(["a", "b"]), GenerationSettings(
        top_k=3, extra=EXTRA), META)
    source = emulator.requests("gemini", "batches_create")[0]["json"]["batch"]["inputConfig"]
    if limit == 10:
        requests = [line["request"] for line in uploaded_lines(emulator, source["fileName"])]
    else:
        requests = [entry["request"] for entry in source["requests"]["requests"]]
    assert [r["generationConfig"] for r in requests] == [{"topK": 3, "candidateCount": 1}] * 2
    assert [r["safetySettings"] for r in requests] == [EXTRA["safetySettings"]] * 2
    adapter.status(name)
    assert adapter.status(name) is BatchStatus.COMPLETED
    assert sorted(key for key, c in adapter.results(name) if c.ok) == ["row-0", "row-1"]


def test_unsupported_settings_raise_before_any_call(emulator, make):
    with pytest.raises(UnsupportedError) as refused:
        make().submit(MODEL, requests_for(["x"]), GenerationSettings(stop=tuple("abcdef")), META)
    assert re.search("--stop", said(refused.value))
    with pytest.raises(UnsupportedError) as refused:
        make().submit(MODEL, requests_for(["x"]), GenerationSettings(
            extra={"generationConfig": {"candidateCount": 1}}), META)
    assert re.search("--param generationConfig is not a field", said(refused.value))
    assert emulator.calls("gemini") == 0


# ---- status ----------------------------------------------------------------------------

@pytest.mark.parametrize("states, expected", [
    (["pending", "running", "completed"], ["validating", "in_progress", "completed"]),
    (["pending", "failed"], ["validating", "failed"]),
    (["running", "expired"], ["in_progress", "expired"]),
    (["pending", "cancelled"], ["validating", "cancelled"]),
])
def test_status_maps_every_state(emulator, make, states, expected):
    emulator.plan_batches("gemini", states)
    adapter = make()
    name = adapter.submit(MODEL, requests_for(["x"]), PLAIN, META)
    # create shows the first state; each retrieve after it takes the next one.
    assert [adapter.status(name).value for _ in states] == expected


# ---- results ---------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [10**9, 10], ids=["inline", "file"])
def test_results_come_with_every_id_and_errors_as_failures(emulator, make, limit):
    adapter = make(inline_limit_bytes=limit)
    prompts = [f"question {i}" for i in range(8)]
    prompts[5] = "this one breaks [[fail]]"
    name = adapter.submit(MODEL, requests_for(prompts), PLAIN, META)
    adapter.status(name)
    assert adapter.status(name) is BatchStatus.COMPLETED
    results = list(adapter.results(name))
    keys = [key for key, _ in results]
    assert sorted(keys) == sorted(f"row-{i}" for i in range(8))
    # Inline responses come in request order (as documented); a results file's lines do not.
    assert (keys == [f"row-{i}" for i in range(8)]) is (limit > 10)
    for key, completion in results:
        prompt = prompts[int(key.split("-")[1])]
        if "[[fail]]" in prompt:
            assert completion.text is None
            assert completion.error.startswith("Gemini API error 400")
            assert "[[fail]]" in completion.error
        else:
            assert completion.error is None and completion.finish_reason is None
            assert completion.text == reply_text(MODEL, prompt)
            assert completion.input_tokens == count_words(prompt)
            assert completion.output_tokens == count_words(completion.text)


def test_results_of_a_batch_without_output_are_empty(emulator, make):
    emulator.plan_batches("gemini", ["pending", "failed"])
    adapter = make()
    name = adapter.submit(MODEL, requests_for(["x", "y"]), PLAIN, META)
    adapter.status(name)
    assert adapter.status(name) is BatchStatus.FAILED
    assert list(adapter.results(name)) == []


def test_expired_batches_report_only_the_finished_requests(emulator, make):
    emulator.plan_batches("gemini", ["running", "expired"], partial=2)
    adapter = make()
    name = adapter.submit(MODEL, requests_for([f"p{i}" for i in range(5)]), PLAIN, META)
    adapter.status(name)
    assert adapter.status(name) is BatchStatus.EXPIRED
    assert len(list(adapter.results(name))) == 2


# ---- cancel ----------------------------------------------------------------------------

def test_cancel(emulator, make):
    emulator.plan_batches("gemini", ["pending", "running"])
    adapter = make()
    name = adapter.submit(MODEL, requests_for(["x"]), PLAIN, META)
    adapter.cancel(name)
    assert emulator.calls("gemini", "batches_cancel") == 1
    # The Gemini API has no cancelling state: the batch runs on until it has stopped.
    assert adapter.status(name) is BatchStatus.IN_PROGRESS
    assert adapter.status(name) is BatchStatus.CANCELLED


# ---- names -----------------------------------------------------------------------------

def test_canonical_id_prefixes_a_bare_id_and_keeps_a_full_name(make):
    adapter = make()
    assert adapter.canonical_id("jqpem7abc") == "batches/jqpem7abc"
    assert adapter.canonical_id("batches/jqpem7abc") == "batches/jqpem7abc"
    for junk in ("", "files/abc", "batches/a/b", "two words"):
        with pytest.raises(PermanentError, match="not a Gemini batch name"):
            adapter.canonical_id(junk)


def test_every_method_accepts_a_bare_id(emulator, make):
    adapter = make()
    name = adapter.submit(MODEL, requests_for(["hello", "world"]), PLAIN, META)
    bare = name.removeprefix("batches/")
    assert adapter.status(bare) is BatchStatus.VALIDATING
    assert adapter.status(bare) is BatchStatus.COMPLETED
    assert sorted(adapter.results(bare)) == sorted(adapter.results(name))
    adapter.cancel(bare)  # a finished batch: the API accepts and nothing changes
    paths = {r["path"] for r in emulator.requests("gemini", "batches_get")}
    assert paths == {f"/gemini/v1/{name}"}


def test_a_name_that_cannot_be_a_batch_is_refused_before_sending(emulator, make):
    with pytest.raises(PermanentError):
        make().status("files/abc")
    assert emulator.calls("gemini") == 0


# ---- errors ----------------------------------------------------------------------------

def test_batch_errors_are_translated(emulator, make):
    name = make().submit(MODEL, requests_for(["x"]), PLAIN, META)
    with pytest.raises(AuthenticationError):
        make(key="bad-key").status(name)
    with pytest.raises(PermanentError, match="404"):
        make().status("batches/nope")
    emulator.add_fault(provider="gemini", endpoint="batches_get", status=503, times=1)
    with pytest.raises(TransientError, match="503"):
        make().status(name)
    emulator.add_fault(provider="gemini", endpoint="batches_create", status=500, times=1)
    with pytest.raises(TransientError):
        make().submit(MODEL, requests_for(["x"]), PLAIN, META)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="unreachable"):
        make(base_url=f"http://127.0.0.1:{port}/gemini").status(name)


def test_a_failed_download_of_the_results_is_an_error_not_an_empty_batch(emulator, make):
    adapter = make(inline_limit_bytes=10)
    name = adapter.submit(MODEL, requests_for(["a", "b"]), PLAIN, META)
    adapter.status(name)
    adapter.status(name)
    emulator.add_fault(provider="gemini", endpoint="files_download", status=500, times=1)
    with pytest.raises(TransientError):
        list(adapter.results(name))
    assert len(list(adapter.results(name))) == 2
