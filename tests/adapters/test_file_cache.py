"""FileResponseCache: the released tool's cache/<sha256>.json entries, and misses that never crash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from loom_core.cache_key import cache_key
from loom_core.model import CacheEntry
from loom_adapters.cache import FileResponseCache
from loom_adapters.paths import LoomPaths

ENTRY = CacheEntry(provider="openai", model="gpt-4o-mini", response="Hi! ¿Qué tal? 🙂", created_at="2026-05-01T12:00:00+00:00")


@pytest.fixture
def cache(tmp_path: Path) -> FileResponseCache:
    return FileResponseCache(tmp_path / "cache")


def test_released_tool_entry_is_found(cache: FileResponseCache) -> None:
    # Key computed independently of loom_core, the way loom-batch does it (docs/compatibility.md).
    key = hashlib.sha256("openai\x00gpt-4o-mini\x00Hello".encode("utf-8")).hexdigest()
    assert key == cache_key("openai", "gpt-4o-mini", "Hello")
    cache.directory.mkdir()
    (cache.directory / f"{key}.json").write_text(json.dumps({
        "provider": "openai", "model": "gpt-4o-mini", "response": "Hello there!",
        "created_at": "2025-10-01T09:00:00+00:00",
    }))
    entry = cache.get(key)
    assert entry == CacheEntry("openai", "gpt-4o-mini", "Hello there!", "2025-10-01T09:00:00+00:00")


def test_put_then_get(cache: FileResponseCache) -> None:
    key = cache_key("openai", "gpt-4o-mini", "Hello")
    cache.put(key, ENTRY)  # creates the directory on demand
    assert cache.get(key) == ENTRY
    assert json.loads((cache.directory / f"{key}.json").read_text(encoding="utf-8")) == {
        "provider": "openai", "model": "gpt-4o-mini", "response": "Hi! ¿Qué tal? 🙂",
        "created_at": "2026-05-01T12:00:00+00:00",
    }
    assert [p.name for p in cache.directory.iterdir()] == [f"{key}.json"]


def test_put_keeps_optional_fields(cache: FileResponseCache) -> None:
    entry = CacheEntry("anthropic", "m", "r", "t", params={"temperature": 0.5}, finish_reason="length", input_tokens=3, output_tokens=9)
    key = "a" * 64
    cache.put(key, entry)
    assert cache.get(key) == entry


def test_missing_entry_is_none(cache: FileResponseCache) -> None:
    assert cache.get("0" * 64) is None  # not even the directory exists


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"\xff\xfe\x00", b"[]", b'{"provider": "openai"}', b'{"response": 5}', b"[" * 100_000],
    ids=["empty", "truncated", "binary", "list", "no-response", "bad-response", "deep"],
)
def test_corrupt_entry_is_a_miss(cache: FileResponseCache, body: bytes) -> None:
    cache.directory.mkdir()
    (cache.directory / ("b" * 64 + ".json")).write_bytes(body)
    assert cache.get("b" * 64) is None


def test_unreadable_entry_is_a_miss(cache: FileResponseCache) -> None:
    (cache.directory / ("c" * 64 + ".json")).mkdir(parents=True)  # a directory where a file should be
    assert cache.get("c" * 64) is None


def test_overwrite(cache: FileResponseCache) -> None:
    cache.put("d" * 64, ENTRY)
    cache.put("d" * 64, CacheEntry("openai", "gpt-4o-mini", "second", "t"))
    assert cache.get("d" * 64).response == "second"


@pytest.mark.parametrize(
    "key",
    ["", "abc", "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, "a" * 60 + ".json", "a" * 63 + "/", None, 42],
)
def test_only_sha256_hex_is_a_key(cache: FileResponseCache, key: object) -> None:
    for call in (lambda: cache.get(key), lambda: cache.put(key, ENTRY)):  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            call()


def test_uppercase_key_is_the_same_entry(cache: FileResponseCache) -> None:
    cache.put("e" * 64, ENTRY)
    assert cache.get("E" * 64) == ENTRY


def test_clear_counts_entries(cache: FileResponseCache) -> None:
    assert cache.clear() == 0  # no directory
    for ch in "0123":
        cache.put(ch * 64, ENTRY)
    (cache.directory / ".x.json.123abc.tmp").write_text("stale temp")
    (cache.directory / "keep.txt").write_text("not an entry")
    assert cache.clear() == 4
    assert [p.name for p in cache.directory.iterdir()] == ["keep.txt"]
    assert cache.get("0" * 64) is None
    assert cache.clear() == 0


def test_put_after_directory_removed(cache: FileResponseCache) -> None:
    cache.put("1" * 64, ENTRY)
    for path in cache.directory.iterdir():
        path.unlink()
    cache.directory.rmdir()
    cache.put("2" * 64, ENTRY)
    assert cache.get("2" * 64) == ENTRY


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_CACHE_DIR", str(tmp_path / "elsewhere"))
    cache = FileResponseCache(LoomPaths.from_env().cache)
    cache.put("f" * 64, ENTRY)
    assert (tmp_path / "elsewhere" / ("f" * 64 + ".json")).is_file()

