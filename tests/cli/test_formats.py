"""JSONL and Parquet end to end: ``loom run`` (sync and batch) and ``loom fetch`` with echo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

JSONL_ROWS = [
    {"id": "task-001", "prompt": "Summarize Hamlet", "extra": {"keep": [1, None]}},
    {"id": 7, "prompt": "Ünïcödé\nzwei Zeilen", "note": ""},
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def only_state(home: Path) -> dict:
    (path,) = (home / "batches").glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ["data.jsonl", "data.ndjson"])
def test_jsonl_sync(loom, name):
    write_jsonl(Path(name), JSONL_ROWS)
    result = loom("run", "--sync", "-f", name, "-p", "echo", "-m", "upper")
    assert result.code == 0, result.err
    assert "Done. 2 rows -> data_results_echo_upper.jsonl" in result.out
    assert read_jsonl(Path("data_results_echo_upper.jsonl")) == [
        {**JSONL_ROWS[0], "llm_response": "SUMMARIZE HAMLET"},
        {**JSONL_ROWS[1], "llm_response": "ÜNÏCÖDÉ\nZWEI ZEILEN"},
    ]


def test_jsonl_template_and_col(loom):
    write_jsonl(Path("d.jsonl"), [{"id": 1, "q": "hi", "n": 2}])
    assert loom("run", "--sync", "-f", "d.jsonl", "-c", "q", "-p", "echo", "-m", "upper",
                "-o", "col.jsonl").code == 0
    assert read_jsonl(Path("col.jsonl"))[0]["llm_response"] == "HI"
    assert loom("run", "--sync", "-f", "d.jsonl", "--template", "{q} x{n}", "-p", "echo",
                "-m", "upper", "-o", "tpl.jsonl").code == 0
    assert read_jsonl(Path("tpl.jsonl"))[0]["llm_response"] == "HI X2"


def test_jsonl_batch_then_fetch(loom, home):
    write_jsonl(Path("p.jsonl"), JSONL_ROWS)
    submitted = loom("run", "-f", "p.jsonl", "-p", "echo", "-m", "upper")
    assert submitted.code == 0, submitted.err
    batch_id = submitted.out.split("id=")[1].split()[0]
    state = only_state(home)
    assert state["file_type"] == "jsonl"
    assert sorted(state["id_map"].values(), key=str) == [7, "task-001"]
    fetched = loom("fetch")
    assert fetched.code == 0, fetched.err
    assert f"Fabric complete. id={batch_id} -> p_results_echo_upper.jsonl" in fetched.out
    assert [row["llm_response"] for row in read_jsonl(Path("p_results_echo_upper.jsonl"))] == [
        "SUMMARIZE HAMLET", "ÜNÏCÖDÉ\nZWEI ZEILEN"]


def test_bad_jsonl_is_one_line(loom):
    Path("p.jsonl").write_text('{"id": 1, "prompt": "x"}\n{"id": 1, "prompt": "y"}\n')
    result = loom("run", "--sync", "-f", "p.jsonl", "-p", "echo", "-m", "upper")
    assert result.code == 2
    assert "p.jsonl, line 2 repeats id 1 (first used on line 1)" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not Path("p_results_echo_upper.jsonl").exists()


# --- Parquet ------------------------------------------------------------------------------


def parquet_source():
    return pa.table({
        "text": ["Explain, \"this\"", "Ünïcödé\nline", ""],
        "n": pa.array([1, None, 3], pa.int16()),
        "tags": [["a"], [], None],
    })


def test_parquet_sync_with_meta(loom):
    source = parquet_source()
    pq.write_table(source, "data.parquet")
    result = loom("run", "--sync", "-f", "data.parquet", "-c", "text", "-p", "echo",
                  "-m", "upper", "--with-meta")
    assert result.code == 0, result.err
    assert "Done. 3 rows -> data_results_echo_upper.parquet" in result.out
    merged = pq.read_table("data_results_echo_upper.parquet")
    assert merged.select(source.schema.names).equals(source)
    assert merged.column("llm_response").to_pylist() == ['EXPLAIN, "THIS"', "ÜNÏCÖDÉ\nLINE", ""]
    assert merged.column("llm_provider").to_pylist() == ["echo"] * 3
    assert str(merged.schema.field("llm_input_tokens").type) == "int64"


def test_parquet_batch_then_fetch(loom, home):
    pq.write_table(parquet_source(), "d.parquet")
    submitted = loom("run", "-f", "d.parquet", "--template", "{text}/{n}", "-p", "echo",
                     "-m", "upper")
    assert submitted.code == 0, submitted.err
    batch_id = submitted.out.split("id=")[1].split()[0]
    state = only_state(home)
    assert state["batch_id"] == batch_id and state["file_type"] == "parquet"
    assert sorted(state["id_map"].values()) == ["0", "1", "2"]
    assert loom("fetch").code == 0
    merged = pq.read_table("d_results_echo_upper.parquet")
    assert merged.column("llm_response").to_pylist() == ['EXPLAIN, "THIS"/1', "ÜNÏCÖDÉ\nLINE/",
                                                         "/3"]


def test_parquet_needs_col(loom):
    pq.write_table(parquet_source(), "d.parquet")
    result = loom("run", "--sync", "-f", "d.parquet", "-p", "echo", "-m", "upper")
    assert result.code == 2
    assert "Parquet input needs --col to name the prompt column (columns: text, n, tags)" in result.err


# Runs the CLI in a process where `import pyarrow` fails as if it were not installed.
WITHOUT_PYARROW = (
    "import sys; sys.modules['pyarrow'] = None; "
    "from loom_adapters.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def test_missing_pyarrow_is_one_clear_line(home, tmp_path):
    Path("d.parquet").write_bytes(b"PAR1 not really")  # never opened: the import fails first
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    done = subprocess.run([sys.executable, "-c", WITHOUT_PYARROW, "run", "--sync", "-f",
                           "d.parquet", "-c", "text", "-p", "echo", "-m", "upper"],
                          capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ('Error: Parquet files need pyarrow, which is not installed: '
                                   'pip install "loom-batch[parquet]"')
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["d.parquet"]


def test_help_does_not_import_pyarrow():
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    script = Path(sys.executable).with_name("loom")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env,
                          check=True, timeout=60)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "pyarrow" not in imported
