"""The Anthropic adapters through the real anthropic SDK and real HTTP against the emulator:
sync answers and settings, faults -> domain errors, token counts, and the batch lifecycle."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from loom_adapters.providers.anthropic import loom_register_providers
from loom_adapters.providers.anthropic.batch import AnthropicBatch
from loom_adapters.providers.anthropic.request import JSON_INSTRUCTION
from loom_adapters.providers.anthropic.sync import AnthropicSync
from loom_adapters.providers.anthropic.tokens import AnthropicTokens
from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    UnsupportedError,
)
from loom_core.model import BatchRequest, BatchStatus, Completion, GenerationSettings
from loom_core.providers import ProviderConfig, ProviderSpec
from loom_core.calls import CallRunner, Outcome
from loom_core.retry import RetryPolicy
from tests.emulator.replies import FAIL_MARKER, count_words, reply_text
from tests.support import said

MODEL = "claude-emu"
KEY = "sk-ant-test-key"


def config(key: str = KEY, concurrency: int = 8, base_url: str | None = None) -> ProviderConfig:
    return ProviderConfig(api_key=key, base_url=base_url or os.environ["ANTHROPIC_BASE_URL"],
                          concurrency=concurrency)


def generate(prompt: str, settings: GenerationSettings = GenerationSettings(),
             cfg: ProviderConfig | None = None) -> Completion:
    async def go() -> Completion:
        adapter = AnthropicSync.from_config(cfg or config())
        try:
            return await adapter.generate(MODEL, prompt, settings)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def sync_error(cfg: ProviderConfig | None = None, settings=GenerationSettings()) -> Exception:
    with pytest.raises(Exception) as caught:
        generate("hello", settings, cfg)
    return caught.value


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/anthropic"


# ---- registration ----------------------------------------------------------------------


def test_the_plugin_registers_all_three_modes():
    specs: list[ProviderSpec] = []
    loom_register_providers(specs.append)
    (spec,) = specs
    assert (spec.name, spec.key_env_var, spec.base_url_env_var) == (
        "anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    assert spec.modes == ("batch", "sync", "tokens")


# ---- sync ------------------------------------------------------------------------------


def test_sync_answer_usage_and_the_request_sent(emulator):
    done = generate("What is 2+2?", GenerationSettings(system="be terse"))
    assert done == Completion(text=reply_text(MODEL, "What is 2+2?"), finish_reason=None,
                              input_tokens=count_words("be terse What is 2+2?"),
                              output_tokens=count_words(reply_text(MODEL, "What is 2+2?")))
    (sent,) = emulator.requests("anthropic", "messages")
    assert sent["path"] == "/anthropic/v1/messages"
    assert sent["api_key"] == KEY
    assert sent["headers"]["anthropic-version"]
    assert sent["headers"]["x-stainless-retry-count"] == "0"
    assert sent["json"] == {"model": MODEL, "max_tokens": 4096, "system": "be terse",
                            "messages": [{"role": "user", "content": "What is 2+2?"}]}


def test_every_setting_arrives_in_the_body(emulator):
    settings = GenerationSettings(temperature=0.2, max_tokens=77, top_p=0.8, top_k=5,
                                  stop=("STOP", "\n\n"), system="sys", json_mode=True,
                                  extra={"metadata": {"user_id": "loom"},
                                         "service_tier": "auto"})
    generate("p", settings)
    body = emulator.requests("anthropic", "messages")[-1]["json"]
    assert body == {
        "model": MODEL, "max_tokens": 77, "messages": [{"role": "user", "content": "p"}],
        "system": "sys\n\n" + JSON_INSTRUCTION, "stop_sequences": ["STOP", "\n\n"],
        "temperature": 0.2, "top_p": 0.8, "top_k": 5, "metadata": {"user_id": "loom"},
        "service_tier": "auto",
    }


@pytest.mark.parametrize("settings, flag", [
    (GenerationSettings(seed=1), "--seed"),
    (GenerationSettings(presence_penalty=0.5), "--presence-penalty"),
    (GenerationSettings(frequency_penalty=0.5), "--frequency-penalty"),
])
def test_unsupported_settings_raise_before_any_call(emulator, settings, flag):
    error = sync_error(settings=settings)
    assert isinstance(error, UnsupportedError) and flag in said(error)
    with pytest.raises(UnsupportedError):
        AnthropicBatch.from_config(config()).submit(MODEL, [BatchRequest("row-0", "x")],
                                                    settings, {})
    assert emulator.stats()["calls"] == {}


def test_a_max_tokens_the_sdk_will_not_send_without_streaming(emulator):
    error = sync_error(settings=GenerationSettings(max_tokens=64_000))
    assert isinstance(error, UnsupportedError)
    assert "--max-tokens 64000" in said(error) and "batch mode" in said(error)
    assert emulator.calls("anthropic") == 0
    # The batch API has no such limit: the same setting goes out as asked.
    batch = AnthropicBatch.from_config(config())
    batch.submit(MODEL, [BatchRequest("row-0", "x")], GenerationSettings(max_tokens=64_000), {})
    body = emulator.requests("anthropic", "batches_create")[-1]["json"]
    assert body["requests"][0]["params"]["max_tokens"] == 64_000


def test_bad_key_is_an_authentication_error(emulator):
    error = sync_error(config(key="bad-key"))
    assert isinstance(error, AuthenticationError)
    assert str(error) == "anthropic: HTTP 401 authentication_error: invalid x-api-key"


def test_rate_limit_carries_the_wait(emulator):
    emulator.add_fault(provider="anthropic", endpoint="messages", status=429, retry_after=3)
    error = sync_error()
    assert isinstance(error, RateLimitedError) and error.retry_after == 3
    assert "429 rate_limit_error" in str(error)


def test_an_empty_credit_balance_is_quota(emulator):
    emulator.add_fault(provider="anthropic", endpoint="messages", quota=True)
    error = sync_error()
    assert isinstance(error, QuotaExhaustedError) and "credit balance" in str(error)


@pytest.mark.parametrize("status", [500, 503, 529])
def test_server_errors_and_overload_are_transient(emulator, status):
    emulator.add_fault(provider="anthropic", endpoint="messages", status=status)
    error = sync_error()
    assert isinstance(error, TransientError) and f"HTTP {status}" in str(error)


def test_a_dropped_connection_and_a_dead_host_are_transient(emulator):
    emulator.add_fault(provider="anthropic", endpoint="messages", drop=True)
    assert isinstance(sync_error(), TransientError)
    dead = sync_error(config(base_url=closed_port_url()))
    assert isinstance(dead, TransientError) and "connection failed" in str(dead)


def test_a_bad_request_is_permanent_and_the_key_never_shows(emulator):
    emulator.add_fault(provider="anthropic", endpoint="messages", status=400,
                       message=f"key {KEY} is not allowed to use model x")
    error = sync_error()
    assert isinstance(error, PermanentError)
    assert KEY not in str(error) and "***" in str(error)


def test_loom_retry_loop_rides_out_overloads_with_one_request_per_attempt(emulator):
    # Rules all count every matching call, so one rule gives the two faults in a row.
    emulator.add_fault(provider="anthropic", endpoint="messages", status=529, times=2)

    outcomes: list[Outcome] = []

    async def go() -> None:
        adapter = AnthropicSync.from_config(config())
        runner = CallRunner(1, RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01))
        try:
            await runner.run(["again"],
                             lambda prompt: adapter.generate(MODEL, prompt, GenerationSettings()),
                             lambda _item, outcome: outcomes.append(outcome))
        finally:
            await adapter.aclose()

    asyncio.run(go())
    (outcome,) = outcomes
    assert outcome.error is None and outcome.result.text == reply_text(MODEL, "again")
    # No SDK retries underneath: exactly one request per attempt.
    assert emulator.calls("anthropic", "messages") == 3


def test_the_connection_pool_serves_the_whole_concurrency(emulator):
    emulator.set_latency(150)

    async def go() -> list[Completion]:
        adapter = AnthropicSync.from_config(config(concurrency=12))
        try:
            return await asyncio.gather(*(adapter.generate(MODEL, f"q{i}", GenerationSettings())
                                          for i in range(12)))
        finally:
            await adapter.aclose()

    answers = asyncio.run(go())
    assert [a.text for a in answers] == [reply_text(MODEL, f"q{i}") for i in range(12)]
    assert emulator.max_in_flight("anthropic") == 12


# ---- tokens ----------------------------------------------------------------------------


def count(prompt: str, settings=GenerationSettings(), cfg=None) -> int:
    async def go() -> int:
        counter = AnthropicTokens.from_config(cfg or config())
        try:
            return await counter.count(MODEL, prompt, settings)
        finally:
            await counter.aclose()

    return asyncio.run(go())


def test_token_count_includes_the_system_prompt(emulator):
    assert count("one two three") == 3
    assert count("one two three", GenerationSettings(system="four five", max_tokens=9,
                                                     temperature=0.5)) == 5
    sent = emulator.requests("anthropic", "count_tokens")[-1]["json"]
    assert sent == {"model": MODEL, "system": "four five",
                    "messages": [{"role": "user", "content": "one two three"}]}


def test_token_count_faults(emulator):
    emulator.add_fault(provider="anthropic", endpoint="count_tokens", status=429, retry_after=2)
    with pytest.raises(RateLimitedError) as error:
        count("x")
    assert error.value.retry_after == 2
    with pytest.raises(AuthenticationError):
        count("x", cfg=config(key="bad-key"))


# ---- batch -----------------------------------------------------------------------------


def requests_for(prompts: list[str]) -> list[BatchRequest]:
    return [BatchRequest(f"row-{i}", prompt) for i, prompt in enumerate(prompts)]


def test_batch_submit_status_results_in_any_order(emulator):
    prompts = [f"question number {i}" for i in range(7)] + [f"broken {FAIL_MARKER}"]
    batch = AnthropicBatch.from_config(config())
    settings = GenerationSettings(temperature=0.4, top_k=3, system="s", max_tokens=99)
    batch_id = batch.submit(MODEL, requests_for(prompts), settings, {"loom_source": "p.json"})
    body = emulator.requests("anthropic", "batches_create")[-1]["json"]
    assert [r["custom_id"] for r in body["requests"]] == [f"row-{i}" for i in range(8)]
    assert body["requests"][0]["params"] == {
        "model": MODEL, "max_tokens": 99, "system": "s", "temperature": 0.4, "top_k": 3,
        "messages": [{"role": "user", "content": prompts[0]}]}

    assert batch.status(batch_id) is BatchStatus.IN_PROGRESS
    assert batch.status(batch_id) is BatchStatus.COMPLETED
    results = list(batch.results(batch_id))
    ids = [custom_id for custom_id, _ in results]
    assert sorted(ids) == sorted(f"row-{i}" for i in range(8)) and ids != sorted(ids)
    answers = dict(results)
    for i, prompt in enumerate(prompts[:-1]):
        assert answers[f"row-{i}"].text == reply_text(MODEL, prompt)
        assert answers[f"row-{i}"].input_tokens == count_words("s " + prompt)
    assert not answers["row-7"].ok
    assert answers["row-7"].error.startswith("anthropic: request errored: invalid_request_error:")


@pytest.mark.parametrize("states, expected", [
    (["running", "running", "completed"],
     [BatchStatus.IN_PROGRESS, BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED]),
    (["pending", "cancelling", "cancelled"],
     [BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING, BatchStatus.CANCELLED]),
    (["running", "expired"], [BatchStatus.IN_PROGRESS, BatchStatus.EXPIRED]),
])
def test_batch_status_sequences(emulator, states, expected):
    emulator.plan_batches("anthropic", states)
    batch = AnthropicBatch.from_config(config())
    batch_id = batch.submit(MODEL, requests_for(["a", "b"]), GenerationSettings(), {})
    assert [batch.status(batch_id) for _ in expected] == expected


def test_expired_batch_with_partial_results_is_completed_and_keeps_every_line(emulator):
    emulator.plan_batches("anthropic", ["expired"], partial=2)
    batch = AnthropicBatch.from_config(config())
    batch_id = batch.submit(MODEL, requests_for(["a", "b", "c", "d"]), GenerationSettings(), {})
    assert batch.status(batch_id) is BatchStatus.COMPLETED
    results = dict(batch.results(batch_id))
    assert len(results) == 4
    assert sum(c.ok for c in results.values()) == 2
    assert all("expired" in c.error for c in results.values() if not c.ok)


def test_cancel_and_the_results_of_a_cancelled_batch(emulator):
    batch = AnthropicBatch.from_config(config())
    batch_id = batch.submit(MODEL, requests_for(["a", "b", "c"]), GenerationSettings(), {})
    batch.cancel(batch_id)
    assert emulator.calls("anthropic", "batches_cancel") == 1
    assert batch.status(batch_id) is BatchStatus.CANCELLING
    assert batch.status(batch_id) is BatchStatus.CANCELLED
    results = dict(batch.results(batch_id))
    assert sorted(results) == ["row-0", "row-1", "row-2"]
    assert all("canceled" in c.error for c in results.values())


def test_results_before_the_end_and_unknown_batches(emulator):
    batch = AnthropicBatch.from_config(config())
    batch_id = batch.submit(MODEL, requests_for(["a"]), GenerationSettings(), {})
    with pytest.raises(PermanentError, match="has not ended yet"):
        list(batch.results(batch_id))
    with pytest.raises(PermanentError, match="HTTP 404"):
        batch.status("msgbatch_nope")
    with pytest.raises(AuthenticationError):
        AnthropicBatch.from_config(config(key="bad-key")).status(batch_id)
    with pytest.raises(TransientError):
        AnthropicBatch.from_config(config(base_url=closed_port_url())).status(batch_id)


def test_batch_limits_are_checked_before_sending(emulator):
    batch = AnthropicBatch.from_config(config())
    with pytest.raises(PermanentError, match="custom id"):
        batch.submit(MODEL, [BatchRequest("row 1", "x")], GenerationSettings(), {})
    with pytest.raises(UnsupportedError, match="100,000"):
        batch.submit(MODEL, [BatchRequest(f"r{i}", "x") for i in range(100_001)],
                     GenerationSettings(), {})
    assert emulator.calls("anthropic") == 0
