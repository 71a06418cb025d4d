"""Every timeout kind over real sockets: connect, read, total deadline, pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from fasthttp import (
    AsyncSession,
    ConnectTimeout,
    Limits,
    PoolTimeout,
    ReadTimeout,
    Timeout,
)
from fasthttp.testing import LocalServer


@pytest.fixture
async def silent_tls_port() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers the TLS handshake."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_connect_timeout(silent_tls_port: int) -> None:
    """A handshake that never completes raises ConnectTimeout within the connect limit."""
    started = time.monotonic()
    async with AsyncSession(timeout=Timeout(total=10, connect=0.3), raise_errors=True) as session:
        with pytest.raises(ConnectTimeout, match="Connecting"):
            await session.get(f"https://127.0.0.1:{silent_tls_port}/")
    assert time.monotonic() - started < 5


async def test_read_timeout(shared_server: LocalServer) -> None:
    """A server that stays silent past the read timeout raises ReadTimeout."""
    async with AsyncSession(base_url=shared_server.url, raise_errors=True) as session:
        with pytest.raises(ReadTimeout, match="read timeout"):
            await session.get("/delay/3", timeout=Timeout(total=10, read=0.3))


async def test_total_deadline_from_a_float(shared_server: LocalServer) -> None:
    """timeout=0.3 is a total deadline: a slow response raises ReadTimeout naming it."""
    started = time.monotonic()
    async with AsyncSession(base_url=shared_server.url, timeout=0.3, raise_errors=True) as session:
        with pytest.raises(ReadTimeout, match="total deadline"):
            await session.get("/delay/3")
    assert time.monotonic() - started < 2.5


async def test_total_deadline_covers_a_dripping_body(shared_server: LocalServer) -> None:
    """A body that keeps dripping bytes still ends at the total deadline."""
    async with AsyncSession(base_url=shared_server.url, timeout=0.5, raise_errors=True) as session:
        with pytest.raises(ReadTimeout):
            await session.get("/drip?numbytes=20&duration=4")


async def test_timeout_returns_none_by_default(shared_server: LocalServer) -> None:
    """Without raise_errors a timeout gives None."""
    async with AsyncSession(base_url=shared_server.url) as session:
        assert await session.get("/delay/3", timeout=0.2) is None


async def test_pool_timeout(shared_server: LocalServer) -> None:
    """With one connection busy, a second request waiting longer than the pool timeout raises PoolTimeout."""
    async with AsyncSession(
        base_url=shared_server.url, limits=Limits(max_connections=1), raise_errors=True
    ) as session:
        slow = asyncio.create_task(session.get("/delay/1"))
        await asyncio.sleep(0.1)
        with pytest.raises(PoolTimeout, match="max_connections"):
            await session.get("/get", timeout=Timeout(total=5, pool=0.2))
        assert (await slow) is not None
        # The slot came back: the pool still works.
        assert await session.get("/get") is not None


async def test_pool_wait_then_success(shared_server: LocalServer) -> None:
    """Requests beyond max_connections queue and all complete once slots free up."""
    async with AsyncSession(base_url=shared_server.url, limits=Limits(max_connections=2)) as session:
        results = await asyncio.gather(*(session.get("/delay/0.1") for _ in range(6)))
    assert all(r is not None and r.status == 200 for r in results)


async def test_cancelled_waiter_returns_its_slot(shared_server: LocalServer) -> None:
    """Cancelling a request queued for a slot leaves the pool's slot count unchanged."""
    async with AsyncSession(base_url=shared_server.url, limits=Limits(max_connections=1)) as session:
        busy = asyncio.create_task(session.get("/delay/0.5"))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(session.get("/get"))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        await busy
        transport = session._transport
        assert transport is not None and transport.pool_free == 1  # type: ignore[attr-defined]
        assert await session.get("/get") is not None


def test_timeout_values_are_checked() -> None:
    """Negative or non-numeric timeouts are refused with a sentence naming the argument."""
    with pytest.raises(ValueError, match="connect=-1"):
        Timeout(connect=-1)
    with pytest.raises(TypeError, match="timeout="):
        AsyncSession(timeout="fast")  # type: ignore[arg-type]

