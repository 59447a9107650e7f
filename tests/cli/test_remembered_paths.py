"""A batch job remembers where its input and output are, so ``loom fetch`` writes the same file
from any working directory: ``loom`` processes against the emulator's OpenAI Batch API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator.replies import reply_text
from tests.support import read_json, state_path, write_json

MODEL = "gpt-emu"
ITEMS = [{"id": 1, "prompt": "first prompt"}, {"id": "two", "prompt": "second prompt"}]


@pytest.fixture
def env(home, emulator, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-paths")
    emulator.plan_batches("openai", ["completed"])
    return emulator


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory that is neither the input's folder nor the one it was run from."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def submitted_id(result) -> str:
    assert result.code == 0, result.err
    return result.out.split("id=")[1].split()[0]


def assert_answered(path: Path) -> None:
    rows = read_json(str(path))
    assert [row["id"] for row in rows] == [1, "two"]
    assert [row["llm_response"] for row in rows] == [reply_text(MODEL, i["prompt"]) for i in ITEMS]


def test_a_job_run_with_a_relative_path_is_fetched_from_another_folder(
        env, home, loom_process, elsewhere):
    Path("proj").mkdir()
    write_json("proj/prompts.json", ITEMS)
    batch_id = submitted_id(loom_process("run", "-f", "proj/prompts.json", "-p", "openai",
                                         "-m", MODEL))

    fetched = loom_process("fetch", cwd=elsewhere)
    assert fetched.code == 0, fetched.err
    output = Path("proj", f"prompts_results_openai_{MODEL}.json").resolve()
    assert fetched.out.splitlines()[0] == f"Fabric complete. id={batch_id} -> {output}"
    assert_answered(output)
    assert list(elsewhere.iterdir()) == []
    assert not list((home / "batches").glob("*.json"))


def test_a_relative_output_is_remembered_from_where_loom_run_ran(
        env, home, loom_process, elsewhere):
    Path("proj").mkdir()
    Path("answers").mkdir()
    write_json("proj/prompts.json", ITEMS)
    batch_id = submitted_id(loom_process("run", "-f", "proj/prompts.json", "-p", "openai",
                                         "-m", MODEL, "--output", "answers/merged.json"))
    fetched = loom_process("fetch", cwd=elsewhere)
    assert fetched.code == 0, fetched.err
    output = Path("answers/merged.json").resolve()
    assert fetched.out.splitlines()[0] == f"Fabric complete. id={batch_id} -> {output}"
    assert_answered(output)
    assert list(elsewhere.iterdir()) == []
    assert not Path("proj", f"prompts_results_openai_{MODEL}.json").exists()


def test_a_released_state_file_with_a_relative_path_fetches_from_its_folder(
        env, home, loom_process):
    Path("proj").mkdir()
    write_json("proj/prompts.json", ITEMS)
    batch_id = submitted_id(loom_process("run", "-f", "prompts.json", "-p", "openai",
                                         "-m", MODEL, cwd=Path("proj")))
    # The same batch as the released tool (or an older Loom) remembered it: its own layout,
    # named by the batch id, with the path as it was typed.
    loom_state = state_path(home, batch_id)
    saved = json.loads(loom_state.read_text())
    loom_state.unlink()
    released = {key: saved[key] for key in (
        "batch_id", "provider", "model", "file_type", "prompt_column", "id_map", "created_at",
        "status", "output_path", "with_meta")}
    released.update(batch_id=saved["parts"][0]["batch_id"], original_file_path="prompts.json")
    (home / "batches" / f"openai_{released['batch_id']}.json").write_text(json.dumps(released))

    fetched = loom_process("fetch", cwd=Path("proj"))
    assert fetched.code == 0, fetched.err
    assert fetched.out.splitlines()[0] == (
        f"Fabric complete. id={released['batch_id']} -> prompts_results_openai_{MODEL}.json")
    assert_answered(Path("proj", f"prompts_results_openai_{MODEL}.json"))
    assert not list((home / "batches").glob("*.json"))
