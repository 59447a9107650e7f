"""Sizing the HTTP connection pools of the async SDK clients, shared by every provider.

Every client gets one connection per call the run keeps in flight (``limits``), and all of
them share one TLS context (building one loads the CA bundle, about 35 ms, which for 32
clients was over a second of start-up).

The openai and anthropic clients run on the SDKs' aiohttp transport, one client each. The
google-genai client runs on httpx2 (see its ``client`` module), and httpcore, under httpx2,
looks at every connection of a pool for every request, so its CPU per call grows with the
pool. Measured against the emulator with the openai client on httpx2: 512 calls in flight
cost 5.2 ms per call through one pool and 2.6 ms through pools of 64; at 64 in flight, pools
of 16 cost 15 % less than one pool of 64. So an httpx2 run with many workers gets several
small clients (``Pools``) and spreads its calls over them.
"""

from __future__ import annotations

import functools
import itertools
import ssl
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import httpx2

__all__ = ["CONNECTIONS_PER_POOL", "Pools", "limits", "pool_sizes", "shared_tls_context"]

CONNECTIONS_PER_POOL = 16

T = TypeVar("T")


def pool_sizes(concurrency: int) -> list[int]:
    """How many connections each pool gets so that together they hold ``concurrency``."""
    concurrency = max(1, concurrency)
    count = -(-concurrency // CONNECTIONS_PER_POOL)
    size = -(-concurrency // count)
    return [size] * count


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    return httpx2.create_ssl_context()


def limits(size: int) -> httpx2.Limits:
    return httpx2.Limits(max_connections=size, max_keepalive_connections=size)


class Pools(Generic[T]):
    """Clients handed out in turn, one per call."""

    def __init__(self, clients: list[T]) -> None:
        self.clients = clients
        self._turn: Iterator[T] = itertools.cycle(clients)

    @classmethod
    def sized(cls, concurrency: int, build: Callable[[int], T]) -> Pools[T]:
        """Clients for ``concurrency`` calls in flight, ``build(size)`` making each."""
        return cls([build(size) for size in pool_sizes(concurrency)])

    def next(self) -> T:
        return next(self._turn)
