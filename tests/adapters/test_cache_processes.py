"""The response cache shared by real processes: two writers at once lose nothing, and a writer
killed mid-write (SIGKILL) leaves a readable database with every entry it committed."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loom_adapters.cache import DATABASE_NAME, SqliteResponseCache

#: A child that writes ``batches`` batches of ``size`` entries, keys ``<name>-<batch>-<i>``,
#: printing each batch's number once it is committed.
WRITER = textwrap.dedent("""
    import hashlib, sys
    from loom_adapters.cache import SqliteResponseCache
    from loom_core.model import CacheEntry

    folder, name, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cache = SqliteResponseCache(folder)
    for batch in range(batches):
        items = []
        for i in range(size):
            key = hashlib.sha256(f"{name}-{batch}-{i}".encode()).hexdigest()
            items.append((key, CacheEntry("p", name, f"{name} {batch} {i} " + "x" * 200, "t")))
        cache.put_many(items)
        # Every other batch also reads, as a sync run's look-ups do beside a merge's writes.
        if batch % 2:
            assert len(cache.get_many([key for key, _ in items])) == size
        print(batch, flush=True)
""")


def key(name: str, batch: int, i: int) -> str:
    return hashlib.sha256(f"{name}-{batch}-{i}".encode()).hexdigest()


def writer(folder: Path, name: str, batches: int, size: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(folder), name, str(batches),
                             str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_processes_writing_at_once_lose_no_entry(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    children = {name: writer(folder, name, 40, 100) for name in ("sync-run", "fetch")}
    for name, child in children.items():
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        assert out.split() == [str(b) for b in range(40)]
    cache = SqliteResponseCache(folder)
    for name in children:
        keys = [key(name, b, i) for b in range(40) for i in range(100)]
        found = cache.get_many(keys)
        assert len(found) == 4000
        assert found[key(name, 39, 99)].response.startswith(f"{name} 39 99 ")
    assert cache.stats().by_model == {("p", "fetch"): 4000, ("p", "sync-run"): 4000}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_mid_write_leaves_every_committed_entry(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    child = writer(folder, "killed", 100_000, 500)  # would run for hours
    committed = -1
    assert child.stdout is not None
    while committed < 30:
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "the writer ended"
        committed = int(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    child.stdout.close()
    child.stderr.close()

    with sqlite3.connect(folder / DATABASE_NAME) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    cache = SqliteResponseCache(folder)
    for batch in range(committed + 1):
        assert len(cache.get_many([key("killed", batch, i) for i in range(500)])) == 500
    # The batch in flight when the signal came is there whole or not at all.
    in_flight = len(cache.get_many([key("killed", committed + 1, i) for i in range(500)]))
    assert in_flight in (0, 500)
    # And the database takes new entries.
    cache.put_many([(key("after", 0, i), cache.get(key("killed", 0, i))) for i in range(10)])
    assert len(cache.get_many([key("after", 0, i) for i in range(10)])) == 10
