"""The real openai SDK against the emulator: chat, token count, files, batches, faults."""

from __future__ import annotations

import asyncio
import json
import time

import openai
import pytest

from tests.emulator.fixture import emulator  # noqa: F401
from tests.emulator.replies import count_words, reply_text

MODEL = "gpt-emu"


def client(key: str = "test-key") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, max_retries=0)


def batch_file(prompts: list[str], model: str = MODEL, ids=None) -> bytes:
    ids = ids or [f"row-{i}" for i in range(len(prompts))]
    lines = [json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": model, "messages": [{"role": "user", "content": p}]}})
             for cid, p in zip(ids, prompts)]
    return ("\n".join(lines) + "\n").encode()


def start_batch(c: openai.OpenAI, data: bytes):
    f = c.files.create(file=("input.jsonl", data), purpose="batch")
    return c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                            completion_window="24h", metadata={"run": "t1"})


def jsonl(c: openai.OpenAI, file_id) -> list[dict]:
    assert file_id is not None
    return [json.loads(line) for line in c.files.content(file_id).text.splitlines() if line]


def test_chat_reply_and_usage(emulator):
    r = client().chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there you"}])
    assert r.choices[0].message.content == reply_text(MODEL, "hello there you")
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == count_words("be brief hello there you") == 5
    assert r.usage.completion_tokens == count_words(reply_text(MODEL, "hello there you"))
    sent = emulator.requests("openai", "chat")[-1]
    assert sent["json"]["messages"][1]["content"] == "hello there you"
    assert sent["api_key"] == "test-key"
    assert sent["path"] == "/openai/v1/chat/completions"


def test_input_token_count(emulator):
    n = client().responses.input_tokens.count(model=MODEL, input="one two three",
                                              instructions="four five")
    assert n.input_tokens == 5
    assert emulator.calls("openai", "count_tokens") == 1


def test_batch_lifecycle(emulator):
    c = client()
    prompts = [f"prompt number {i}" for i in range(6)]
    batch = start_batch(c, batch_file(prompts))
    assert batch.status == "validating"
    assert batch.metadata == {"run": "t1"}
    assert c.batches.retrieve(batch.id).status == "validating"
    done = c.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.error_file_id is None
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (6, 6, 0)
    lines = jsonl(c, done.output_file_id)
    ids = [line["custom_id"] for line in lines]
    assert sorted(ids) == sorted(f"row-{i}" for i in range(6))
    assert ids != [f"row-{i}" for i in range(6)], "results come back shuffled"
    for line in lines:
        i = int(line["custom_id"].split("-")[1])
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert body["choices"][0]["message"]["content"] == reply_text(MODEL, prompts[i])
        assert body["usage"]["prompt_tokens"] == 3
    assert done.usage.input_tokens == 18


def test_async_files_content(emulator):
    async def run():
        c = openai.AsyncOpenAI(api_key="k", max_retries=0)
        f = await c.files.create(file=("in.jsonl", batch_file(["a b"])), purpose="batch")
        b = await c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")
        await c.batches.retrieve(b.id)
        b = await c.batches.retrieve(b.id)
        return await (await c.files.content(b.output_file_id)).aread()

    line = json.loads(asyncio.run(run()))
    assert line["response"]["body"]["choices"][0]["message"]["content"] == reply_text(MODEL, "a b")


def test_per_request_errors_and_all_failed(emulator):
    c = client()
    b = start_batch(c, batch_file(["fine", "broken [[fail]]", "also fine"]))
    c.batches.retrieve(b.id)
    b = c.batches.retrieve(b.id)
    assert (b.status, b.request_counts.completed, b.request_counts.failed) == ("completed", 2, 1)
    [err] = jsonl(c, b.error_file_id)
    assert err["custom_id"] == "row-1"
    assert err["response"]["status_code"] == 400
    assert "[[fail]]" in err["response"]["body"]["error"]["message"]

    b = start_batch(c, batch_file(["x [[fail]]", "y [[fail]]"]))
    c.batches.retrieve(b.id)
    b = c.batches.retrieve(b.id)
    assert b.status == "completed" and b.output_file_id is None
    assert len(jsonl(c, b.error_file_id)) == 2


def test_expired_keeps_partial_results(emulator):
    emulator.plan_batches("openai", ["validating", "in_progress", "expired"], partial=2)
    c = client()
    b = start_batch(c, batch_file([f"p {i}" for i in range(5)]))
    assert [c.batches.retrieve(b.id).status for _ in range(4)] == [
        "validating", "in_progress", "expired", "expired"]
    b = c.batches.retrieve(b.id)
    assert b.expired_at is not None
    assert len(jsonl(c, b.output_file_id)) == 2
    errors = jsonl(c, b.error_file_id)
    assert len(errors) == 3
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert all(e["response"] is None for e in errors)
    assert (b.request_counts.completed, b.request_counts.failed) == (2, 3)


