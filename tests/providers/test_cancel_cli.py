"""``loom cancel`` end to end with each batch provider against the emulator: the job is
``cancelling`` (in ``loom list`` and ``loom fetch``) while the provider stops it, then
``cancelled`` with the answers it finished merged.

The emulator keeps a cancelled batch stopping until the test ends it, as a real API does for
a while: OpenAI says ``cancelling``, Anthropic ``canceling``, and the Gemini API, which has no
such state, goes on saying the batch is running."""

from __future__ import annotations

import pytest

from loom_core.model import BatchStatus
from tests.emulator.replies import reply_text
from tests.support import read_json, state_of, write_json

#: Loom's provider -> (the emulator's name for its API, its key variable, a model).
PROVIDERS = {
    "openai": ("openai", "OPENAI_API_KEY", "gpt-emu"),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY", "claude-emu"),
    "google": ("gemini", "GOOGLE_API_KEY", "gemini-emu"),
}
ITEMS = [{"id": i, "prompt": f"prompt number {i}"} for i in range(3)]


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request, home, emulator, monkeypatch) -> str:
    api, key_variable, _model = PROVIDERS[request.param]
    monkeypatch.setenv("LOOM_PLUGINS", request.param)
    monkeypatch.setenv(key_variable, "test-key")
    # Running until cancelled; the cancel then lasts until the test ends it.
    emulator.plan_batches(api, ["running"], cancelling=None)
    return request.param


def listed_status(loom, batch_id: str) -> str:
    result = loom("list")
    assert result.code == 0, result.err
    (row,) = [line for line in result.out.splitlines() if line.startswith(batch_id)]
    return row.split()[3]


def test_a_cancelled_batch_is_cancelling_until_it_ends_then_keeps_its_answers(
        provider, emulator, loom, home):
    api, _key, model = PROVIDERS[provider]
    write_json("p.json", ITEMS)
    submitted = loom("run", "-f", "p.json", "-p", provider, "-m", model)
    assert submitted.code == 0, submitted.err
    batch_id = submitted.out.split("id=")[1].split()[0]
    assert listed_status(loom, batch_id) == "validating"

    cancelled = loom("cancel", "--id", batch_id)
    assert cancelled.code == 0, cancelled.err
    assert cancelled.out.startswith(
        f"Cancel requested. id={batch_id} provider={provider} status=cancelling ")
    assert listed_status(loom, batch_id) == "cancelling"

    still = loom("fetch")
    assert still.code == 0, still.err
    assert still.out.strip() == (f"Batch {batch_id} ({provider}, {model}): cancelling — "
                                 f"{BatchStatus.CANCELLING.explanation}")
    assert listed_status(loom, batch_id) == "cancelling"
    assert state_of(home, batch_id)["parts"][0]["status"] == "cancelling"
    # Already being stopped: nothing more to ask the provider.
    assert loom("cancel", "--all").out.strip() == "No running batches to cancel."
    assert emulator.calls(api, "batches_cancel") == 1

    emulator.set_batch_state(api, batch_id, "cancelled", partial=2)
    ended = loom("fetch")
    assert ended.code == 1
    output = f"p_results_{provider}_{model}.json"
    assert ended.out.splitlines()[0] == (
        f"Batch {batch_id} ({provider}): cancelled — {BatchStatus.CANCELLED.explanation} "
        f"Kept the 2 answers it has -> {output}")
    rows = read_json(output)
    assert [row["id"] for row in rows] == [0, 1, 2]
    answered = [row for row in rows if row["llm_error"] is None]
    assert len(answered) == 2
    assert all(row["llm_response"] == reply_text(model, row["prompt"]) for row in answered)
    (lost,) = [row for row in rows if row["llm_error"] is not None]
    assert lost["llm_response"] is None
    assert loom("list").out.strip() == "No batches. Submit one with loom run."
