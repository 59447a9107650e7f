"""The real anthropic SDK against the emulator: messages, token count, batches, faults."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from tests.emulator.fixture import emulator  # noqa: F401
from tests.emulator.replies import count_words, reply_text

MODEL = "claude-emu"


def client(key: str = "test-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, max_retries=0)


def req(cid: str, prompt: str, **params) -> dict:
    body = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}
    body.update(params)
    return {"custom_id": cid, "params": {k: v for k, v in body.items() if v is not None}}


def results(c: anthropic.Anthropic, batch_id: str) -> list:
    return list(c.messages.batches.results(batch_id))


def test_message_reply_and_usage(emulator):
    m = client().messages.create(model=MODEL, max_tokens=100, system="you are terse",
                                 messages=[{"role": "user", "content": "say hi"}])
    assert m.content[0].type == "text"
    assert m.content[0].text == reply_text(MODEL, "say hi")
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens == count_words("you are terse say hi") == 5
    assert m.usage.output_tokens == count_words(reply_text(MODEL, "say hi"))
    sent = emulator.requests("anthropic", "messages")[-1]
    assert sent["json"]["system"] == "you are terse"
    assert sent["api_key"] == "test-key"
    assert sent["headers"]["anthropic-version"]


def test_count_tokens(emulator):
    n = client().messages.count_tokens(model=MODEL, system="a b",
                                       messages=[{"role": "user", "content": "c d e"}])
    assert n.input_tokens == 5


def test_missing_max_tokens_is_400(emulator):
    # The SDK will not send a create() without max_tokens; its generic post() will.
    with pytest.raises(anthropic.BadRequestError) as e:
        client().post("/v1/messages", cast_to=object,
                      body={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert e.value.body["error"] == {"type": "invalid_request_error",
                                     "message": "max_tokens: Field required"}


def test_batch_lifecycle(emulator):
    c = client()
    prompts = {f"id-{i}": f"question {i}" for i in range(6)}
    b = c.messages.batches.create(requests=[req(cid, p) for cid, p in prompts.items()])
    assert b.processing_status == "in_progress" and b.results_url is None
    assert b.request_counts.processing == 6
    with pytest.raises(anthropic.AnthropicError):
        results(c, b.id)  # results() retrieves first (the first retrieve: in_progress)
    assert emulator.calls("anthropic", "batches_get") == 1
    done = c.messages.batches.retrieve(b.id)
    assert done.processing_status == "ended"
    assert done.results_url.endswith(f"/anthropic/v1/messages/batches/{b.id}/results")
    assert done.request_counts.succeeded == 6 and done.request_counts.processing == 0
    lines = results(c, b.id)
    ids = [r.custom_id for r in lines]
    assert sorted(ids) == sorted(prompts) and ids != list(prompts)
    for r in lines:
        assert r.result.type == "succeeded"
        assert r.result.message.content[0].text == reply_text(MODEL, prompts[r.custom_id])
    assert [x.id for x in c.messages.batches.list()] == [b.id]


def test_batch_creation_refusals(emulator):
    c = client()
    with pytest.raises(anthropic.BadRequestError):
        c.messages.batches.create(requests=[req("has space", "x")])
    with pytest.raises(anthropic.BadRequestError):
        c.messages.batches.create(requests=[req("a" * 65, "x")])
    with pytest.raises(anthropic.BadRequestError):
        c.messages.batches.create(requests=[req("dup", "x"), req("dup", "y")])
    assert list(c.messages.batches.list()) == []


def test_invalid_params_and_fail_marker_are_errored(emulator):
    c = client()
    b = c.messages.batches.create(requests=[
        req("ok", "fine"), req("no-max", "x", max_tokens=None), req("marked", "bad [[fail]]")])
    c.messages.batches.retrieve(b.id)
    b = c.messages.batches.retrieve(b.id)
    assert (b.request_counts.succeeded, b.request_counts.errored) == (1, 2)
    by_id = {r.custom_id: r.result for r in results(c, b.id)}
    assert by_id["ok"].type == "succeeded"
    assert by_id["no-max"].type == "errored"
    assert by_id["no-max"].error.error.type == "invalid_request_error"
    assert "max_tokens" in by_id["no-max"].error.error.message
    assert by_id["marked"].type == "errored"


def test_expired_with_partial_results(emulator):
    emulator.plan_batches("anthropic", ["in_progress", "expired"], partial=0.5)
    c = client()
    b = c.messages.batches.create(requests=[req(f"r{i}", f"p {i}") for i in range(4)])
    c.messages.batches.retrieve(b.id)
    b = c.messages.batches.retrieve(b.id)
    assert b.processing_status == "ended"
    assert (b.request_counts.succeeded, b.request_counts.expired) == (2, 2)
    kinds = sorted(r.result.type for r in results(c, b.id))
    assert kinds == ["expired", "expired", "succeeded", "succeeded"]


def test_cancel(emulator):
    c = client()
    b = c.messages.batches.create(requests=[req("a", "x"), req("b", "y")])
    b = c.messages.batches.cancel(b.id)
    assert b.processing_status == "canceling" and b.cancel_initiated_at is not None
    b = c.messages.batches.retrieve(b.id)
    assert b.processing_status == "canceling" and b.results_url is None
    b = c.messages.batches.retrieve(b.id)
    assert b.processing_status == "ended" and b.request_counts.canceled == 2
    assert {r.result.type for r in results(c, b.id)} == {"canceled"}


def test_unknown_batch_is_404(emulator):
    with pytest.raises(anthropic.NotFoundError):
        client().messages.batches.retrieve("msgbatch_nope")


def test_faults(emulator):
    c = client()
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(anthropic.AuthenticationError):
        client("bad-key").messages.create(model=MODEL, max_tokens=5, messages=msgs)
    emulator.add_fault(provider="anthropic", endpoint="messages", status=429, retry_after=7, times=1)
    with pytest.raises(anthropic.RateLimitError) as e:
        c.messages.create(model=MODEL, max_tokens=5, messages=msgs)
    assert e.value.response.headers["retry-after"] == "7"
    assert e.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert e.value.body["error"]["type"] == "rate_limit_error"
    emulator.add_fault(provider="anthropic", endpoint="messages", status=529, times=1)
    with pytest.raises(anthropic.OverloadedError):
        c.messages.create(model=MODEL, max_tokens=5, messages=msgs)
    emulator.add_fault(provider="anthropic", endpoint="messages", status=500, times=1)
    with pytest.raises(anthropic.InternalServerError):
        c.messages.create(model=MODEL, max_tokens=5, messages=msgs)
    emulator.add_fault(provider="anthropic", quota=True, times=1)
    with pytest.raises(anthropic.BadRequestError) as e:
        c.messages.create(model=MODEL, max_tokens=5, messages=msgs)
    assert "credit balance" in str(e.value)
    assert c.messages.create(model=MODEL, max_tokens=5, messages=msgs).content[0].text


def test_concurrent_calls_in_flight(emulator):
    emulator.set_latency(200)

    async def run():
        c = anthropic.AsyncAnthropic(api_key="k", max_retries=0)
        return await asyncio.gather(*(c.messages.create(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": f"q {i}"}])
            for i in range(30)))

    replies = asyncio.run(run())
    assert [r.content[0].text for r in replies] == [reply_text(MODEL, f"q {i}") for i in range(30)]
    assert emulator.max_in_flight("anthropic") == 30
