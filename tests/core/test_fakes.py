"""The fakes keep the ports' shapes, so the core's tests say something about real adapters."""

from __future__ import annotations

import inspect

import pytest

from loom_core import ports
from loom_core.model import BatchStatus, Completion

from . import fakes

FAKES = [
    (fakes.MemoryCodec, ports.FileCodec),
    (fakes.InMemoryStateStore, ports.StateStore),
    (fakes.InMemoryCache, ports.ResponseCache),
    (fakes.FakeSyncProvider, ports.SyncProvider),
    (fakes.FakeTokenCounter, ports.TokenCounter),
    (fakes.FakeBatchProvider, ports.BatchProvider),
    (fakes.AlwaysGuard, ports.OutputGuard),
    (fakes.NeverGuard, ports.OutputGuard),
    (fakes.RecordingProgress, ports.Progress),
]


@pytest.mark.parametrize(("fake", "port"), FAKES)
def test_each_fake_implements_every_method_of_its_port(fake: type, port: type) -> None:
    assert port in fake.__mro__  # subclassed, not just shaped alike
    for name, stub in vars(port).items():
        if name.startswith("_") or not inspect.isfunction(stub):
            continue
        implementation = getattr(fake, name)
        assert implementation is not stub, f"{fake.__name__} leaves {name} to the protocol stub"
        assert inspect.signature(implementation).parameters.keys() == (
            inspect.signature(stub).parameters.keys()), name
        assert inspect.iscoroutinefunction(implementation) == inspect.iscoroutinefunction(stub)


def test_the_codec_fake_has_the_ports_attributes() -> None:
    assert fakes.MemoryCodec.file_type == "mem" and fakes.MemoryCodec.output_suffix == ".mem"


def test_the_batch_fake_plays_its_status_script_and_shuffles() -> None:
    provider = fakes.FakeBatchProvider()
    provider.script("b", BatchStatus.VALIDATING, BatchStatus.COMPLETED)
    assert [provider.status("b") for _ in range(3)] == [
        BatchStatus.VALIDATING, BatchStatus.COMPLETED, BatchStatus.COMPLETED]
    provider.results_for["b"] = {f"row-{i}": Completion(str(i)) for i in range(10)}
    assert [custom_id for custom_id, _ in provider.results("b")] != [
        f"row-{i}" for i in range(10)]