def test_cancel(emulator):
    c = client()
    b = start_batch(c, batch_file(["a", "b", "c"]))
    assert c.batches.cancel(b.id).status == "cancelling"
    b = c.batches.retrieve(b.id)
    assert b.status == "cancelling" and b.cancelling_at is not None and b.cancelled_at is None
    assert c.batches.cancel(b.id).status == "cancelling"  # asking again changes nothing
    b = c.batches.retrieve(b.id)
    assert b.status == "cancelled" and b.cancelled_at is not None
    assert b.output_file_id is None
    assert {e["error"]["code"] for e in jsonl(c, b.error_file_id)} == {"batch_cancelled"}


@pytest.mark.parametrize("cancelling", [0, 3])
def test_a_cancel_stays_cancelling_for_the_planned_retrieves(emulator, cancelling):
    emulator.plan_batches("openai", ["in_progress"], cancelling=cancelling)
    c = client()
    b = start_batch(c, batch_file(["a", "b"]))
    assert c.batches.cancel(b.id).status == "cancelling"
    seen = [c.batches.retrieve(b.id).status for _ in range(cancelling + 2)]
    assert seen == ["cancelling"] * cancelling + ["cancelled", "cancelled"]


def test_a_cancel_planned_without_end_lasts_until_the_control_api_ends_it(emulator):
    emulator.plan_batches("openai", ["in_progress"], cancelling=None)
    c = client()
    b = start_batch(c, batch_file(["a", "b", "c", "d"]))
    c.batches.cancel(b.id)
    assert {c.batches.retrieve(b.id).status for _ in range(5)} == {"cancelling"}
    emulator.set_batch_state("openai", b.id, "cancelled", partial=3)
    b = c.batches.retrieve(b.id)
    assert b.status == "cancelled" and len(jsonl(c, b.output_file_id)) == 3


def test_set_batch_state_directly(emulator):
    c = client()
    b = start_batch(c, batch_file(["a", "b", "c", "d"]))
    emulator.set_batch_state("openai", b.id, "cancelled", partial=0.5)
    b = c.batches.retrieve(b.id)
    assert b.status == "cancelled"
    assert len(jsonl(c, b.output_file_id)) == 2


def test_validation_failures(emulator):
    c = client()
    data = batch_file(["a"], model="m1") + batch_file(["b"], model="m2", ids=["other"])
    b = start_batch(c, data)
    assert c.batches.retrieve(b.id).status == "validating"
    b = c.batches.retrieve(b.id)
    assert b.status == "failed" and b.output_file_id is None and b.error_file_id is None
    assert [e.code for e in b.errors.data] == ["mismatched_model"]

    b = start_batch(c, batch_file(["a", "b"], ids=["same", "same"]))
    c.batches.retrieve(b.id)
    b = c.batches.retrieve(b.id)
    assert b.status == "failed" and b.errors.data[0].code == "duplicate_custom_id"
    assert b.errors.data[0].line == 2

    with pytest.raises(openai.BadRequestError):
        c.files.create(file=("input.txt", b"{}"), purpose="batch")


def test_unknown_ids_are_404(emulator):
    c = client()
    with pytest.raises(openai.NotFoundError):
        c.batches.retrieve("batch_nope")
    with pytest.raises(openai.NotFoundError):
        c.files.content("file-nope")
    with pytest.raises(openai.NotFoundError):
        c.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions",
                         completion_window="24h")


def test_list_newest_first_with_pages(emulator):
    c = client()
    ids = [start_batch(c, batch_file(["x"])).id for _ in range(3)]
    page = c.batches.list(limit=2)
    assert [b.id for b in page.data] == [ids[2], ids[1]] and page.has_more
    assert [b.id for b in c.batches.list(limit=2)] == list(reversed(ids))
    assert [b.id for b in c.batches.list(after=ids[1])] == [ids[0]]


def test_bad_key(emulator):
    with pytest.raises(openai.AuthenticationError) as e:
        client("bad-key").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "invalid_api_key"


def test_rate_limit_with_retry_after(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", status=429, retry_after=3, times=1)
    c = client()
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "3"
    assert e.value.response.headers["x-ratelimit-reset-requests"] == "3s"
    assert e.value.code == "rate_limit_exceeded"
    # times=1: the next call goes through
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])


def test_quota_server_error_and_drop(emulator):
    c = client()
    msgs = [{"role": "user", "content": "x"}]
    emulator.add_fault(provider="openai", endpoint="chat", quota=True, times=1)
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model=MODEL, messages=msgs)
    assert e.value.code == "insufficient_quota"
    emulator.add_fault(provider="openai", endpoint="chat", status=500, times=1)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model=MODEL, messages=msgs)
    emulator.add_fault(provider="openai", endpoint="chat", drop=True, times=1)
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model=MODEL, messages=msgs)
    assert c.chat.completions.create(model=MODEL, messages=msgs).choices[0].message.content


def test_concurrent_calls_in_flight(emulator):
    emulator.set_latency(200)

    async def run():
        c = openai.AsyncOpenAI(api_key="k", max_retries=0)
        return await asyncio.gather(*(c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"q {i}"}]) for i in range(40)))

    started = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - started < 3
    assert [r.choices[0].message.content for r in results] == [
        reply_text(MODEL, f"q {i}") for i in range(40)]
    assert emulator.max_in_flight("openai") == 40
    assert emulator.calls("openai", "chat") == 40
