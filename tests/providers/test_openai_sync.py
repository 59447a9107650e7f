"""OpenAI sync and token adapters through the real SDK, over HTTP, against the emulator."""

from __future__ import annotations

import re

import asyncio
import os
import socket
import time

import pytest

from loom_adapters.providers.openai import SPEC
from loom_adapters.providers.openai.client import async_client
from loom_adapters.providers.openai.request import JSON_INSTRUCTION
from loom_adapters.providers.openai.sync import OpenAISync
from loom_adapters.providers.openai.tokens import OpenAITokens
from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    UnsupportedError,
)
from loom_core.model import GenerationSettings
from loom_core.providers import ProviderConfig
from loom_core.calls import CallRunner
from loom_core.retry import RetryPolicy
from tests.emulator.replies import count_words, reply_text
from tests.support import said

MODEL = "gpt-emu"
FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)


def config(key: str = "test-key", concurrency: int = 4) -> ProviderConfig:
    return ProviderConfig(api_key=key, base_url=os.environ["OPENAI_BASE_URL"],
                          concurrency=concurrency)


def generate(prompt: str, settings: GenerationSettings = GenerationSettings(), *,
             model: str = MODEL, key: str = "test-key"):
    async def run():
        provider = SPEC.build("sync", config(key))
        try:
            return await provider.generate(model, prompt, settings)
        finally:
            await provider.aclose()
    return asyncio.run(run())


def failure(prompt: str = "hi", key: str = "test-key") -> Exception:
    with pytest.raises(Exception) as caught:
        generate(prompt, key=key)
    return caught.value


def test_answer_and_usage(emulator):
    done = generate("hello there you")
    assert done.text == reply_text(MODEL, "hello there you")
    assert done.finish_reason is None and done.ok
    assert done.input_tokens == 3
    assert done.output_tokens == count_words(reply_text(MODEL, "hello there you"))
    sent = emulator.requests("openai", "chat")[-1]
    assert sent["api_key"] == "test-key"
    assert sent["json"] == {"model": MODEL, "messages": [{"role": "user",
                                                          "content": "hello there you"}]}


def test_every_setting_arrives_in_the_body(emulator):
    settings = GenerationSettings(
        temperature=0.3, max_tokens=50, top_p=0.9, stop=("END",), seed=7,
        presence_penalty=0.1, frequency_penalty=0.2, system="Be brief.", json_mode=True,
        extra={"user": "u-1", "service_tier": "flex", "custom_flag": {"deep": [1, 2]}},
    )
    done = generate("three colours", settings)
    assert done.text == reply_text(MODEL, "three colours")
    body = emulator.requests("openai", "chat")[-1]["json"]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": JSON_INSTRUCTION},
        {"role": "user", "content": "three colours"},
    ]
    expected = {"temperature": 0.3, "max_tokens": 50, "top_p": 0.9, "stop": ["END"],
                "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.2,
                "response_format": {"type": "json_object"}, "user": "u-1",
                "service_tier": "flex", "custom_flag": {"deep": [1, 2]}}
    assert {k: body[k] for k in expected} == expected
    assert set(body) == set(expected) | {"model", "messages"}


def test_reasoning_model_gets_max_completion_tokens(emulator):
    generate("think", GenerationSettings(max_tokens=64), model="o4-mini")
    body = emulator.requests("openai", "chat")[-1]["json"]
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body


@pytest.mark.parametrize("model, settings, flag", [
    ("gpt-emu", GenerationSettings(top_k=5), "--top-k"),
    ("o3", GenerationSettings(temperature=0.2), "--temperature"),
    ("gpt-5-mini", GenerationSettings(top_p=0.5), "--top-p"),
])
def test_unsupported_settings_raise_before_any_call(emulator, model, settings, flag):
    with pytest.raises(UnsupportedError) as refused:
        generate("x", settings, model=model)
    assert re.search(f"openai does not support {flag}", said(refused.value))
    assert emulator.calls("openai") == 0


def test_bad_key_is_authentication_and_never_echoed(emulator):
    error = failure(key="bad-key")
    assert isinstance(error, AuthenticationError)
    assert "401" in str(error) and "Incorrect API key" in str(error)
    assert "bad-key" not in str(error)
    assert "\n" not in str(error)


