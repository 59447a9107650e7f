"""SqliteResponseCache: entries in cache.sqlite3, the released tool's <sha256>.json files still
hitting, batches, stats, prune and clear, and misses that never crash."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from loom_adapters.cache import DATABASE_NAME, SqliteResponseCache
from loom_adapters.paths import LoomPaths
from loom_core.cache_key import cache_key
from loom_core.errors import StateError
from loom_core.model import CacheEntry

ENTRY = CacheEntry(provider="openai", model="gpt-4o-mini", response="Hi! ¿Qué tal? 🙂",
                   created_at="2026-05-01T12:00:00+00:00")


@pytest.fixture
def cache(tmp_path: Path) -> SqliteResponseCache:
    return SqliteResponseCache(tmp_path / "cache")


def released_file(folder: Path, key: str, body: object) -> Path:
    """A cache entry as loom-batch 0.7.0 writes it: ``<sha256>.json``, compact JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))
    return path


def rows_in_database(folder: Path) -> int:
    with sqlite3.connect(folder / DATABASE_NAME) as connection:
        return connection.execute("SELECT count(*) FROM entries").fetchone()[0]


def key_of(i: int) -> str:
    return hashlib.sha256(f"prompt {i}".encode()).hexdigest()


# --- hits and misses ---------------------------------------------------------------------------


def test_put_then_get(cache: SqliteResponseCache) -> None:
    key = cache_key("openai", "gpt-4o-mini", "Hello")
    cache.put(key, ENTRY)  # creates the folder on demand
    assert cache.get(key) == ENTRY
    assert sorted(p.name for p in cache.directory.iterdir() if p.suffix == ".sqlite3") == [
        DATABASE_NAME]
    assert not list(cache.directory.glob("*.json"))  # new entries are not files of their own


def test_put_keeps_optional_fields(cache: SqliteResponseCache) -> None:
    entry = CacheEntry("anthropic", "m", "r", "t", params={"temperature": 0.5, "stop": ["é"]},
                       finish_reason="length", input_tokens=3, output_tokens=9)
    cache.put("a" * 64, entry)
    assert cache.get("a" * 64) == entry


def test_missing_entry_is_none_and_creates_nothing(cache: SqliteResponseCache) -> None:
    assert cache.get("0" * 64) is None
    assert cache.get_many(["0" * 64, "1" * 64]) == {}
    assert not cache.directory.exists()


def test_overwrite(cache: SqliteResponseCache) -> None:
    cache.put("d" * 64, ENTRY)
    cache.put("d" * 64, CacheEntry("openai", "gpt-4o-mini", "second", "t"))
    assert cache.get("d" * 64).response == "second"
    assert rows_in_database(cache.directory) == 1


def test_uppercase_key_is_the_same_entry(cache: SqliteResponseCache) -> None:
    cache.put("e" * 64, ENTRY)
    assert cache.get("E" * 64) == ENTRY


@pytest.mark.parametrize(
    "key",
    ["", "abc", "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, "a" * 60 + ".json",
     "a" * 63 + "/", "aa " * 21 + "a", None, 42],
)
def test_only_sha256_hex_is_a_key(cache: SqliteResponseCache, key: object) -> None:
    for call in (lambda: cache.get(key), lambda: cache.put(key, ENTRY),  # type: ignore[arg-type]
                 lambda: cache.get_many(["a" * 64, key])):  # type: ignore[list-item]
        with pytest.raises(ValueError):
            call()


def test_keys_sharing_their_first_8_bytes_are_different_entries(
        cache: SqliteResponseCache) -> None:
    # The index holds the first 8 bytes of a key; the full key decides the hit.
    first, second = "ab" * 8 + "0" * 48, "ab" * 8 + "1" * 48
    cache.put(first, ENTRY)
    assert cache.get(second) is None
    cache.put(second, CacheEntry("p", "m", "second", "t"))
    assert cache.get(second).response == "second"
    assert cache.get(first) is None  # one of the two gives way: a miss, never a wrong answer


def test_a_file_that_is_not_a_database_is_a_miss_and_clear_starts_afresh(
        cache: SqliteResponseCache) -> None:
    cache.directory.mkdir()
    (cache.directory / DATABASE_NAME).write_bytes(b"this is not SQLite" * 100)
    assert cache.get("a" * 64) is None
    with pytest.raises(StateError, match="Cannot write to the response cache"):
        cache.put("a" * 64, ENTRY)
    assert cache.clear() == 0
    cache.put("a" * 64, ENTRY)
    assert cache.get("a" * 64) == ENTRY


