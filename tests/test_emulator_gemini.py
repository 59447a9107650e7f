"""The real google-genai SDK against the emulator: generate, count, batches, files, faults."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
import requests
from google import genai
from google.genai import errors, types

from tests.emulator.fixture import emulator  # noqa: F401
from tests.emulator.replies import count_words, reply_text

MODEL = "gemini-emu"


def client(key: str = "test-key", **http) -> genai.Client:
    options = types.HttpOptions(**http) if http else None
    return genai.Client(api_key=key, http_options=options)


def inline(prompt: str, row: int) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "metadata": {"row": str(row)}}


def finish(g: genai.Client, name: str) -> types.BatchJob:
    g.batches.get(name=name)
    return g.batches.get(name=name)


def test_generate_reply_and_usage(emulator):
    g = client()
    r = g.models.generate_content(
        model=MODEL, contents="tell me more",
        config=types.GenerateContentConfig(system_instruction="be short", temperature=0.1))
    assert r.text == reply_text(MODEL, "tell me more")
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.prompt_token_count == count_words("be short tell me more") == 5
    assert r.usage_metadata.candidates_token_count == count_words(r.text)
    sent = emulator.requests("gemini", "generate")[-1]
    assert sent["path"] == f"/gemini/v1/models/{MODEL}:generateContent"
    assert sent["json"]["systemInstruction"]["parts"][0]["text"] == "be short"
    assert sent["api_key"] == "test-key"


def test_v1beta_and_count_tokens(emulator):
    g = client(api_version="v1beta")
    assert g.models.count_tokens(model=MODEL, contents="one two three").total_tokens == 3
    assert emulator.requests("gemini")[-1]["path"].startswith("/gemini/v1beta/")


def test_inline_batch_lifecycle(emulator):
    g = client()
    prompts = [f"row {i} text" for i in range(6)]
    job = g.batches.create(model=MODEL, src=[inline(p, i) for i, p in enumerate(prompts)],
                           config={"display_name": "emu-test"})
    assert job.name.startswith("batches/")
    assert job.state == types.JobState.JOB_STATE_PENDING and not job.done
    assert g.batches.get(name=job.name).state == types.JobState.JOB_STATE_PENDING
    job = g.batches.get(name=job.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED and job.done
    assert job.display_name == "emu-test" and job.model == f"models/{MODEL}"
    got = job.dest.inlined_responses
    # In request order, each with its request's metadata, as the API reference says.
    assert [int(r.metadata["row"]) for r in got] == list(range(6))
    for r in got:
        assert r.error is None
        assert r.response.text == reply_text(MODEL, prompts[int(r.metadata["row"])])
    assert [j.name for j in g.batches.list()] == [job.name]


def test_file_batch_and_download(emulator):
    g = client()
    lines = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"file prompt {i}"}]}]}}
             for i in range(4)]
    lines[2]["request"]["contents"][0]["parts"][0]["text"] = "broken [[fail]]"
    data = "\n".join(json.dumps(x) for x in lines).encode()
    uploaded = g.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
    assert uploaded.name.startswith("files/") and uploaded.size_bytes == len(data)
    job = finish(g, g.batches.create(model=MODEL, src=uploaded.name).name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest.file_name.startswith("files/")
    out = [json.loads(x) for x in g.files.download(file=job.dest.file_name).decode().splitlines()]
    assert sorted(x["key"] for x in out) == ["k0", "k1", "k2", "k3"]
    for x in out:
        if x["key"] == "k2":
            assert x["error"]["code"] == 400 and "response" not in x
        else:
            text = x["response"]["candidates"][0]["content"]["parts"][0]["text"]
            assert text == reply_text(MODEL, f"file prompt {x['key'][1:]}")


def test_unknown_root_fields_are_refused_as_the_api_does(emulator):
    g = client()
    unknown = 'Invalid JSON payload received. Unknown name "candidate_count": Cannot find field.'
    with pytest.raises(errors.ClientError) as caught:
        g.models.generate_content(model=MODEL, contents="x", config=types.GenerateContentConfig(
            http_options=types.HttpOptions(extra_body={"candidate_count": 1})))
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.message == unknown
    # Protobuf JSON: a known field is accepted in snake_case too.
    snake = {"contents": [{"parts": [{"text": "y"}]}], "generation_config": {"seed": 1}}
    assert requests.post(f"{emulator.env()['GOOGLE_GEMINI_BASE_URL']}/v1beta/models/{MODEL}"
                         ":generateContent", json=snake, headers={"x-goog-api-key": "k"},
                         timeout=10).status_code == 200
    # Inline requests are part of the create call, which fails whole.
    entry = {"request": {"contents": [{"parts": [{"text": "z"}]}], "candidate_count": 1}}
    created = requests.post(
        f"{emulator.env()['GOOGLE_GEMINI_BASE_URL']}/v1beta/models/{MODEL}:batchGenerateContent",
        json={"batch": {"inputConfig": {"requests": {"requests": [entry]}}}},
        headers={"x-goog-api-key": "k"}, timeout=10)
    assert created.status_code == 400
    assert created.json()["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "candidate_count" at '
        "'batch.input_config.requests.requests[0].request': Cannot find field.")
    # A file's line fails alone.
    line = {"key": "k0", "request": entry["request"]}
    uploaded = g.files.upload(file=io.BytesIO(json.dumps(line).encode()),
                              config={"mime_type": "jsonl"})
    job = finish(g, g.batches.create(model=MODEL, src=uploaded.name).name)
    out = [json.loads(x) for x in g.files.download(file=job.dest.file_name).decode().splitlines()]
    assert out == [{"key": "k0", "error": {"code": 400, "message": unknown,
                                           "status": "INVALID_ARGUMENT"}}]


def test_per_item_error_inline(emulator):
    g = client()
    job = finish(g, g.batches.create(model=MODEL, src=[inline("ok", 0), inline("no [[fail]]", 1)]).name)
    by_row = {r.metadata["row"]: r for r in job.dest.inlined_responses}
    assert by_row["0"].response.text == reply_text(MODEL, "ok")
    assert by_row["1"].response is None and by_row["1"].error.code == 400


def test_no_metadata_fault_leaves_inline_responses_without_their_metadata(emulator):
    g = client()
    name = g.batches.create(model=MODEL, src=[inline(f"p{i}", i) for i in range(3)]).name
    emulator.add_fault(provider="gemini", endpoint="batches_get", no_metadata=True)
    job = finish(g, name)
    assert [r.metadata for r in job.dest.inlined_responses] == [None, None, None]
    assert [r.response.text for r in job.dest.inlined_responses] == [
        reply_text(MODEL, f"p{i}") for i in range(3)]


def test_expired_with_partial_results(emulator):
    emulator.plan_batches("gemini", ["JOB_STATE_RUNNING", "JOB_STATE_EXPIRED"], partial=1)
    g = client()
    job = finish(g, g.batches.create(model=MODEL, src=[inline(f"p{i}", i) for i in range(3)]).name)
    assert job.state == types.JobState.JOB_STATE_EXPIRED
    assert len(job.dest.inlined_responses) == 1


def test_cancel_and_delete(emulator):
    g = client()
    job = g.batches.create(model=MODEL, src=[inline("x", 0)])
    assert g.batches.cancel(name=job.name) is None
    # The Gemini API has no cancelling state: a batch being cancelled shows as running.
    job = g.batches.get(name=job.name)
    assert job.state == types.JobState.JOB_STATE_RUNNING
    job = g.batches.get(name=job.name)
    assert job.state == types.JobState.JOB_STATE_CANCELLED and job.dest is None
    g.batches.delete(name=job.name)
    with pytest.raises(errors.ClientError) as e:
        g.batches.get(name=job.name)
    assert e.value.code == 404


def test_batch_name_checked_by_sdk(emulator):
    with pytest.raises(ValueError, match="Invalid batch job name"):
        client().batches.get(name="emu00001")
    assert emulator.calls("gemini") == 0


def test_set_state_with_control_api(emulator):
    g = client()
    job = g.batches.create(model=MODEL, src=[inline(f"p{i}", i) for i in range(4)])
    emulator.set_batch_state("gemini", job.name, "JOB_STATE_FAILED")
    job = g.batches.get(name=job.name)
    assert job.state == types.JobState.JOB_STATE_FAILED and job.dest is None


def test_faults(emulator):
    g, bad = client(), client("bad-key")  # a temporary Client is closed under its call
    with pytest.raises(errors.ClientError) as e:
        bad.models.generate_content(model=MODEL, contents="x")
    assert e.value.code == 400 and e.value.status == "INVALID_ARGUMENT"
    assert e.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"

    emulator.add_fault(provider="gemini", endpoint="generate", status=429, retry_after=2, times=1)
    with pytest.raises(errors.ClientError) as e:
        g.models.generate_content(model=MODEL, contents="x")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    assert "retry-after" not in e.value.response.headers
    retry = [d for d in e.value.details["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]

    emulator.add_fault(provider="gemini", quota=True, times=1)
    with pytest.raises(errors.ClientError) as e:
        g.models.generate_content(model=MODEL, contents="x")
    kinds = [d["@type"].rsplit(".", 1)[1] for d in e.value.details["error"]["details"]]
    assert e.value.code == 429 and "QuotaFailure" in kinds and "RetryInfo" not in kinds

    emulator.add_fault(provider="gemini", endpoint="generate", status=503, times=1)
    with pytest.raises(errors.ServerError) as e:
        g.models.generate_content(model=MODEL, contents="x")
    assert e.value.code == 503 and e.value.status == "UNAVAILABLE"
    assert g.models.generate_content(model=MODEL, contents="x").text


def test_async_concurrency(emulator):
    emulator.set_latency(200)
    g = client()

    async def run():
        return await asyncio.gather(*(g.aio.models.generate_content(model=MODEL, contents=f"q {i}")
                                      for i in range(25)))

    replies = asyncio.run(run())
    assert [r.text for r in replies] == [reply_text(MODEL, f"q {i}") for i in range(25)]
    assert emulator.max_in_flight("gemini") == 25
