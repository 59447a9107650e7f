"""The bounded worker pool: never more than ``workers`` in flight, every item exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loom_core.pool import run_pool


class Work:
    """Records each item and the most calls ever in flight; item ``n`` yields ``n % 5`` times."""

    def __init__(self) -> None:
        self.seen: Counter[int] = Counter()
        self.in_flight = 0
        self.most = 0

    async def __call__(self, item: int) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        for _ in range(1 + item % 5):
            await asyncio.sleep(0)
        self.seen[item] += 1
        self.in_flight -= 1


@pytest.mark.parametrize(("items", "workers"), [(100, 8), (10, 3), (3, 8), (1, 1), (50, 1)])
def test_every_item_once_and_never_more_than_workers(items: int, workers: int) -> None:
    work = Work()
    asyncio.run(run_pool(range(items), work, workers))
    assert work.seen == Counter(range(items))
    assert work.most == min(workers, items)


def test_an_empty_iterable_is_fine() -> None:
    work = Work()
    asyncio.run(run_pool([], work, 4))
    assert work.seen == Counter()


def test_zero_workers_still_runs_one() -> None:
    work = Work()
    asyncio.run(run_pool(range(5), work, 0))
    assert work.seen == Counter(range(5)) and work.most == 1


def test_a_generator_is_consumed_once() -> None:
    work = Work()
    asyncio.run(run_pool((i for i in range(20)), work, 4))
    assert work.seen == Counter(range(20))


def test_a_slow_item_does_not_hold_the_others_back() -> None:
    done: list[str] = []

    async def work(item: str) -> None:
        for _ in range(50 if item == "slow" else 1):
            await asyncio.sleep(0)
        done.append(item)

    asyncio.run(run_pool(["slow", "a", "b", "c", "d"], work, 2))
    assert done[-1] == "slow" and sorted(done[:-1]) == ["a", "b", "c", "d"]


def test_an_escaping_exception_stops_the_pool() -> None:
    async def work(item: int) -> None:
        await asyncio.sleep(0)
        if item == 3:
            raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        asyncio.run(run_pool(range(10), work, 2))
