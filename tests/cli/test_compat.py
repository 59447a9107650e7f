"""Files left by the released loom-batch keep working (docs/compatibility.md): its cache and
its batches."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from tests.support import cached_entries


def released_cache_key(provider: str, model: str, prompt: str) -> str:
    return hashlib.sha256(f"{provider}\x00{model}\x00{prompt}".encode()).hexdigest()


def test_a_cache_entry_written_by_the_released_tool_is_a_hit(loom, home):
    (home / "cache").mkdir(parents=True)
    entry = {"provider": "echo", "model": "echo", "response": "answered by the old tool",
             "created_at": "2026-05-01T12:00:00+00:00"}
    (home / "cache" / f"{released_cache_key('echo', 'echo', 'Hello')}.json").write_text(
        json.dumps(entry))
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "Hello"}]))
    result = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert "cache hits=1, provider calls=0" in result.out
    assert json.loads(Path("p_results_echo_echo.json").read_text())[0]["llm_response"] == (
        "answered by the old tool")
    # The entry moved into Loom's store, and keeps hitting from there.
    assert not list((home / "cache").glob("*.json"))
    again = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--force")
    assert "cache hits=1, provider calls=0" in again.out


def test_many_released_tool_entries_hit_among_misses_in_a_csv(loom, home):
    # The look-ups go in chunks: old files must hit whichever chunk their row falls in.
    (home / "cache").mkdir(parents=True)
    prompts = [f"question {i}" for i in range(4500)]
    for i in range(0, 4500, 7):
        entry = {"provider": "echo", "model": "upper", "response": f"old answer {i}",
                 "created_at": "2025-01-01T00:00:00+00:00"}
        (home / "cache" / f"{released_cache_key('echo', 'upper', prompts[i])}.json").write_text(
            json.dumps(entry))
    Path("d.csv").write_text("text\n" + "\n".join(prompts) + "\n")
    result = loom("run", "--sync", "-f", "d.csv", "-c", "text", "-p", "echo", "-m", "upper")
    hits = len(range(0, 4500, 7))
    assert f"cache hits={hits:,}, provider calls={4500 - hits:,}" in result.out
    rows = Path("d_results_echo_upper.csv").read_text().splitlines()[1:]
    assert rows[7] == "question 7,old answer 7" and rows[8] == "question 8,QUESTION 8"


def test_loom_cache_dir_moves_the_cache(loom, home, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOM_CACHE_DIR", str(tmp_path / "elsewhere"))
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "Hello"}]))
    loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert [e["response"] for e in cached_entries(tmp_path / "elsewhere")] == ["Hello"]
    assert not (home / "cache").exists()
    result = loom("cache", "stats")
    assert result.out.startswith(f"1 cached responses in {tmp_path / 'elsewhere'}")


def _write_echo_batch(home: Path, batch_id: str, answers: dict[str, str]) -> None:
    folder = home / "echo"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{batch_id}.jsonl").open("w") as out:
        for custom_id, text in reversed(list(answers.items())):
            out.write(json.dumps({"custom_id": custom_id, "text": text, "input_tokens": 1,
                                  "output_tokens": 1}) + "\n")


def _write_released_state(home: Path, state: dict) -> Path:
    folder = home / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{state['provider']}_{state['batch_id'].replace('/', '_')}.json"
    path.write_text(json.dumps(state, indent=2))
    return path


def test_a_pending_json_batch_of_the_released_tool_fetches(loom, home):
    Path("p.json").write_text(json.dumps([{"id": "task-001", "prompt": "a"},
                                          {"id": 42, "prompt": "b"}]))
    batch_id = "echo-" + uuid.uuid4().hex
    # The released tool sent JSON ids unchanged as custom ids.
    _write_echo_batch(home, batch_id, {"task-001": "answer a", "42": "answer b"})
    state_path = _write_released_state(home, {
        "batch_id": batch_id, "provider": "echo", "model": "echo",
        "original_file_path": str(Path("p.json").resolve()), "file_type": "json",
        "prompt_column": None, "id_map": {"task-001": "task-001", "42": 42},
        "created_at": "2026-05-01T12:00:00+00:00", "status": "in_progress",
        "output_path": None, "with_meta": False, "some_future_field": [1, 2],
    })
    result = loom("fetch")
    assert result.code == 0, result.err
    rows = json.loads(Path("p_results_echo_echo.json").read_text())
    assert [(r["id"], r["llm_response"]) for r in rows] == [("task-001", "answer a"),
                                                           (42, "answer b")]
    assert not state_path.exists()


def test_a_pending_csv_batch_of_the_released_tool_fetches(loom, home):
    Path("d.csv").write_text("text,n\nfirst,1\nsecond,2\nthird,3\n")
    batch_id = "echo-" + uuid.uuid4().hex
    # The released tool sent random UUIDs for CSV rows and mapped them to row indexes.
    ids = [str(uuid.uuid4()) for _ in range(3)]
    _write_echo_batch(home, batch_id, {ids[0]: "A1", ids[2]: "A3"})
    _write_released_state(home, {
        "batch_id": batch_id, "provider": "echo", "model": "echo",
        "original_file_path": "d.csv", "file_type": "csv", "prompt_column": "text",
        "id_map": {ids[0]: "0", ids[1]: "1", ids[2]: "2"},
        "created_at": "2026-05-01T12:00:00+00:00", "status": "validating",
        "output_path": "merged.csv", "with_meta": True,
    })
    result = loom("fetch")
    assert result.code == 1  # one row has no answer: reported, and the exit says so
    assert f"Fabric complete. id={batch_id} -> merged.csv" in result.out
    assert "1 of 3 rows have no answer" in result.err
    lines = Path("merged.csv").read_text().splitlines()
    assert lines[0] == ("text,n,llm_response,llm_provider,llm_model,llm_finish_reason,"
                        "llm_input_tokens,llm_output_tokens,llm_error")
    assert lines[1] == "first,1,A1,echo,echo,,1,1,"
    assert lines[2].startswith("second,2,,echo,echo,,,,") and "no answer" in lines[2]
    assert lines[3] == "third,3,A3,echo,echo,,1,1,"
