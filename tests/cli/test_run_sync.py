"""``loom run --sync`` end to end with the offline echo provider."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import cached_entries

NASTY_CSV = (
    'id,text,note,empty\r\n'
    '1,"Explain, with commas","He said ""hi""",\r\n'
    '2,"Line one\nline two",ünïcödé ✓,\r\n'
    '3,Write a haiku,"",\r\n'
)


def write_json(path: Path, items) -> Path:
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_json_rows_each_get_their_own_answer(loom):
    write_json(Path("prompts.json"), [
        {"id": "task-001", "prompt": "Summarize Hamlet", "extra": {"keep": [1, 2]}},
        {"id": 7, "prompt": "Translate good morning"},
    ])
    result = loom("run", "--sync", "-f", "prompts.json", "-p", "echo", "-m", "upper")
    assert result.code == 0, result.err
    assert "Done. 2 rows -> prompts_results_echo_upper.json" in result.out
    output = json.loads(Path("prompts_results_echo_upper.json").read_text())
    assert output == [
        {"id": "task-001", "prompt": "Summarize Hamlet", "extra": {"keep": [1, 2]},
         "llm_response": "SUMMARIZE HAMLET"},
        {"id": 7, "prompt": "Translate good morning", "llm_response": "TRANSLATE GOOD MORNING"},
    ]


def test_csv_keeps_every_column_value_quote_and_row(loom):
    Path("data.csv").write_text(NASTY_CSV, encoding="utf-8", newline="")
    result = loom("run", "--sync", "-f", "data.csv", "-c", "text", "-p", "echo", "-m", "reverse")
    assert result.code == 0, result.err
    original = read_csv(Path("data.csv"))
    merged = read_csv(Path("data_results_echo_reverse.csv"))
    assert merged[0] == original[0] + ["llm_response"]
    for before, after in zip(original[1:], merged[1:]):
        assert after[:-1] == before
        assert after[-1] == before[1][::-1]
    assert len(merged) == len(original)


def test_gzip_inputs_are_read_and_outputs_are_plain(loom):
    with gzip.open("data.csv.gz", "wt", encoding="utf-8", newline="") as stream:
        stream.write(NASTY_CSV)
    with gzip.open("items.json.gz", "wt", encoding="utf-8") as stream:
        json.dump([{"id": "a", "prompt": "hi there"}], stream)
    assert loom("run", "--sync", "-f", "data.csv.gz", "-c", "text", "-p", "echo",
                "-m", "echo").code == 0
    assert loom("run", "--sync", "-f", "items.json.gz", "-p", "echo", "-m", "echo").code == 0
    assert read_csv(Path("data_results_echo_echo.csv"))[1][-1] == "Explain, with commas"
    assert json.loads(Path("items_results_echo_echo.json").read_text())[0]["llm_response"] == (
        "hi there"
    )


def test_unsafe_model_characters_become_underscores_and_output_overrides(loom):
    write_json(Path("p.json"), [{"id": 1, "prompt": "x"}])
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "openai/gpt-4o:mini").code == 0
    assert Path("p_results_echo_openai_gpt-4o_mini.json").exists()
    # A missing output folder is created.
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo",
                "--output", "out/custom.json").code == 0
    assert json.loads(Path("out/custom.json").read_text())[0]["llm_response"] == "x"


def test_with_meta_adds_provider_and_model(loom):
    write_json(Path("p.json"), [{"id": 1, "prompt": "x"}])
    Path("d.csv").write_text("q\nhello\n")
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--with-meta").code == 0
    assert loom("run", "--sync", "-f", "d.csv", "-c", "q", "-p", "echo", "-m", "echo",
                "--with-meta").code == 0
    item = json.loads(Path("p_results_echo_echo.json").read_text())[0]
    assert (item["llm_provider"], item["llm_model"]) == ("echo", "echo")
    assert read_csv(Path("d_results_echo_echo.csv")) == [
        ["q", "llm_response", "llm_provider", "llm_model", "llm_finish_reason",
         "llm_input_tokens", "llm_output_tokens"],
        ["hello", "hello", "echo", "echo", "", "1", "1"]]


