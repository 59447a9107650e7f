"""Anthropic adapter pieces that need no server: the request body, the Message -> Completion
mapping, the batch-status mapping and the translation of errors the emulator cannot produce.

The SDK objects here are the SDK's own types, built from the JSON the API sends; nothing of
the SDK is patched.
"""

from __future__ import annotations

from datetime import datetime, timezone

import anthropic
import httpx2
import pytest
from anthropic.types import Message
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

from loom_adapters.providers.anthropic.batch import batch_status, line_completion
from loom_adapters.providers.anthropic.errors import translate
from loom_adapters.providers.anthropic.request import (
    DEFAULT_MAX_TOKENS,
    JSON_INSTRUCTION,
    build_params,
    count_arguments,
    create_arguments,
)
from loom_adapters.providers.anthropic.response import completion_from_message, finish_reason
from loom_core.errors import (
    AuthenticationError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    UnsupportedError,
)
from loom_core.model import BatchStatus, Completion, GenerationSettings
from tests.support import said

# ---- request ---------------------------------------------------------------------------


def test_defaults_give_the_minimal_body_with_the_documented_max_tokens():
    assert DEFAULT_MAX_TOKENS == 4096
    assert build_params("claude-x", "hi", GenerationSettings()) == {
        "model": "claude-x", "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_every_supported_setting_lands_under_its_anthropic_name():
    settings = GenerationSettings(temperature=0.3, max_tokens=50, top_p=0.9, top_k=7,
                                  stop=("END", "###"), system="be brief",
                                  extra={"metadata": {"user_id": "u1"}, "top_k": 9})
    params = build_params("m", "p", settings)
    assert params == {
        "model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "p"}],
        "system": "be brief", "stop_sequences": ["END", "###"], "temperature": 0.3,
        "top_p": 0.9, "top_k": 9,  # extra is merged last, unchanged
        "metadata": {"user_id": "u1"},
    }


def test_create_arguments_put_what_create_lacks_into_extra_body():
    params = build_params("m", "p", GenerationSettings(temperature=0.1, top_p=0.5, top_k=2,
                                                       system="s", stop="x"))
    arguments = create_arguments(params)
    assert arguments["extra_body"] == {"temperature": 0.1, "top_p": 0.5, "top_k": 2}
    assert {k for k in arguments if k != "extra_body"} == {
        "model", "max_tokens", "messages", "system", "stop_sequences"}
    assert "extra_body" not in create_arguments(build_params("m", "p", GenerationSettings()))


def test_count_arguments_keep_only_what_count_tokens_accepts():
    params = build_params("m", "p", GenerationSettings(system="s", temperature=1, stop="x"))
    assert count_arguments(params) == {"model": "m", "system": "s",
                                       "messages": [{"role": "user", "content": "p"}]}


def test_json_mode_is_a_system_instruction():
    assert build_params("m", "p", GenerationSettings(json_mode=True))["system"] == JSON_INSTRUCTION
    both = build_params("m", "p", GenerationSettings(json_mode=True, system="You rate films."))
    assert both["system"] == "You rate films.\n\n" + JSON_INSTRUCTION


@pytest.mark.parametrize("field, flag", [("seed", "--seed"),
                                         ("presence_penalty", "--presence-penalty"),
                                         ("frequency_penalty", "--frequency-penalty")])
def test_settings_the_messages_api_lacks_are_refused(field, flag):
    with pytest.raises(UnsupportedError) as error:
        build_params("m", "p", GenerationSettings(**{field: 1}))
    assert said(error.value) == f"anthropic does not support {flag}"
    assert str(error.value) == f"anthropic does not support {field}"
    assert error.value.exit_code == 2


# ---- response --------------------------------------------------------------------------


def message(content, stop_reason="end_turn", **usage) -> Message:
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 3, **usage},
    })


@pytest.mark.parametrize("stop, expected", [
    ("end_turn", None), ("stop_sequence", None), (None, None), ("max_tokens", "length"),
    ("model_context_window_exceeded", "length"), ("refusal", "content_filter"),
    ("tool_use", "tool_use"), ("pause_turn", "pause_turn"), ("SOMETHING_NEW", "something_new"),
])
def test_finish_reasons(stop, expected):
    assert finish_reason(stop) == expected


