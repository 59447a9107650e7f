"""Telling a timeout from a failed connection under the SDKs' aiohttp transport.

The openai and anthropic async clients run on the SDKs' own aiohttp transport (see the openai
``client`` module). That transport maps every aiohttp connection error, a refused connection
or a server that hung up included, to a connect *timeout*, so the SDK raises its
``APITimeoutError`` for a server that is not there at all. The error modules ask
``connection_failure`` before saying "timed out", so the user reads what really happened.
"""

from __future__ import annotations

import aiohttp

__all__ = ["connection_failure"]


def connection_failure(error: BaseException) -> BaseException | None:
    """The aiohttp connection error behind ``error`` when it was not a timeout, else None."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, aiohttp.ClientError):
            return None if isinstance(link, TimeoutError) else link
        link = link.__cause__ or link.__context__
    return None
