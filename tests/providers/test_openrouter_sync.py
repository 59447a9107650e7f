"""OpenRouter sync adapter over real HTTP (requests) against the emulator: answers, settings,
and every failure shape (200 with only an error, null content, 402, 429 with X-RateLimit-Reset)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import pytest

from loom_adapters.providers.openrouter import SPEC
from loom_adapters.providers.openrouter.sync import DEFAULT_BASE_URL, OpenRouterSync
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

MODEL = "vendor/model-emu"
FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)


def config(key: str = "test-key", concurrency: int = 4) -> ProviderConfig:
    return ProviderConfig(api_key=key, base_url=os.environ["OPENROUTER_BASE_URL"],
                          concurrency=concurrency)


def generate(prompt: str = "route me", settings: GenerationSettings = GenerationSettings(), *,
             key: str = "test-key", model: str = MODEL):
    async def run():
        provider = SPEC.build("sync", config(key))
        try:
            return await provider.generate(model, prompt, settings)
        finally:
            await provider.aclose()
    return asyncio.run(run())


def failure(**kwargs) -> Exception:
    with pytest.raises(Exception) as caught:
        generate(**kwargs)
    return caught.value


def test_answer_and_usage(emulator):
    done = generate("route me please")
    assert done.text == reply_text(MODEL, "route me please")
    assert done.finish_reason is None
    assert done.input_tokens == 3
    assert done.output_tokens == count_words(reply_text(MODEL, "route me please"))
    sent = emulator.requests("openrouter", "chat")[-1]
    assert sent["api_key"] == "test-key"
    assert sent["path"] == "/openrouter/api/v1/chat/completions"
    assert sent["json"] == {"model": MODEL,
                            "messages": [{"role": "user", "content": "route me please"}]}


def test_every_setting_arrives_in_the_body(emulator):
    settings = GenerationSettings(
        temperature=0.3, max_tokens=50, top_p=0.9, top_k=40, stop=("END",), seed=7,
        presence_penalty=0.1, frequency_penalty=0.2, system="Be brief.", json_mode=True,
        extra={"provider": {"order": ["Emulated"]}, "transforms": []},
    )
    generate("answer in json please", settings)
    body = emulator.requests("openrouter", "chat")[-1]["json"]
    assert body == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "answer in json please"}],
        "temperature": 0.3, "max_tokens": 50, "top_p": 0.9, "top_k": 40, "stop": ["END"],
        "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.2,
        "response_format": {"type": "json_object"},
        "provider": {"order": ["Emulated"]}, "transforms": [],
    }


def test_openai_reasoning_rules_do_not_apply(emulator):
    generate("x", GenerationSettings(temperature=0.2, max_tokens=5), model="openai/o3-mini")
    body = emulator.requests("openrouter", "chat")[-1]["json"]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 5


def test_only_sync_mode_exists(emulator):
    assert SPEC.modes == ("sync",)
    with pytest.raises(UnsupportedError) as caught:
        SPEC.build("batch", config())
    assert (caught.value.mode, caught.value.parts[0]) == ("batch", "OpenRouter has no batch API. ")
    with pytest.raises(UnsupportedError) as caught:
        SPEC.build("tokens", config())
    assert str(caught.value) == (
        "Token counting not available: OpenRouter has no remote token-counting API")
    assert emulator.calls("openrouter") == 0


def test_200_with_only_an_error_is_an_error(emulator):
    emulator.add_fault(provider="openrouter", openrouter_200_error=True, times=1)
    error = failure()
    assert isinstance(error, TransientError)
    assert "502" in str(error) and "Provider returned error" in str(error)


@pytest.mark.parametrize("code, kind", [
    (429, RateLimitedError), (400, PermanentError), (401, AuthenticationError),
    (402, QuotaExhaustedError), (503, TransientError),
])
def test_200_error_codes_map_like_statuses(emulator, code, kind):
    emulator.add_fault(provider="openrouter", openrouter_200_error=True, status=code, times=1)
    assert type(failure()) is kind


def test_null_content_is_no_answer(emulator):
    emulator.add_fault(provider="openrouter", null_content=True, times=1)
    error = failure()
    assert isinstance(error, PermanentError) and "no answer" in str(error)


def test_out_of_credits_is_quota(emulator):
    emulator.add_fault(provider="openrouter", quota=True, times=1)
    error = failure()
    assert isinstance(error, QuotaExhaustedError)
    assert "402" in str(error) and "Insufficient credits" in str(error)


def test_rate_limit_wait_from_retry_after(emulator):
    emulator.add_fault(provider="openrouter", status=429, retry_after=4, times=1)
    error = failure()
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == pytest.approx(4, abs=1)


def test_rate_limit_wait_from_x_ratelimit_reset_alone(emulator):
    # Without a retry_after the emulator sends only X-RateLimit-Reset, one second ahead,
    # in epoch milliseconds.
    emulator.add_fault(provider="openrouter", status=429, times=1)
    error = failure()
    assert isinstance(error, RateLimitedError)
    assert 0.3 < error.retry_after <= 1.01


def test_bad_key(emulator):
    error = failure(key="bad-key")
    assert isinstance(error, AuthenticationError)
    assert "bad-key" not in str(error) and "401" in str(error)


@pytest.mark.parametrize("rule, kind", [
    ({"status": 500}, TransientError), ({"status": 502}, TransientError),
    ({"drop": True}, TransientError), ({"status": 404}, PermanentError),
    ({"status": 403}, AuthenticationError),
])
def test_http_faults(emulator, rule, kind):
    emulator.add_fault(provider="openrouter", times=1, **rule)
    assert type(failure()) is kind
    assert emulator.calls("openrouter") == 1, "no retries below Loom's own"


def test_timeout_is_transient(emulator):
    emulator.add_fault(provider="openrouter", latency_ms=600, times=1)

    async def run():
        provider = OpenRouterSync("k", os.environ["OPENROUTER_BASE_URL"], 1, timeout=(1.0, 0.1))
        try:
            return await provider.generate(MODEL, "slow", GenerationSettings())
        finally:
            await provider.aclose()

    with pytest.raises(TransientError, match="timed out"):
        asyncio.run(run())


def test_unreachable_host():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def run():
        provider = OpenRouterSync("k", f"http://127.0.0.1:{port}/api/v1", 1)
        try:
            return await provider.generate(MODEL, "x", GenerationSettings())
        finally:
            await provider.aclose()

    with pytest.raises(TransientError, match="could not reach"):
        asyncio.run(run())


def test_default_base_url():
    provider = OpenRouterSync("k", None, 1)
    assert provider._url == DEFAULT_BASE_URL + "/chat/completions"
    asyncio.run(provider.aclose())


def test_loom_retry_loop_gets_through_a_200_error(emulator):
    emulator.add_fault(provider="openrouter", openrouter_200_error=True, times=1)
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
    assert outcomes[0].result.text == reply_text(MODEL, "again")
    assert emulator.calls("openrouter") == 2


def test_pool_of_threads_and_connections_holds_every_worker(emulator):
    deadline = time.monotonic() + 5
    while emulator.stats()["in_flight"].get("openrouter", 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    emulator.reset()
    emulator.set_latency(150)
    workers = 24  # more than asyncio's default executor would run at once on 2 cores

    async def run():
        provider = SPEC.build("sync", config(concurrency=workers))
        try:
            return await asyncio.gather(*(provider.generate(MODEL, f"p {i}", GenerationSettings())
                                          for i in range(workers)))
        finally:
            await provider.aclose()

    before = threading.active_count()
    answers = asyncio.run(run())
    assert [a.text for a in answers] == [reply_text(MODEL, f"p {i}") for i in range(workers)]
    assert emulator.max_in_flight("openrouter") == workers
    deadline = time.monotonic() + 3
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before, "aclose shuts the thread pool down"


def test_moderation_403_is_permanent_not_a_bad_key():
    from loom_adapters.providers.openrouter.errors import error_from_body

    flagged = error_from_body(403, {"error": {
        "code": 403, "message": "Input was flagged",
        "metadata": {"reasons": ["violence"], "flagged_input": "..."}}}, {}, "k")
    assert type(flagged) is PermanentError and "Input was flagged" in str(flagged)
    plain = error_from_body(403, {"error": {"code": 403, "message": "Key disabled"}}, {}, "k")
    assert type(plain) is AuthenticationError
    not_json = error_from_body(502, "<html>Bad gateway</html>", {}, "k")
    assert type(not_json) is TransientError and "Bad gateway" in str(not_json)
