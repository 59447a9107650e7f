"""An application that already runs an event loop: it awaits ``agenerate_many``, and the
blocking calls tell it what to do instead of failing inside ``asyncio.run``."""

from __future__ import annotations

import asyncio

import pytest

from loom import Loom, UsageError
from tests.emulator.replies import reply_text

from .support import MODEL, read_json, write_json


def test_an_async_app_awaits_its_answers(openai_env):
    async def app():
        loom = Loom("openai", MODEL)
        many, one = await asyncio.gather(loom.agenerate_many(["a", {"prompt": "b"}]),
                                         loom.agenerate("c"))
        return [c.text for c in many], one, await loom.acomplete("a")

    texts, one, cached = asyncio.run(app())
    assert texts == [reply_text(MODEL, "a"), reply_text(MODEL, "b")]
    assert one == reply_text(MODEL, "c") and cached.text == reply_text(MODEL, "a")
    assert openai_env.calls("openai", "chat") == 3


def test_the_pool_keeps_workers_calls_in_flight(openai_env):
    openai_env.set_latency(50)
    prompts = [f"p{i}" for i in range(16)]

    async def app():
        return await Loom("openai", MODEL, workers=4).agenerate_many(prompts)

    answers = asyncio.run(app())
    assert [a.text for a in answers] == [reply_text(MODEL, p) for p in prompts]
    assert 1 < openai_env.max_in_flight("openai") <= 4


def test_blocking_calls_inside_a_running_loop_say_what_to_do(home):
    write_json("p.json", [{"id": 1, "prompt": "x"}])
    loom = Loom("echo", "upper")

    async def app():
        with pytest.raises(UsageError, match=r"await Loom.agenerate_many\(...\) instead"):
            loom.generate_many(["a"])
        with pytest.raises(UsageError, match=r"await Loom.agenerate\(...\) instead"):
            loom.generate("a")
        with pytest.raises(UsageError, match=r"await Loom.acomplete\(...\) instead"):
            loom.complete("a")
        with pytest.raises(UsageError, match=r"asyncio.to_thread\(loom.run_file, ...\)"):
            loom.run_file("p.json")
        with pytest.raises(UsageError, match=r"to_thread\(loom.count_tokens, ...\)"):
            loom.count_tokens(["a"])
        with pytest.raises(UsageError, match=r"to_thread\(loom.count_file_tokens, ...\)"):
            loom.count_file_tokens("p.json")
        # The advice works: a blocking call in a thread, the async one awaited.
        summary = await asyncio.to_thread(loom.run_file, "p.json")
        return summary, await loom.agenerate("a")

    summary, answer = asyncio.run(app())
    assert read_json(summary.output_path)[0]["llm_response"] == "X" and answer == "A"


def test_a_cancelled_run_stops_cleanly(openai_env):
    openai_env.set_latency(400)

    async def app():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                Loom("openai", MODEL, workers=2).agenerate_many([f"q{i}" for i in range(20)]),
                timeout=0.2)

    asyncio.run(app())
    assert openai_env.calls("openai", "chat") <= 2
