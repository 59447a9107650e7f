"""OpenRouter over plain HTTP (httpx2) and through the openai SDK: replies and fault modes."""

from __future__ import annotations

import os
import time

import httpx2
import openai

from tests.emulator.fixture import emulator  # noqa: F401
from tests.emulator.replies import count_words, reply_text

MODEL = "vendor/model-emu"


def post(body: dict | None = None, key: str | None = "test-key") -> httpx2.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = body or {"model": MODEL, "messages": [{"role": "user", "content": "route me"}]}
    return httpx2.post(os.environ["OPENROUTER_BASE_URL"] + "/chat/completions", json=body,
                       headers=headers, timeout=10)


def test_chat_reply_and_usage(emulator):
    r = post()
    assert r.status_code == 200
    data = r.json()
    assert data["choices"][0]["message"]["content"] == reply_text(MODEL, "route me")
    assert data["usage"]["prompt_tokens"] == 2
    assert data["usage"]["completion_tokens"] == count_words(reply_text(MODEL, "route me"))
    assert emulator.requests("openrouter", "chat")[-1]["api_key"] == "test-key"


def test_openai_sdk_against_openrouter_base(emulator):
    c = openai.OpenAI(api_key="k", base_url=os.environ["OPENROUTER_BASE_URL"], max_retries=0)
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == reply_text(MODEL, "hi")
    assert emulator.calls("openrouter", "chat") == 1 and emulator.calls("openai") == 0


def test_200_with_only_an_error(emulator):
    emulator.add_fault(provider="openrouter", openrouter_200_error=True, times=1)
    r = post()
    assert r.status_code == 200
    assert set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"code", "message"}
    assert "choices" in post().json()


def test_null_content(emulator):
    emulator.add_fault(provider="openrouter", null_content=True, times=1)
    assert post().json()["choices"][0]["message"]["content"] is None


def test_out_of_credits_and_rate_limit(emulator):
    emulator.add_fault(provider="openrouter", quota=True, times=1)
    r = post()
    assert r.status_code == 402 and r.json()["error"]["code"] == 402

    emulator.add_fault(provider="openrouter", status=429, retry_after=4, times=1)
    before_ms = time.time() * 1000
    r = post()
    assert r.status_code == 429 and r.json()["error"]["code"] == 429
    assert r.headers["Retry-After"] == "4"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    reset_ms = int(r.headers["X-RateLimit-Reset"])
    assert before_ms + 3500 < reset_ms < before_ms + 5000  # epoch milliseconds


def test_keys(emulator):
    assert post(key="bad-key").status_code == 401
    r = post(key=None)
    assert r.status_code == 401 and r.json()["error"]["message"] == "No auth credentials found"
