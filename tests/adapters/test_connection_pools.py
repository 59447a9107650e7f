"""Connection pools: small pools that together hold the run's concurrency, used in turn."""

from __future__ import annotations

import pytest

from loom_adapters.providers.connection_pools import (
    CONNECTIONS_PER_POOL,
    Pools,
    pool_sizes,
    shared_tls_context,
)


@pytest.mark.parametrize("concurrency", [1, 8, 16, 17, 64, 100, 512])
def test_pools_hold_the_concurrency_in_pools_no_larger_than_the_cap(concurrency: int) -> None:
    sizes = pool_sizes(concurrency)
    assert sum(sizes) >= concurrency
    assert max(sizes) <= CONNECTIONS_PER_POOL
    assert sum(sizes) - concurrency < len(sizes)  # rounding spread evenly, not a spare pool


def test_clients_are_handed_out_in_turn_and_share_one_tls_context() -> None:
    pools = Pools.sized(40, lambda size: {"size": size})
    assert len(pools.clients) == 3
    assert [pools.next() for _ in range(4)] == [*pools.clients, pools.clients[0]]
    assert shared_tls_context() is shared_tls_context()