def test_a_database_of_a_newer_loom_is_left_alone_until_cleared(
        cache: SqliteResponseCache) -> None:
    cache.put("a" * 64, ENTRY)
    with sqlite3.connect(cache.path) as connection:
        connection.execute("PRAGMA user_version=99")
    fresh = SqliteResponseCache(cache.directory)  # a new process
    assert fresh.get("a" * 64) is None
    with pytest.raises(StateError, match="newer Loom"):
        fresh.put("b" * 64, ENTRY)
    fresh.clear()
    fresh.put("b" * 64, ENTRY)
    assert fresh.get("b" * 64) == ENTRY


# --- the released tool's files -----------------------------------------------------------------


def test_released_tool_entry_is_found_and_moves_into_the_database(
        cache: SqliteResponseCache) -> None:
    # Key computed independently of loom_core, the way loom-batch does it.
    key = hashlib.sha256("openai\x00gpt-4o-mini\x00Hello".encode("utf-8")).hexdigest()
    assert key == cache_key("openai", "gpt-4o-mini", "Hello")
    path = released_file(cache.directory, key, {
        "provider": "openai", "model": "gpt-4o-mini", "response": "Hello there!",
        "created_at": "2025-10-01T09:00:00+00:00"})
    expected = CacheEntry("openai", "gpt-4o-mini", "Hello there!", "2025-10-01T09:00:00+00:00")
    assert cache.get(key) == expected
    assert not path.exists() and rows_in_database(cache.directory) == 1
    assert SqliteResponseCache(cache.directory).get(key) == expected  # and it stays a hit


def test_released_tool_entry_with_settings_keeps_them(cache: SqliteResponseCache) -> None:
    released_file(cache.directory, "c" * 64, {
        "provider": "openai", "model": "m", "response": "r", "created_at": "t",
        "params": {"temperature": 0.2}})
    assert cache.get_many(["c" * 64])["c" * 64].params == {"temperature": 0.2}


def test_get_many_mixes_database_and_released_files(cache: SqliteResponseCache) -> None:
    cache.put(key_of(1), ENTRY)
    released_file(cache.directory, key_of(2), {"provider": "p", "model": "m",
                                                "response": "old", "created_at": "t"})
    reader = SqliteResponseCache(cache.directory)  # looks for old files when it starts
    found = reader.get_many([key_of(1), key_of(2), key_of(3), key_of(1)])
    assert found == {key_of(1): ENTRY, key_of(2): CacheEntry("p", "m", "old", "t")}


@pytest.mark.parametrize(
    "body",
    ["", "{", "\udcff", "[]", '{"provider": "openai"}', '{"response": 5}', "[" * 100_000],
    ids=["empty", "truncated", "binary", "list", "no-response", "bad-response", "deep"],
)
def test_corrupt_released_file_is_a_miss_and_stays(cache: SqliteResponseCache,
                                                    body: str) -> None:
    path = cache.directory / ("b" * 64 + ".json")
    cache.directory.mkdir()
    path.write_bytes(body.encode("utf-8", "surrogateescape"))
    assert cache.get("b" * 64) is None
    assert path.exists()


def test_unreadable_released_entry_is_a_miss(cache: SqliteResponseCache) -> None:
    (cache.directory / ("c" * 64 + ".json")).mkdir(parents=True)  # a folder, not a file
    assert cache.get("c" * 64) is None


# --- batches -----------------------------------------------------------------------------------


def test_put_many_then_get_many_in_chunks(cache: SqliteResponseCache) -> None:
    entries = {key_of(i): CacheEntry("openai", "m", f"answer {i}", ENTRY.created_at)
               for i in range(1234)}
    assert cache.put_many(entries.items()) == 1234
    assert cache.put_many([]) == 0
    wanted = [key_of(i) for i in range(1300)]  # more keys than one SELECT takes
    assert cache.get_many(wanted) == entries


def test_put_many_is_one_transaction(cache: SqliteResponseCache) -> None:
    cache.put("1" * 64, ENTRY)
    bad = CacheEntry("p", "m", None, "t")  # type: ignore[arg-type]  # NOT NULL response
    with pytest.raises(StateError):
        cache.put_many([("2" * 64, ENTRY), ("3" * 64, bad)])
    assert cache.get_many(["2" * 64, "3" * 64]) == {}
    assert cache.get("1" * 64) == ENTRY


# --- stats, prune, clear -----------------------------------------------------------------------


