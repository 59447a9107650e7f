"""The chat body shared by OpenAI (sync and batch) and OpenRouter, and the answer reader.

Pure functions: what goes over the wire is checked again at the emulator in the adapter tests.
"""

from __future__ import annotations

import re

import subprocess
import sys

import pytest

from loom_adapters.providers.openai.request import (
    JSON_INSTRUCTION,
    OPENAI,
    OPENROUTER,
    chat_body,
    is_reasoning_model,
)
from loom_adapters.providers.openai.response import completion_from_chat, finish_reason_of
from loom_core.errors import PermanentError, TransientError, UnsupportedError
from loom_core.model import GenerationSettings
from tests.support import said

ALL = GenerationSettings(
    temperature=0.3, max_tokens=50, top_p=0.9, stop=("END", "STOP"), seed=7,
    presence_penalty=0.1, frequency_penalty=0.2, system="Be brief.", json_mode=True,
    extra={"user": "u-1", "logit_bias": {"50256": -100}},
)


def test_every_setting_has_its_field():
    body = chat_body("gpt-4o-mini", "Give me a json list", ALL)
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Give me a json list"}],
        "temperature": 0.3, "max_tokens": 50, "top_p": 0.9, "stop": ["END", "STOP"],
        "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.2,
        "response_format": {"type": "json_object"},
        "user": "u-1", "logit_bias": {"50256": -100},
    }


def test_no_settings_is_just_the_prompt():
    assert chat_body("m", "hi", GenerationSettings()) == {
        "model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_extra_wins_over_loom_own_fields():
    body = chat_body("m", "hi", GenerationSettings(temperature=0.1, extra={"temperature": 0.9}))
    assert body["temperature"] == 0.9


@pytest.mark.parametrize("system, prompt, hinted", [
    (None, "list three colours", True),
    ("Reply briefly.", "list three colours", True),
    ("Reply in JSON.", "list three colours", False),
    (None, "list three colours as Json", False),
])
def test_json_mode_mentions_json_somewhere(system, prompt, hinted):
    body = chat_body("m", prompt, GenerationSettings(system=system, json_mode=True))
    hints = [m for m in body["messages"] if m["content"] == JSON_INSTRUCTION]
    assert bool(hints) == hinted
    assert any("json" in m["content"].lower() for m in body["messages"])
    assert body["messages"][-1] == {"role": "user", "content": prompt}
    if system:
        assert body["messages"][0] == {"role": "system", "content": system}


@pytest.mark.parametrize("model, reasoning", [
    ("o1", True), ("o1-mini", True), ("o3-mini-2025-01-31", True), ("o4-mini", True),
    ("gpt-5", True), ("gpt-5-mini", True), ("gpt-5.1", True), ("ft:o4-mini:acme::x1", True),
    ("gpt-5-chat-latest", False), ("gpt-4o", False), ("gpt-4.1-mini", False),
    ("gpt-4o-mini", False), ("omni-moderation-latest", False), ("gpt-emu", False),
])
def test_reasoning_models(model, reasoning):
    assert is_reasoning_model(model) is reasoning


def test_reasoning_models_take_max_completion_tokens():
    body = chat_body("o3-mini", "hi", GenerationSettings(max_tokens=99, temperature=1))
    assert body["max_completion_tokens"] == 99 and "max_tokens" not in body
    assert body["temperature"] == 1.0  # the default is accepted


@pytest.mark.parametrize("settings, flag", [
    (GenerationSettings(temperature=0.2), "--temperature"),
    (GenerationSettings(top_p=0.5), "--top-p"),
    (GenerationSettings(presence_penalty=0.5), "--presence-penalty"),
    (GenerationSettings(frequency_penalty=-0.5), "--frequency-penalty"),
])
def test_reasoning_models_refuse_non_default_sampling(settings, flag):
    with pytest.raises(UnsupportedError) as refused:
        chat_body("gpt-5", "hi", settings)
    assert re.search(f"^openai does not support {flag}", said(refused.value))


def test_openai_refuses_top_k_and_too_many_stops():
    with pytest.raises(UnsupportedError) as refused:
        chat_body("gpt-4o", "hi", GenerationSettings(top_k=40))
    assert re.search("^openai does not support --top-k$", said(refused.value))
    with pytest.raises(UnsupportedError) as refused:
        chat_body("gpt-4o", "hi", GenerationSettings(stop=("a", "b", "c", "d", "e")))
    assert re.search("^openai does not support --stop", said(refused.value))


def test_openrouter_dialect_takes_what_openai_refuses():
    settings = GenerationSettings(top_k=40, temperature=0.2, max_tokens=10,
                                  stop=("a", "b", "c", "d", "e"))
    body = chat_body("openai/o3-mini", "hi", settings, OPENROUTER)
    assert body["top_k"] == 40 and body["temperature"] == 0.2 and body["max_tokens"] == 10
    assert len(body["stop"]) == 5
    assert OPENAI.name == "openai" and OPENROUTER.name == "openrouter"


def chat(content, finish="stop", refusal=None, usage=True):
    data = {"choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": refusal}}]}
    if usage:
        data["usage"] = {"prompt_tokens": 3, "completion_tokens": 5}
    return data


