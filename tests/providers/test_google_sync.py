"""The google sync and token adapters through the real google-genai SDK against the emulator.

Every request really crosses HTTP: the tests look at what arrived (``emulator.requests``) and
at the domain error each fault becomes. Nothing of the SDK is patched.
"""

from __future__ import annotations

import re

import asyncio
import socket
import time

import pytest

from loom_adapters.providers.google.sync import GoogleSync
from loom_adapters.providers.google.tokens import GoogleTokens
from loom_core.calls import CallRunner
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
from loom_core.retry import RetryPolicy
from tests.emulator.replies import count_words, reply_text
from tests.support import said

MODEL = "gemini-emu"
PLAIN = GenerationSettings()


def config(emulator, key: str = "test-key", concurrency: int = 8) -> ProviderConfig:
    return ProviderConfig(api_key=key, base_url=emulator.env()["GOOGLE_GEMINI_BASE_URL"],
                          concurrency=concurrency)


def generate(adapter, prompt: str, settings: GenerationSettings = PLAIN):
    async def run():
        try:
            return await adapter.generate(MODEL, prompt, settings)
        finally:
            await adapter.aclose()
    return asyncio.run(run())


def count(adapter, prompt: str, settings: GenerationSettings = PLAIN) -> int:
    async def run():
        try:
            return await adapter.count(MODEL, prompt, settings)
        finally:
            await adapter.aclose()
    return asyncio.run(run())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- answers ---------------------------------------------------------------------------

def test_answer_usage_and_natural_end(emulator):
    completion = generate(GoogleSync.from_config(config(emulator)), "tell me more")
    assert completion.text == reply_text(MODEL, "tell me more")
    assert completion.finish_reason is None and completion.error is None
    assert completion.input_tokens == 3
    assert completion.output_tokens == count_words(completion.text)
    sent = emulator.requests("gemini", "generate")
    assert len(sent) == 1
    assert sent[0]["path"] == f"/gemini/v1/models/{MODEL}:generateContent"
    assert sent[0]["api_key"] == "test-key"
    assert sent[0]["json"] == {"contents": [{"role": "user", "parts": [{"text": "tell me more"}]}]}


def test_every_setting_arrives_in_the_body(emulator):
    settings = GenerationSettings(
        temperature=0.2, max_tokens=64, top_p=0.9, top_k=5, stop=("END", "STOP"), seed=11,
        presence_penalty=0.5, frequency_penalty=0.25, system="be brief", json_mode=True,
        extra={"candidate_count": 1,
               "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH",
                                   "threshold": "BLOCK_NONE"}]})
    completion = generate(GoogleSync.from_config(config(emulator)), "a question", settings)
    assert completion.text == reply_text(MODEL, "a question")
    body = emulator.requests("gemini", "generate")[-1]["json"]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a question"}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert body["generationConfig"] == {
        "temperature": 0.2, "maxOutputTokens": 64, "topP": 0.9, "topK": 5,
        "stopSequences": ["END", "STOP"], "seed": 11, "presencePenalty": 0.5,
        "frequencyPenalty": 0.25, "responseMimeType": "application/json",
        "candidateCount": 1,  # extra: a field of GenerateContentConfig, placed by the SDK
    }
    assert body["safetySettings"] == settings.extra["safetySettings"]
    # The system prompt is counted by the emulator as input: it was sent as one.
    assert completion.input_tokens == count_words("be brief a question")


def test_extra_overrides_a_setting_and_is_not_changed_by_use(emulator):
    extra = {"temperature": 1.5, "topK": 2}
    settings = GenerationSettings(temperature=0.1, extra=extra)
    for prompt in ("one", "two"):
        generate(GoogleSync.from_config(config(emulator)), prompt, settings)
    for sent in emulator.requests("gemini", "generate"):
        assert sent["json"]["generationConfig"] == {"temperature": 1.5, "topK": 2}
    assert extra == {"temperature": 1.5, "topK": 2}


def test_unsupported_settings_raise_before_any_call(emulator):
    too_many = GenerationSettings(stop=("a", "b", "c", "d", "e", "f"))
    with pytest.raises(UnsupportedError) as refused:
        generate(GoogleSync.from_config(config(emulator)), "x", too_many)
    assert re.search("google does not support --stop", said(refused.value))
    with pytest.raises(UnsupportedError):
        count(GoogleTokens.from_config(config(emulator)), "x", too_many)
    assert emulator.calls("gemini") == 0


# ---- faults ----------------------------------------------------------------------------

def test_a_bad_key_is_an_authentication_error_without_the_key(emulator):
    with pytest.raises(AuthenticationError) as caught:
        generate(GoogleSync.from_config(config(emulator, key="bad-key")), "x")
    assert str(caught.value) == ("Gemini API rejected the API key (400 INVALID_ARGUMENT): "
                                 "API key not valid. Please pass a valid API key.")


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_authentication_errors(emulator, status):
    emulator.add_fault(provider="gemini", endpoint="generate", status=status, times=1)
    with pytest.raises(AuthenticationError, match=str(status)):
        generate(GoogleSync.from_config(config(emulator)), "x")


def test_429_carries_the_retry_delay_from_the_body(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", status=429, retry_after=2.5,
                       times=1)
    with pytest.raises(RateLimitedError) as caught:
        generate(GoogleSync.from_config(config(emulator)), "x")
    assert caught.value.retry_after == 2.5
    assert "429 RESOURCE_EXHAUSTED" in str(caught.value)


