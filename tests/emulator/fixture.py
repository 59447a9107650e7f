"""pytest fixtures: one emulator thread per test process, reset before every test.

Use: `from tests.emulator.fixture import emulator  # noqa: F401`; the test gets an
`EmulatorClient`, and the four *_BASE_URL variables point at the emulator. The
server is started on first use and shared, so importing `emulator` alone suffices.
"""

from __future__ import annotations

import atexit
from typing import Optional

import pytest

from .client import EmulatorClient
from .server import EmulatorServer

_server: Optional[EmulatorServer] = None


def shared_server() -> EmulatorServer:
    global _server
    if _server is None:
        _server = EmulatorServer()
        _server.start()
        atexit.register(_server.stop)
    return _server


@pytest.fixture(scope="session")
def emulator_server() -> EmulatorServer:
    return shared_server()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> EmulatorClient:
    client = EmulatorClient(shared_server().url)
    client.reset()
    for name, value in client.env().items():
        monkeypatch.setenv(name, value)
    return client