def test_an_existing_output_is_never_replaced_silently(loom, monkeypatch):
    write_json(Path("p.json"), [{"id": 1, "prompt": "x"}])
    Path("p_results_echo_echo.json").write_text("precious")
    result = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert result.code == 1
    assert result.err.strip() == (
        "Error: Output file p_results_echo_echo.json already exists; pass --force to overwrite it."
    )
    assert Path("p_results_echo_echo.json").read_text() == "precious"

    # A person at a terminal is asked; "n" keeps the file, "y" replaces it.
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo").code == 1
    assert Path("p_results_echo_echo.json").read_text() == "precious"
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo").code == 0
    assert json.loads(Path("p_results_echo_echo.json").read_text())[0]["llm_response"] == "x"

    Path("p_results_echo_echo.json").write_text("precious")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--force").code == 0
    assert json.loads(Path("p_results_echo_echo.json").read_text())[0]["llm_response"] == "x"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_second_run_is_served_from_the_cache_and_no_cache_bypasses_it(loom, home):
    write_json(Path("p.json"), [{"id": 1, "prompt": "a"}, {"id": 2, "prompt": "b"},
                                {"id": 3, "prompt": "a"}])
    first = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert "cache hits=0, provider calls=2" in first.out  # "a" twice is asked once
    assert len(cached_entries(home / "cache")) == 2
    second = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--force")
    assert "cache hits=3, provider calls=0" in second.out
    third = loom("run", "--sync", "-f", "p.json", "-p", "echo", "-m", "echo", "--force",
                 "--no-cache")
    assert "cache hits=0, provider calls=2" in third.out


def test_failed_rows_get_llm_error_and_a_non_zero_exit(loom, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "k-123")
    write_json(Path("p.json"), [{"id": 1, "prompt": "fine"}, {"id": 2, "prompt": "FAIL me"}])
    result = loom("run", "--sync", "-f", "p.json", "-p", "keyed", "-m", "m")
    assert result.code == 1
    assert "errors=1" in result.out
    rows = json.loads(Path("p_results_keyed_m.json").read_text())
    assert rows[0]["llm_response"] == "fine (keyed)" and rows[0]["llm_error"] is None
    assert rows[1]["llm_response"] is None
    assert rows[1]["llm_error"] == "refused prompt: FAIL me"


@pytest.mark.parametrize("flag", ["--sync", "--batch"])
def test_the_key_never_reaches_any_file(loom, home, flag, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "sk-secret-value")
    write_json(Path("p.json"), [{"id": 1, "prompt": "FAIL"}, {"id": 2, "prompt": "ok"}])
    result = loom("run", flag, "-f", "p.json", "-p", "keyed", "-m", "m")
    assert "sk-secret-value" not in result.out + result.err
    for path in [*home.rglob("*"), *Path.cwd().rglob("*")]:
        if path.is_file():
            assert b"sk-secret-value" not in path.read_bytes(), path


def test_a_re_run_the_cache_answers_whole_never_imports_the_provider_sdk(home, monkeypatch):
    # Seeded as any earlier run would have left it; the server's port is closed, so a call
    # would fail the row.
    from loom_adapters.cache import SqliteResponseCache
    from loom_core.cache_key import cache_key
    from loom_core.model import CacheEntry

    from tests.support import closed_port

    SqliteResponseCache(home / "cache").put_many(
        (cache_key("openai", "gpt-4o-mini", f"p{i}"),
         CacheEntry("openai", "gpt-4o-mini", f"cached {i}", "2026-05-01T12:00:00+00:00"))
        for i in range(3))
    write_json(Path("p.json"), [{"id": i, "prompt": f"p{i}"} for i in range(3)])
    script = ("import sys\nfrom loom_adapters.cli.main import main\n"
              "code = main(['run', '--sync', '-f', 'p.json', '-p', 'openai', '-m', 'gpt-4o-mini'])\n"
              "print('imported openai:', 'openai' in sys.modules)\nsys.exit(code)\n")
    env = dict(os.environ, LOOM_PLUGINS="openai", OPENAI_API_KEY="sk-test",
               OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "cache hits=3, provider calls=0" in done.stdout
    assert "imported openai: False" in done.stdout
    rows = json.loads(Path("p_results_openai_gpt-4o-mini.json").read_text())
    assert [r["llm_response"] for r in rows] == ["cached 0", "cached 1", "cached 2"]
    # Without a key the run is refused before anything, as before.
    del env["OPENAI_API_KEY"]
    refused = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode == 2 and "OPENAI_API_KEY" in refused.stderr