def test_text_blocks_are_joined_and_other_blocks_skipped():
    content = [{"type": "thinking", "thinking": "hmm", "signature": "s"},
               {"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]
    assert completion_from_message(message(content, "max_tokens")) == Completion(
        text="Hello, world", finish_reason="length", input_tokens=10, output_tokens=3)


def test_prompt_cache_tokens_count_as_input():
    done = completion_from_message(message([{"type": "text", "text": "x"}],
                                           cache_creation_input_tokens=5,
                                           cache_read_input_tokens=7))
    assert done.input_tokens == 22 and done.output_tokens == 3


def test_an_empty_refusal_is_an_empty_answer_and_no_text_at_all_is_a_failure():
    refused = completion_from_message(message([], "refusal"))
    assert refused.ok and refused.text == "" and refused.finish_reason == "content_filter"
    nothing = completion_from_message(message([], "end_turn"))
    assert not nothing.ok and "no text" in nothing.error
    empty_text = completion_from_message(message([{"type": "text", "text": ""}]))
    assert empty_text.ok and empty_text.text == ""


def test_batch_result_lines():
    def line(result: dict) -> Completion:
        return line_completion(MessageBatchIndividualResponse.model_validate(
            {"custom_id": "row-0", "result": result}).result)

    errored = line({"type": "errored", "error": {"type": "error", "error": {
        "type": "invalid_request_error", "message": "max_tokens: too large"}}})
    assert errored.error == "anthropic: request errored: invalid_request_error: max_tokens: too large"
    assert "canceled" in line({"type": "canceled"}).error
    assert "expired" in line({"type": "expired"}).error
    ok = line({"type": "succeeded", "message": message([{"type": "text", "text": "yo"}])
               .model_dump()})
    assert ok.text == "yo"


# ---- batch status ----------------------------------------------------------------------


def batch(processing_status="ended", cancel=False, **counts) -> MessageBatch:
    now = datetime.now(timezone.utc).isoformat()
    full = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    full.update(counts)
    return MessageBatch.model_validate({
        "id": "msgbatch_1", "type": "message_batch", "processing_status": processing_status,
        "request_counts": full, "created_at": now, "expires_at": now,
        "cancel_initiated_at": now if cancel else None,
    })


@pytest.mark.parametrize("made, expected", [
    (batch("in_progress", processing=3), BatchStatus.IN_PROGRESS),
    (batch("canceling", cancel=True, processing=3), BatchStatus.CANCELLING),
    (batch(succeeded=3), BatchStatus.COMPLETED),
    (batch(errored=3), BatchStatus.COMPLETED),
    (batch(succeeded=1, expired=2), BatchStatus.COMPLETED),
    (batch(expired=2, errored=1), BatchStatus.EXPIRED),
    (batch(canceled=3), BatchStatus.CANCELLED),
    (batch(cancel=True, succeeded=1, canceled=2), BatchStatus.CANCELLED),
    # The cancel came after every request had finished: nothing was cancelled.
    (batch(cancel=True, succeeded=3), BatchStatus.COMPLETED),
])
def test_batch_status_mapping(made, expected):
    assert batch_status(made) is expected


def test_an_unknown_processing_status_is_an_error():
    odd = MessageBatch.model_construct(processing_status="archiving")
    with pytest.raises(PermanentError, match="archiving"):
        batch_status(odd)


# ---- errors the emulator does not send -------------------------------------------------


def status_error(status: int, kind: str, text: str, code: str | None = None,
                 headers: dict | None = None) -> anthropic.APIStatusError:
    error: dict = {"type": kind, "message": text}
    if code:
        error["details"] = {"error_code": code}
    body = {"type": "error", "error": error}
    response = httpx2.Response(status, json=body, headers=headers or {},
                               request=httpx2.Request("POST", "https://api.example/v1/messages"))
    return anthropic.APIStatusError(text, response=response, body=body)


def test_spend_limits_and_billing_are_quota_not_rate_limits():
    assert isinstance(translate(status_error(429, "rate_limit_error", "monthly limit",
                                             code="enforced_spend_limit_reached",
                                             headers={"retry-after": "5"})),
                      QuotaExhaustedError)
    assert isinstance(translate(status_error(402, "billing_error", "pay")), QuotaExhaustedError)
    limited = translate(status_error(429, "rate_limit_error", "slow down",
                                     headers={"retry-after": "7"}))
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 7


def test_overloaded_timeouts_and_permissions():
    overloaded = translate(status_error(529, "overloaded_error", "Overloaded"))
    assert isinstance(overloaded, TransientError)
    assert str(overloaded) == "anthropic: HTTP 529 overloaded_error: Overloaded"
    timeout = translate(anthropic.APITimeoutError(httpx2.Request("POST", "https://x/")))
    assert isinstance(timeout, TransientError)
    assert isinstance(translate(status_error(403, "permission_error", "no")), AuthenticationError)
    assert isinstance(translate(status_error(404, "not_found_error", "gone")), PermanentError)


def test_messages_are_one_line_and_never_hold_the_key():
    error = translate(status_error(400, "invalid_request_error", "bad key sk-ant-secret\nhere"),
                      api_key="sk-ant-secret")
    assert str(error) == "anthropic: HTTP 400 invalid_request_error: bad key *** here"
