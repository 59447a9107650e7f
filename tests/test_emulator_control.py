"""The emulator's own controls: fault rules, latency, rate limits, plans, stats, reset,
missing keys, dropped connections and the separate-process mode under 512 connections."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import anthropic
import httpx2
import pytest

from tests.emulator.client import EmulatorError
from tests.emulator.fixture import emulator  # noqa: F401
from tests.emulator.process import EmulatorProcess
from tests.emulator.replies import count_words, reply_text

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def openai_chat(key: str | None = "k") -> httpx2.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.post(os.environ["OPENAI_BASE_URL"] + "/chat/completions", json=CHAT,
                       headers=headers, timeout=10)


def test_reply_helpers():
    assert reply_text("m", "a b") == "m says: a b"
    assert count_words("  one two\nthree ") == 3


def test_rule_fields_are_checked(emulator):
    with pytest.raises(EmulatorError):
        emulator.add_fault(provider="openai", stauts=500)
    with pytest.raises(EmulatorError):
        emulator.add_fault(provider="nobody", status=500)
    with pytest.raises(EmulatorError):
        emulator.add_fault(provider="openai")


def test_every_and_seeded_rate(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", status=500, every=3)
    assert [openai_chat().status_code for _ in range(6)] == [200, 200, 500, 200, 200, 500]

    def pattern():
        emulator.reset()
        emulator.add_fault(provider="openai", status=503, rate=0.5)
        return [openai_chat().status_code for _ in range(12)]

    first = pattern()
    assert first == pattern() and {200, 503} == set(first)


def test_latency_global_and_per_rule(emulator):
    emulator.add_fault(provider="openai", endpoint="count_tokens", latency_ms=300)
    started = time.monotonic()
    openai_chat()
    assert time.monotonic() - started < 0.25
    started = time.monotonic()
    httpx2.post(os.environ["OPENAI_BASE_URL"] + "/responses/input_tokens",
                json={"model": "m", "input": "x"}, headers={"Authorization": "Bearer k"})
    assert time.monotonic() - started >= 0.3
    emulator.set_latency(200)
    started = time.monotonic()
    assert openai_chat().status_code == 200
    assert time.monotonic() - started >= 0.2


def test_global_rate_limit(emulator):
    emulator.set_rate_limit(2, provider="openai")
    codes = [openai_chat() for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 429, 429]
    assert codes[2].headers["retry-after"] == "1"
    assert codes[2].json()["error"]["code"] == "rate_limit_exceeded"
    # Other providers have their own (here: no) limit.
    assert httpx2.post(os.environ["OPENROUTER_BASE_URL"] + "/chat/completions", json=CHAT,
                       headers={"Authorization": "Bearer k"}).status_code == 200
    time.sleep(0.6)
    assert openai_chat().status_code == 200
    emulator.set_rate_limit(None, provider="openai")
    assert all(openai_chat().status_code == 200 for _ in range(5))


def test_stats_requests_and_reset(emulator):
    openai_chat()
    openai_chat(key="bad-key")
    stats = emulator.stats()
    assert stats["calls"]["openai.chat"] == 2
    assert stats["statuses"] == {"openai.chat.200": 1, "openai.chat.401": 1}
    assert emulator.calls("openai", "chat") == 2 and emulator.calls("openai") == 2
    [first, second] = emulator.requests(provider="openai", endpoint="chat")
    assert first["json"] == CHAT and second["api_key"] == "bad-key"
    assert first["headers"]["authorization"] == "***"

    emulator.add_fault(provider="openai", status=500)
    emulator.set_latency(50)
    emulator.plan_batches("anthropic", ["in_progress", "expired"])
    c = anthropic.Anthropic(api_key="k", max_retries=0)
    c.messages.batches.create(requests=[{"custom_id": "a", "params": {
        "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}])
    emulator.reset()
    stats = emulator.stats()
    assert stats["calls"] == {} and stats["faults"] == [] and stats["latency_ms"] == 0
    assert stats["batches"] == 0 and emulator.requests() == [] and emulator.batches() == []
    assert openai_chat().status_code == 200


def test_plan_count_and_bad_states(emulator):
    c = anthropic.Anthropic(api_key="k", max_retries=0)
    req = [{"custom_id": "a", "params": {"model": "m", "max_tokens": 5,
                                         "messages": [{"role": "user", "content": "x"}]}}]
    emulator.plan_batches("anthropic", ["ended"], count=1)
    assert c.messages.batches.create(requests=req).processing_status == "ended"
    assert c.messages.batches.create(requests=req).processing_status == "in_progress"
    with pytest.raises(EmulatorError):
        emulator.plan_batches("anthropic", ["in_progress", "failed"])
    with pytest.raises(EmulatorError):
        emulator.plan_batches("openai", ["done"])
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(EmulatorError, match="cancelling"):
            emulator.plan_batches("openai", ["in_progress"], cancelling=bad)
    with pytest.raises(EmulatorError):
        emulator.set_batch_state("openai", "batch_nope", "completed")


def test_shuffle_is_seeded(emulator):
    c = anthropic.Anthropic(api_key="k", max_retries=0)
    req = [{"custom_id": f"r{i}", "params": {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": f"x {i}"}]}} for i in range(8)]

    def order():
        emulator.reset()
        emulator.plan_batches("anthropic", ["ended"])
        b = c.messages.batches.create(requests=req)
        return [r.custom_id for r in c.messages.batches.results(b.id)]

    assert order() == order() != [f"r{i}" for i in range(8)]


def test_missing_keys(emulator):
    assert openai_chat(key=None).status_code == 401
    r = httpx2.post(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", json=CHAT)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx2.post(os.environ["GOOGLE_GEMINI_BASE_URL"] + "/v1beta/models/m:generateContent",
                    json={"contents": [{"parts": [{"text": "x"}]}]})
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    r = httpx2.post(os.environ["GOOGLE_GEMINI_BASE_URL"] + "/v1beta/models/m:generateContent?key=k",
                    json={"contents": [{"parts": [{"text": "x"}]}]})
    assert r.status_code == 200


def test_drop_closes_the_connection(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", drop=True, times=1)
    with pytest.raises(httpx2.TransportError):
        openai_chat()
    assert openai_chat().status_code == 200


def test_process_mode_sustains_512_keep_alive_connections():
    async def burst(url: str, session: aiohttp.ClientSession) -> list[int]:
        async def one(i: int) -> int:
            async with session.post(url + "/openai/v1/chat/completions", json=CHAT,
                                    headers={"Authorization": "Bearer k"}) as r:
                await r.read()
                return r.status
        return await asyncio.gather(*(one(i) for i in range(512)))

    async def run(url: str) -> tuple[list[int], float]:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
        async with aiohttp.ClientSession(connector=connector) as session:
            await burst(url, session)
            started = time.monotonic()
            codes = await burst(url, session)  # reuses the kept-alive connections
            return codes, time.monotonic() - started

    with EmulatorProcess(latency_ms=200) as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        codes, elapsed = asyncio.run(run(emu.url))
        assert codes == [200] * 512
        assert elapsed < 5
        assert emu.client.max_in_flight("openai") == 512
        assert emu.client.calls("openai", "chat") == 1024
