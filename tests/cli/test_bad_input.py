"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CASES = {
    "missing file": (None, ["-f", "absent.json"], "absent.json"),
    "unknown extension": ("p.txt", ["-f", "p.txt"], "Unsupported file type"),
    "malformed json": ("p.json", ["-f", "p.json"], "not valid JSON"),
    "not a list": ("p.json", ["-f", "p.json"], "list"),
    "item without id": ("p.json", ["-f", "p.json"], "id"),
    "item without prompt": ("p.json", ["-f", "p.json"], "prompt"),
    "duplicate ids": ("p.json", ["-f", "p.json"], "repeats id 1"),
    "csv without --col": ("d.csv", ["-f", "d.csv"], "--col"),
    "csv unknown column": ("d.csv", ["-f", "d.csv", "-c", "nope"], "nope"),
    "empty json dataset": ("p.json", ["-f", "p.json"], "empty"),
    "empty csv dataset": ("d.csv", ["-f", "d.csv", "-c", "q"], "empty"),
    "corrupt gzip": ("p.json.gz", ["-f", "p.json.gz"], "gzip"),
    "undecodable bytes": ("d.csv", ["-f", "d.csv", "-c", "q"], "UTF-8"),
    "unknown provider": ("ok.json", ["-f", "ok.json", "-p", "nope"],
                         "Unknown provider 'nope'. Installed providers: echo, keyed, tiny."),
    "missing key": ("ok.json", ["-f", "ok.json", "-p", "keyed", "--sync"], "KEYED_API_KEY"),
}

CONTENTS = {
    "malformed json": b'[{"id": 1, "prompt": "x"',
    "not a list": b'{"id": 1, "prompt": "x"}',
    "item without id": b'[{"prompt": "x"}]',
    "item without prompt": b'[{"id": 1}]',
    "duplicate ids": b'[{"id": 1, "prompt": "x"}, {"id": 1, "prompt": "y"}]',
    "csv without --col": b"q\nhello\n",
    "csv unknown column": b"q\nhello\n",
    "empty json dataset": b"[]",
    "empty csv dataset": b"q\n",
    "corrupt gzip": b"\x1f\x8b\x08\x00garbage-not-deflate",
    "undecodable bytes": b"q\n\xff\xfe\xfa bad\n",
    "unknown extension": b"hello",
    "unknown provider": json.dumps([{"id": 1, "prompt": "x"}]).encode(),
    "missing key": json.dumps([{"id": 1, "prompt": "x"}]).encode(),
}


@pytest.mark.parametrize("mode", [["--sync"], []], ids=["sync", "batch"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_writes_nothing(case, mode, loom_process, home):
    name, args, expected = CASES[case]
    if name is not None:
        Path(name).write_bytes(CONTENTS[case])
    before = sorted(p.name for p in Path.cwd().iterdir())
    if "-p" not in args:
        args = [*args, "-p", "echo"]
    result = loom_process("run", *mode, *args, "-m", "echo")
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error") and expected in lines[0], lines[0]
    assert sorted(p.name for p in Path.cwd().iterdir()) == before
    assert not (home / "batches").exists() or not list((home / "batches").iterdir())


def test_tokens_reports_bad_input_the_same_way(loom_process):
    Path("p.json").write_text("[]")
    result = loom_process("tokens", "-f", "p.json", "-p", "echo", "-m", "echo")
    assert result.code == 2 and "empty" in result.err and "Traceback" not in result.err


def test_missing_key_names_the_variable(loom_process):
    Path("p.json").write_text(json.dumps([{"id": 1, "prompt": "x"}]))
    result = loom_process("run", "--sync", "-f", "p.json", "-p", "keyed", "-m", "m")
    assert result.code == 2
    assert result.err.strip() == (
        "Error: No API key for keyed: pass --api-key, set the KEYED_API_KEY environment "
        "variable, or put KEYED_API_KEY=... in a .env file in this directory."
    )
