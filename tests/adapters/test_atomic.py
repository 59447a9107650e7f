"""atomic_write: the destination is either the old content or the complete new content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loom_adapters.atomic import atomic_write, write_json_atomic


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target) as stream:
        stream.write("new")
        assert target.read_text() == "old"  # not visible until the block ends
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("existed", [False, True])
def test_exception_midway_leaves_no_partial_file(tmp_path: Path, existed: bool) -> None:
    target = tmp_path / "out.txt"
    if existed:
        target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as stream:
            stream.write("half")
            stream.flush()
            raise RuntimeError("boom")
    assert target.read_text() == "old" if existed else not target.exists()
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_also_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as stream:
            stream.write("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_newline_is_passed_through(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with atomic_write(target, newline="") as stream:
        stream.write("a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"


def test_json_helper_pretty_prints_unicode(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": "é", "b": [1]}, durable=False)
    assert target.read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": [\n    1\n  ]\n}\n'


def test_unserialisable_json_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
def test_new_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.txt"
        with atomic_write(target) as stream:
            stream.write("x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