def test_rate_limit_carries_retry_after(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", status=429, retry_after=7, times=1)
    error = failure()
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == pytest.approx(7)
    assert "rate_limit_exceeded" in str(error)


def test_insufficient_quota_is_not_a_rate_limit(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", quota=True, times=1)
    error = failure()
    assert isinstance(error, QuotaExhaustedError) and "insufficient_quota" in str(error)


@pytest.mark.parametrize("rule, kind", [
    ({"status": 500}, TransientError),
    ({"status": 503, "retry_after": 3}, TransientError),
    ({"drop": True}, TransientError),
    ({"status": 400, "message": "Invalid 'seed'."}, PermanentError),
    ({"status": 404}, PermanentError),
    ({"status": 403}, AuthenticationError),
])
def test_faults_map_to_domain_errors(emulator, rule, kind):
    emulator.add_fault(provider="openai", endpoint="chat", times=1, **rule)
    error = failure()
    assert type(error) is kind, error
    if rule.get("retry_after"):
        assert error.retry_after == pytest.approx(rule["retry_after"])
    if rule.get("message"):
        assert "Invalid 'seed'." in str(error)
    assert emulator.calls("openai", "chat") == 1, "the SDK must not retry on its own"


def test_a_dropped_connection_is_not_reported_as_a_timeout(emulator):
    # The SDK's aiohttp transport raises a "connect timeout" for any connection error.
    emulator.add_fault(provider="openai", endpoint="chat", drop=True, times=1)
    error = failure()
    assert "could not reach the API (ServerDisconnectedError" in str(error), error
    assert "timed out" not in str(error)


def test_timeout_is_transient(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", latency_ms=600, times=1)

    async def run():
        provider = OpenAISync(async_client(config(), {"timeout": 0.1}), "k")
        try:
            return await provider.generate(MODEL, "slow", GenerationSettings())
        finally:
            await provider.aclose()

    with pytest.raises(TransientError, match="timed out"):
        asyncio.run(run())


def test_unreachable_host_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def run():
        provider = SPEC.build("sync", ProviderConfig(api_key="k",
                                                     base_url=f"http://127.0.0.1:{port}/v1"))
        try:
            await provider.generate(MODEL, "x", GenerationSettings())
        finally:
            await provider.aclose()

    with pytest.raises(TransientError, match="could not reach"):
        asyncio.run(run())


def test_loom_retry_loop_recovers_from_one_rate_limit(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", status=429, retry_after=0, times=1)

    outcomes = []

    async def run():
        provider = SPEC.build("sync", config())
        try:
            await CallRunner(1, FAST).run(
                ["again"], lambda p: provider.generate(MODEL, p, GenerationSettings()),
                lambda item, outcome: outcomes.append(outcome))
        finally:
            await provider.aclose()

    asyncio.run(run())
    [outcome] = outcomes
    assert outcome.error is None and outcome.result.text == reply_text(MODEL, "again")
    assert emulator.calls("openai", "chat") == 2


def test_null_content_is_an_error(emulator):
    emulator.add_fault(provider="openai", endpoint="chat", null_content=True, times=1)
    with pytest.raises(PermanentError, match="no answer"):
        generate("x")


def settle(emulator) -> None:
    """Wait for calls a previous test abandoned (a timed-out slow call) to end, then reset."""
    deadline = time.monotonic() + 5
    while emulator.stats()["in_flight"].get("openai", 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    emulator.reset()


def test_connection_pool_holds_every_worker(emulator):
    settle(emulator)
    emulator.set_latency(150)
    workers = 12

    async def run():
        provider = SPEC.build("sync", config(concurrency=workers))
        try:
            return await asyncio.gather(*(provider.generate(MODEL, f"p {i}", GenerationSettings())
                                          for i in range(workers)))
        finally:
            await provider.aclose()

    answers = asyncio.run(run())
    assert [a.text for a in answers] == [reply_text(MODEL, f"p {i}") for i in range(workers)]
    assert emulator.max_in_flight("openai") == workers


def test_tokens_count_prompt_and_system(emulator):
    async def run(settings):
        counter = SPEC.build("tokens", config())
        try:
            return await counter.count(MODEL, "one two three", settings)
        finally:
            await counter.aclose()

    assert asyncio.run(run(GenerationSettings())) == 3
    sent = emulator.requests("openai", "count_tokens")[-1]["json"]
    assert sent == {"model": MODEL, "input": "one two three"}
    assert asyncio.run(run(GenerationSettings(system="four five"))) == 5
    assert emulator.requests("openai", "count_tokens")[-1]["json"]["instructions"] == "four five"
    assert isinstance(SPEC.build("tokens", config()), OpenAITokens)


def test_tokens_errors_are_domain_errors(emulator):
    emulator.add_fault(provider="openai", endpoint="count_tokens", status=429, retry_after=2,
                       times=1)

    async def run():
        counter = SPEC.build("tokens", config())
        try:
            return await counter.count(MODEL, "x", GenerationSettings())
        finally:
            await counter.aclose()

    with pytest.raises(RateLimitedError) as caught:
        asyncio.run(run())
    assert caught.value.retry_after == pytest.approx(2)