def test_answer_usage_and_finish_reasons():
    done = completion_from_chat(chat("hello"), "X")
    assert (done.text, done.finish_reason, done.input_tokens, done.output_tokens) == (
        "hello", None, 3, 5)
    assert completion_from_chat(chat("hel", "length"), "X").finish_reason == "length"
    assert completion_from_chat(chat("x", "tool_calls"), "X").finish_reason == "tool_calls"
    assert completion_from_chat(chat("x", "STOP", usage=False), "X").input_tokens is None
    assert finish_reason_of("Content_Filter") == "content_filter"


def test_empty_answers_need_a_reason():
    filtered = completion_from_chat(chat(None, "content_filter"), "X")
    assert (filtered.text, filtered.finish_reason, filtered.ok) == ("", "content_filter", True)
    assert completion_from_chat(chat(None, "length"), "X").text == ""
    refused = completion_from_chat(chat(None, "stop", refusal="I can't help with that."), "X")
    assert (refused.text, refused.finish_reason) == ("", "content_filter")
    assert completion_from_chat(chat("", "stop"), "X").text == ""  # an empty string is an answer
    with pytest.raises(PermanentError, match="no answer"):
        completion_from_chat(chat(None, "stop"), "X")
    with pytest.raises(TransientError):
        completion_from_chat(chat(None, "error"), "X")
    with pytest.raises(PermanentError, match="no choices"):
        completion_from_chat({"choices": []}, "X")


def test_content_parts_are_joined():
    parts = [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]
    assert completion_from_chat(chat(parts), "X").text == "ab"


def test_shared_modules_do_not_import_the_sdks():
    code = ("import sys\n"
            "import loom_adapters.providers.openai.request, loom_adapters.providers.openai.response\n"
            "import loom_adapters.providers.openai, loom_adapters.providers.openrouter\n"
            "assert 'openai' not in sys.modules, 'openai SDK imported'\n"
            "assert 'requests' not in sys.modules, 'requests imported'\n"
            "import loom_adapters.providers.openrouter.sync\n"
            "assert 'openai' not in sys.modules, 'openrouter imported the openai SDK'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_json_schema_becomes_structured_output():
    schema = {"title": "Colour list!", "type": "object",
              "properties": {"colours": {"type": "array", "items": {"type": "string"}}}}
    body = chat_body("m", "three colours", GenerationSettings(schema=schema, json_mode=True))
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "Colour_list", "schema": schema}}
    assert body["messages"] == [{"role": "user", "content": "three colours"}]
    assert chat_body("m", "x", GenerationSettings(schema={"type": "object"}))[
        "response_format"]["json_schema"]["name"] == "answer"