def test_stats_count_by_provider_and_model_and_the_released_files(
        cache: SqliteResponseCache) -> None:
    assert cache.stats().entries == 0 and cache.stats().bytes_on_disk == 0
    cache.put_many([(key_of(i), CacheEntry("openai", "gpt-4o-mini", "x", ENTRY.created_at))
                    for i in range(3)])
    cache.put(key_of(3), CacheEntry("anthropic", "claude", "x", ENTRY.created_at))
    released_file(cache.directory, key_of(4), {"provider": "google", "model": "g",
                                                "response": "x", "created_at": "t"})
    stats = cache.stats()
    assert stats.entries == 5 and stats.legacy_files == 1
    assert stats.by_model == {("openai", "gpt-4o-mini"): 3, ("anthropic", "claude"): 1}
    assert list(stats.by_model) == [("openai", "gpt-4o-mini"), ("anthropic", "claude")]
    assert stats.bytes_on_disk >= os.path.getsize(cache.path)


def test_prune_deletes_what_was_created_before(cache: SqliteResponseCache) -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    ages = {key_of(i): days for i, days in enumerate([0, 5, 40, 400])}
    cache.put_many([(key, CacheEntry("p", "m", "x", (now - timedelta(days=days)).isoformat()))
                    for key, days in ages.items()])
    old_file = released_file(cache.directory, key_of(10), {"provider": "p", "model": "m",
                                                           "response": "x", "created_at": "t"})
    new_file = released_file(cache.directory, key_of(11), {"provider": "p", "model": "m",
                                                           "response": "x", "created_at": "t"})
    os.utime(old_file, (now.timestamp() - 90 * 86400,) * 2)
    os.utime(new_file, (now.timestamp() - 86400,) * 2)

    assert cache.prune(now - timedelta(days=30)) == 3  # 40 and 400 days, and the old file
    assert sorted(cache.get_many(list(ages))) == sorted([key_of(0), key_of(1)])
    assert not old_file.exists() and new_file.exists()
    assert cache.prune(now - timedelta(days=30)) == 0


def test_clear_counts_entries_and_released_files(cache: SqliteResponseCache) -> None:
    assert cache.clear() == 0  # no folder
    assert not cache.directory.exists()
    cache.put_many([(ch * 64, ENTRY) for ch in "0123"])
    released_file(cache.directory, "4" * 64, {"response": "old"})
    (cache.directory / ".x.json.123abc.tmp").write_text("stale temp of the old writer")
    (cache.directory / "keep.txt").write_text("not an entry")
    assert cache.clear() == 5
    assert sorted(p.name for p in cache.directory.iterdir()
                  if not p.name.startswith(DATABASE_NAME)) == ["keep.txt"]
    assert cache.get_many([ch * 64 for ch in "01234"]) == {}
    assert cache.clear() == 0
    assert cache.stats().entries == 0


def test_clear_gives_the_space_back(cache: SqliteResponseCache) -> None:
    cache.put_many([(key_of(i), CacheEntry("p", "m", "x" * 500, "t")) for i in range(4000)])
    before = cache.stats().bytes_on_disk
    cache.clear()
    assert cache.stats().bytes_on_disk < before / 10


# --- the folder --------------------------------------------------------------------------------


def test_folder_deleted_mid_run_is_made_again(cache: SqliteResponseCache) -> None:
    cache.put("1" * 64, ENTRY)
    for path in cache.directory.iterdir():
        path.unlink()
    cache.directory.rmdir()
    assert cache.get("1" * 64) is None  # no error, and nothing created by a read
    assert not cache.directory.exists()
    cache.put("2" * 64, ENTRY)
    assert cache.get("2" * 64) == ENTRY
    assert SqliteResponseCache(cache.directory).get("2" * 64) == ENTRY  # on disk, not a ghost


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_CACHE_DIR", str(tmp_path / "elsewhere"))
    cache = SqliteResponseCache(LoomPaths.from_env().cache)
    cache.put("f" * 64, ENTRY)
    assert (tmp_path / "elsewhere" / DATABASE_NAME).is_file()


def test_every_thread_has_its_own_connection(cache: SqliteResponseCache) -> None:
    import threading

    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for i in range(start, start + 200, 20):
                cache.put_many([(key_of(j), ENTRY) for j in range(i, i + 20)])
                cache.get_many([key_of(j) for j in range(i, i + 20)])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n * 200,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache.get_many([key_of(i) for i in range(800)])) == 800


def test_satisfies_the_port(cache: SqliteResponseCache) -> None:
    from loom_core.ports import ResponseCache

    assert isinstance(cache, ResponseCache)


def test_timestamps_that_do_not_parse_count_as_now(cache: SqliteResponseCache) -> None:
    cache.put("1" * 64, CacheEntry("p", "m", "x", "not a time"))
    assert cache.prune(datetime.now(timezone.utc) - timedelta(seconds=60)) == 0
    time.sleep(0.01)
    assert cache.prune(datetime.now(timezone.utc) + timedelta(seconds=60)) == 1
