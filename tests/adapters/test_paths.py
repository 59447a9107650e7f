"""LoomPaths: ~/.loom by default, LOOM_HOME and LOOM_CACHE_DIR as the released tool reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom_adapters.paths import LoomPaths


def test_default_is_dot_loom_in_home(isolated_home: Path) -> None:
    paths = LoomPaths.from_env()
    assert paths.home == isolated_home / ".loom"
    assert paths.batches == isolated_home / ".loom" / "batches"
    assert paths.cache == isolated_home / ".loom" / "cache"


def test_loom_home_moves_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "elsewhere"))
    paths = LoomPaths.from_env()
    assert paths.batches == tmp_path / "elsewhere" / "batches"
    assert paths.cache == tmp_path / "elsewhere" / "cache"


def test_cache_dir_overrides_only_the_cache(tmp_path: Path) -> None:
    paths = LoomPaths.from_env({"LOOM_HOME": str(tmp_path / "h"), "LOOM_CACHE_DIR": str(tmp_path / "c")})
    assert paths.batches == tmp_path / "h" / "batches"
    assert paths.cache == tmp_path / "c"


def test_empty_values_count_as_unset(isolated_home: Path) -> None:
    paths = LoomPaths.from_env({"LOOM_HOME": "", "LOOM_CACHE_DIR": "  "})
    assert paths.home == isolated_home / ".loom"
    assert paths.cache == isolated_home / ".loom" / "cache"


def test_tilde_is_expanded(isolated_home: Path) -> None:
    assert LoomPaths.from_env({"LOOM_HOME": "~/x"}).home == isolated_home / "x"
