"""Reliability under faults: the scenarios of shared/reliability/RESEARCH.md section 7, cancellation, load.

Helpers shared by the fault tests live here; fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fasthttp import AsyncSession, Limits, Timeout
from fasthttp.testing.faults import FaultServer, ok

LIMIT = 4
"""Pool size of the sessions the scenario tests build (small, so a leaked slot shows)."""


def client(**options: Any) -> AsyncSession:
    """A session that raises, with a small pool and a 5 s total deadline unless told otherwise."""
    options.setdefault("raise_errors", True)
    options.setdefault("timeout", Timeout(total=5))
    options.setdefault("limits", Limits(max_connections=LIMIT))
    return AsyncSession(**options)


def transport_of(session: AsyncSession) -> Any:
    """The session's transport (private: the tests look at its pool accounting)."""
    transport = session._transport
    assert transport is not None, "the session is not open"
    return transport


def pool_free(session: AsyncSession) -> int:
    """Free connection slots of the session's aiohttp transport."""
    free: int = transport_of(session).pool_free
    return free


def waiting(session: AsyncSession) -> int:
    """Requests queued for a connection slot."""
    count: int = transport_of(session)._gate.waiting
    return count


async def assert_recovered(
    session: AsyncSession, server: FaultServer, *, limit: int = LIMIT, open_at_most: int = 0
) -> None:
    """The pool is whole again: every slot free, the faulty connection closed (the server
    sees at most ``open_at_most`` open), and the next request on the session succeeds."""
    assert pool_free(session) == limit, f"pool_free={pool_free(session)}, expected {limit}"
    assert await server.wait_open(open_at_most, timeout=3), f"{server.open} connection(s) still open on the server"
    server.script = ok(b"after")
    response = await session.get(f"{server.url}/after", timeout=Timeout(total=5))
    assert response is not None and response.status_code == 200 and response.content == b"after"
    assert pool_free(session) == limit


async def eventually(predicate: Any, timeout: float = 3.0) -> bool:
    """Poll ``predicate()`` every 10 ms until it is true (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True