def test_429_without_retry_info_leaves_the_wait_to_loom(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", status=429, times=1)
    with pytest.raises(RateLimitedError) as caught:
        generate(GoogleSync.from_config(config(emulator)), "x")
    assert caught.value.retry_after is None


def test_a_per_day_quota_is_exhausted_not_rate_limited(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", quota=True, times=1)
    with pytest.raises(QuotaExhaustedError, match="exceeded your current quota"):
        generate(GoogleSync.from_config(config(emulator)), "x")


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_are_transient(emulator, status):
    emulator.add_fault(provider="gemini", endpoint="generate", status=status, times=1)
    with pytest.raises(TransientError, match=str(status)):
        generate(GoogleSync.from_config(config(emulator)), "x")
    # One attempt only: the SDK does not retry on its own.
    assert emulator.calls("gemini", "generate") == 1


def test_other_client_errors_are_permanent(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", status=404, times=1)
    with pytest.raises(PermanentError, match="404 NOT_FOUND"):
        generate(GoogleSync.from_config(config(emulator)), "x")


def test_a_dropped_connection_is_transient_and_not_retried_by_the_sdk(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", drop=True, times=1)
    with pytest.raises(TransientError, match="unreachable"):
        generate(GoogleSync.from_config(config(emulator)), "x")
    assert emulator.calls("gemini", "generate") == 1


def test_a_timeout_is_transient(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", latency_ms=1000, times=1)
    with pytest.raises(TransientError, match="timed out"):
        generate(GoogleSync.from_config(config(emulator), timeout=0.2), "x")


def test_an_unreachable_host_is_transient():
    unreachable = ProviderConfig(api_key="k", base_url=f"http://127.0.0.1:{closed_port()}/gemini")
    with pytest.raises(TransientError, match="unreachable"):
        generate(GoogleSync.from_config(unreachable), "x")


def test_loom_retry_loop_gets_the_answer_after_faults(emulator):
    # (Every matching rule counts every call, so one rule per test: two would fire together.)
    emulator.add_fault(provider="gemini", endpoint="generate", status=500, times=2)
    adapter = GoogleSync.from_config(config(emulator))
    outcomes = []

    async def run():
        runner = CallRunner(1, RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01))
        try:
            await runner.run(["again"], lambda prompt: adapter.generate(MODEL, prompt, PLAIN),
                             lambda _item, outcome: outcomes.append(outcome))
        finally:
            await adapter.aclose()

    asyncio.run(run())
    assert [o.result.text for o in outcomes] == [reply_text(MODEL, "again")]
    # Three attempts in all, each one HTTP call: the SDK added no retries of its own.
    assert emulator.calls("gemini", "generate") == 3


def test_loom_waits_out_a_rate_limit_then_gets_the_answer(emulator):
    emulator.add_fault(provider="gemini", endpoint="generate", status=429, retry_after=0, times=1)
    adapter = GoogleSync.from_config(config(emulator))
    outcomes = []

    async def run():
        runner = CallRunner(1, RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01))
        try:
            await runner.run(["later"], lambda prompt: adapter.generate(MODEL, prompt, PLAIN),
                             lambda _item, outcome: outcomes.append(outcome))
        finally:
            await adapter.aclose()

    asyncio.run(run())
    assert [o.result.text for o in outcomes] == [reply_text(MODEL, "later")]
    assert emulator.calls("gemini", "generate") == 2


# ---- the connection pool ---------------------------------------------------------------

@pytest.mark.parametrize("concurrency", [3, 20])
def test_the_pool_serves_exactly_the_runs_concurrency(emulator, concurrency):
    # A slow call another test gave up on may still be in flight at the emulator: wait for it,
    # so that the peak counted here is this test's own.
    deadline = time.monotonic() + 10
    while emulator.stats()["in_flight"].get("gemini", 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    emulator.reset()
    emulator.set_latency(150)
    adapter = GoogleSync.from_config(config(emulator, concurrency=concurrency))

    async def run():
        try:
            return await asyncio.gather(*(adapter.generate(MODEL, f"q {i}", PLAIN)
                                          for i in range(20)))
        finally:
            await adapter.aclose()

    answers = asyncio.run(run())
    assert [a.text for a in answers] == [reply_text(MODEL, f"q {i}") for i in range(20)]
    assert emulator.max_in_flight("gemini") == concurrency


# ---- tokens ----------------------------------------------------------------------------

def test_tokens_count_the_prompt_and_the_system_prompt(emulator):
    assert count(GoogleTokens.from_config(config(emulator)), "one two three") == 3
    assert count(GoogleTokens.from_config(config(emulator)), "one two three",
                 GenerationSettings(system="four five")) == 5
    sent = emulator.requests("gemini", "count_tokens")
    assert sent[0]["path"] == f"/gemini/v1/models/{MODEL}:countTokens"
    assert sent[1]["json"]["contents"] == [
        {"role": "user", "parts": [{"text": "four five"}]},
        {"role": "user", "parts": [{"text": "one two three"}]},
    ]


def test_token_faults_are_translated(emulator):
    emulator.add_fault(provider="gemini", endpoint="count_tokens", status=429, retry_after=1,
                       times=1)
    with pytest.raises(RateLimitedError) as caught:
        count(GoogleTokens.from_config(config(emulator)), "x")
    assert caught.value.retry_after == 1
    with pytest.raises(AuthenticationError):
        count(GoogleTokens.from_config(config(emulator, key="bad-key")), "x")
