"""pytest fixtures: one emulator thread per test session, reset before every test.

Use: `from tests.emulator.fixture import emulator  # noqa: F401`; the test gets an
`EmulatorClient`, and the four *_BASE_URL variables point at the emulator.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .client import EmulatorClient
from .server import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorClient:
    client = EmulatorClient(emulator_server.url)
    client.reset()
    for name, value in client.env().items():
        monkeypatch.setenv(name, value)
    return client
