"""Gemini answers the emulator never gives: finish reasons other than STOP, blocked prompts,
thinking tokens, and batch states beyond the common six.

A tiny loopback server replies with canned Gemini JSON, so these still go through the real
SDK over real HTTP; only the reply is fixed in advance.
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loom_adapters.providers.google.batch import GoogleBatch
from loom_adapters.providers.google.sync import GoogleSync
from loom_core.errors import PermanentError
from loom_core.model import BatchStatus, GenerationSettings
from loom_core.providers import ProviderConfig

GENERATE = "/v1/models/m:generateContent"


@pytest.fixture
def canned():
    """(base URL, replies): ``replies[path] = body`` is what a request to ``path`` gets."""
    replies: dict[str, object] = {}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            status, body = (200, replies[path]) if path in replies else (
                404, {"error": {"code": 404, "message": f"no canned reply for {path}",
                                "status": "NOT_FOUND"}})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", replies
    server.shutdown()
    server.server_close()


def answer(base_url: str):
    adapter = GoogleSync.from_config(ProviderConfig(api_key="k", base_url=base_url))

    async def run():
        try:
            return await adapter.generate("m", "p", GenerationSettings())
        finally:
            await adapter.aclose()
    return asyncio.run(run())


def candidate(reason: str | None, *parts: dict) -> dict:
    body: dict = {"index": 0}
    if parts:
        body["content"] = {"role": "model", "parts": list(parts)}
    if reason:
        body["finishReason"] = reason
    return body


@pytest.mark.parametrize("reason, expected", [
    ("STOP", None), (None, None), ("MAX_TOKENS", "length"),
    ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
    ("SPII", "content_filter"), ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ("OTHER", "other"),
])
def test_finish_reasons(canned, reason, expected):
    url, replies = canned
    replies[GENERATE] = {"candidates": [candidate(reason, {"text": "cut "}, {"text": "here"})],
                         "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}
    completion = answer(url)
    assert completion.text == "cut here" and completion.finish_reason == expected
    assert (completion.input_tokens, completion.output_tokens) == (3, 2)


def test_a_filtered_answer_without_content_is_empty_text_not_none(canned):
    url, replies = canned
    replies[GENERATE] = {"candidates": [candidate("SAFETY")]}
    completion = answer(url)
    assert completion.text == "" and completion.finish_reason == "content_filter"
    assert completion.ok


def test_a_blocked_prompt_is_an_empty_filtered_answer(canned):
    url, replies = canned
    replies[GENERATE] = {"promptFeedback": {"blockReason": "SAFETY"},
                         "usageMetadata": {"promptTokenCount": 4}}
    completion = answer(url)
    assert (completion.text, completion.finish_reason, completion.input_tokens) == (
        "", "content_filter", 4)


def test_a_response_with_no_answer_at_all_is_an_error(canned):
    url, replies = canned
    replies[GENERATE] = {"usageMetadata": {"promptTokenCount": 4}}
    with pytest.raises(PermanentError, match="without a candidate"):
        answer(url)


def test_thoughts_are_left_out_of_the_text_and_billed_as_output(canned):
    url, replies = canned
    replies[GENERATE] = {
        "candidates": [candidate("STOP", {"text": "thinking...", "thought": True},
                                 {"text": "the answer"})],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2,
                          "thoughtsTokenCount": 40}}
    completion = answer(url)
    assert completion.text == "the answer" and completion.output_tokens == 42


@pytest.mark.parametrize("state, expected", [
    ("JOB_STATE_QUEUED", BatchStatus.VALIDATING), ("BATCH_STATE_PENDING", BatchStatus.VALIDATING),
    ("JOB_STATE_RUNNING", BatchStatus.IN_PROGRESS), ("JOB_STATE_PAUSED", BatchStatus.IN_PROGRESS),
    ("JOB_STATE_CANCELLING", BatchStatus.CANCELLING),
    ("BATCH_STATE_CANCELLING", BatchStatus.CANCELLING),
    ("JOB_STATE_UPDATING", BatchStatus.IN_PROGRESS),
    ("BATCH_STATE_SUCCEEDED", BatchStatus.COMPLETED),
    ("JOB_STATE_PARTIALLY_SUCCEEDED", BatchStatus.COMPLETED),
    ("BATCH_STATE_FAILED", BatchStatus.FAILED), ("BATCH_STATE_CANCELLED", BatchStatus.CANCELLED),
    ("BATCH_STATE_EXPIRED", BatchStatus.EXPIRED),
])
def test_every_batch_state(canned, state, expected):
    url, replies = canned
    replies["/v1/batches/b1"] = {"name": "batches/b1", "metadata": {"state": state}}
    adapter = GoogleBatch.from_config(ProviderConfig(api_key="k", base_url=url))
    try:
        assert adapter.status("batches/b1") is expected
    finally:
        adapter.close()


@pytest.mark.filterwarnings("ignore:SOMETHING_NEW is not a valid JobState")
@pytest.mark.parametrize("metadata", [{"state": "BATCH_STATE_UNSPECIFIED"},
                                      {"state": "SOMETHING_NEW"}, {}])
def test_a_state_loom_does_not_know_is_an_error(canned, metadata):
    url, replies = canned
    replies["/v1/batches/b1"] = {"name": "batches/b1", "metadata": metadata}
    adapter = GoogleBatch.from_config(ProviderConfig(api_key="k", base_url=url))
    try:
        with pytest.raises(PermanentError, match="does not recognise"):
            adapter.status("b1")
    finally:
        adapter.close()
