"""A bounded pool of asyncio workers: ``workers`` calls in flight, kept full until done.

Used by sync runs and token counts. Workers pull the next item as soon as they finish one, so
one slow call never holds the others back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

__all__ = ["run_pool"]

T = TypeVar("T")


async def run_pool(items: Iterable[T], work: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Await ``work(item)`` for every item with at most ``workers`` running at once.

    ``work`` handles its own errors; an exception escaping it is a bug and stops the pool.
    """
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # a shared iterator: each item goes to exactly one worker
            await work(item)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
