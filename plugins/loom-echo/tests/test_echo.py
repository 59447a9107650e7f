"""The echo plugin on its own: its adapters, and its registration through the entry point."""

from __future__ import annotations

import asyncio
import importlib.metadata

import pytest

from loom.plugin import (
    BatchRequest,
    BatchStatus,
    GenerationSettings,
    PermanentError,
    ProviderConfig,
)
from loom_echo import loom_register_providers
from loom_echo.adapters import EchoBatch, EchoSync, EchoTokens, answer, count_words


def test_models_transform_the_prompt() -> None:
    assert answer("echo", "Hello there") == "Hello there"
    assert answer("any/model-name", "Hello") == "Hello"
    assert answer("upper", "Hello") == "HELLO"
    assert answer("reverse", "abc") == "cba"


def test_sync_answers_with_usage() -> None:
    completion = asyncio.run(EchoSync().generate("upper", "two words", GenerationSettings()))
    assert (completion.text, completion.input_tokens, completion.output_tokens) == (
        "TWO WORDS", 2, 2)


def test_tokens_count_words_including_the_system_prompt() -> None:
    counter = EchoTokens()
    assert asyncio.run(counter.count("echo", "one two three", GenerationSettings())) == 3
    assert asyncio.run(counter.count("echo", "one", GenerationSettings(system="be kind"))) == 3
    assert count_words("  spaced   out ") == 2


def test_batch_round_trip_is_complete_at_once(tmp_path) -> None:
    batch = EchoBatch(tmp_path)
    requests = [BatchRequest("row-0", "first"), BatchRequest("row-1", "second")]
    batch_id = batch.submit("reverse", requests, GenerationSettings(), {})
    assert batch.status(batch_id) is BatchStatus.COMPLETED
    assert dict((cid, c.text) for cid, c in batch.results(batch_id)) == {
        "row-0": "tsrif", "row-1": "dnoces"}
    batch.cancel(batch_id)  # nothing left to stop, and no error


@pytest.mark.parametrize("bad_id", ["echo-missing", "../etc/passwd", "batch_1"])
def test_unknown_or_hostile_batch_ids_are_refused(tmp_path, bad_id) -> None:
    with pytest.raises(PermanentError):
        EchoBatch(tmp_path).status(bad_id)


def test_batches_live_in_the_data_folder_loom_gives(tmp_path) -> None:
    specs = []
    loom_register_providers(specs.append)
    batch = specs[0].build("batch", ProviderConfig(data_dir=str(tmp_path)))
    assert batch.folder == tmp_path / "echo"


def test_registers_one_provider_with_every_mode_and_no_key() -> None:
    specs = []
    loom_register_providers(specs.append)
    (spec,) = specs
    assert spec.name == "echo" and spec.key_env_var is None
    assert spec.modes == ("batch", "sync", "tokens")
    assert isinstance(spec.build("sync", ProviderConfig()), EchoSync)


def test_the_entry_point_is_installed() -> None:
    points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="loom")}
    assert points.get("echo") == "loom_echo"
