"""Cancellation safety: a request cancelled in any phase gives its slot back and closes its socket.

Each test cancels one request in one phase (queued for a slot, connecting, writing, reading,
or a stream abandoned mid-body) on a session whose pool has ONE connection, so any slot or
connection the cancellation leaked would stall what follows. Then: ``pool_free`` is back to
1, the server sees the connection closed, and a burst of 1000 requests at concurrency 100
all succeed (encode/httpcore#1093: a leaked slot turns every later request into PoolTimeout).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from fasthttp import AsyncSession, Limits, Timeout
from fasthttp.testing.faults import FaultServer, drip, never_read, ok, truncated
from tests.faults import client, eventually, pool_free, waiting
from tests.faults.conftest import FaultFactory

pytestmark = pytest.mark.timeout(30)

BURST = 1000
CONCURRENCY = 100


def one_connection() -> AsyncSession:
    """A session with a single pooled connection: any leak shows at once."""
    return client(limits=Limits(max_connections=1), timeout=Timeout(total=10, connect=5))


async def assert_burst_succeeds(session: AsyncSession, server: FaultServer) -> None:
    """1000 GETs at concurrency 100 through ``session`` all answer 200, inside 20 s."""
    urls = iter(range(BURST))
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        for i in urls:
            response = await session.send(session.build_request("GET", f"{server.url}/burst?i={i}"))
            statuses[response.status_code] += 1

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONCURRENCY))), 20)
    assert statuses == {200: BURST}
    assert pool_free(session) == 1


async def cancel_when(task: asyncio.Task[object], ready: bool) -> None:
    """Cancel ``task`` (``ready`` must be true: the phase was reached) and wait for it to end."""
    assert ready, "the request never reached the phase to cancel in"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_while_waiting_for_slot(faults: FaultFactory) -> None:
    """Cancelled while queued for the only slot: the queue empties, the slot stays with its holder
    and comes back after it; the burst succeeds."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with one_connection() as session:
        async with session.stream("GET", f"{server.url}/held"):
            queued = asyncio.create_task(session.get(f"{server.url}/queued"))
            await cancel_when(queued, await eventually(lambda: waiting(session) == 1))
            assert waiting(session) == 0 and pool_free(session) == 0
        assert pool_free(session) == 1
        assert await server.wait_open(0), "the stream left mid-body but its connection stayed open"
        server.script = ok()
        await assert_burst_succeeds(session, server)


async def test_cancel_while_connecting(faults: FaultFactory) -> None:
    """Cancelled during a TLS handshake that never completes: slot back, half-open socket closed;
    the burst succeeds."""
    stalled = await faults(handshake="stall")
    server = await faults(ok())
    async with one_connection() as session:
        task = asyncio.create_task(session.get(f"{stalled.url}/"))
        await cancel_when(task, await eventually(lambda: stalled.accepted == 1))
        assert pool_free(session) == 1
        assert await stalled.wait_open(0), "the cancelled handshake left its socket open"
        await assert_burst_succeeds(session, server)


@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_cancel_while_writing(faults: FaultFactory) -> None:
    """Cancelled while a 16 MiB upload is blocked (the server never reads): slot back, connection
    closed; the burst succeeds."""
    server = await faults(never_read(hold=0.3), rcvbuf=16384)
    async with one_connection() as session:
        task = asyncio.create_task(session.post(f"{server.url}/upload", content=b"u" * (16 * 1024 * 1024)))
        await cancel_when(task, await server.wait_requests(1) and not await eventually(task.done, timeout=0.1))
        assert pool_free(session) == 1
        assert await server.wait_open(0), "the cancelled upload left its connection open"
        server.script = ok()
        await assert_burst_succeeds(session, server)


async def test_cancel_while_reading(faults: FaultFactory) -> None:
    """Cancelled while the server stalls mid-body: slot back, the half-read connection closed (not
    pooled); the burst succeeds."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with one_connection() as session:
        task = asyncio.create_task(session.get(f"{server.url}/"))
        await cancel_when(task, await server.wait_requests(1) and not await eventually(task.done, timeout=0.05))
        assert pool_free(session) == 1
        assert await server.wait_open(0), "the cancelled read left its connection open"
        server.script = ok()
        await assert_burst_succeeds(session, server)


@pytest.mark.parametrize("how", ["break", "cancel"])
async def test_stream_abandoned_mid_body(faults: FaultFactory, how: str) -> None:
    """A stream left mid-body (break out of the block, or its task cancelled): slot back, the
    connection closed rather than drained or pooled; the burst succeeds."""
    server = await faults(drip(size=100_000, interval=0.01, first=100))
    async with one_connection() as session:
        got_bytes = asyncio.Event()

        async def read_some() -> None:
            async with session.stream("GET", f"{server.url}/stream") as response:
                async for _chunk in response.aiter_bytes():
                    got_bytes.set()
                    if how == "break":
                        break

        task = asyncio.create_task(read_some())
        await asyncio.wait_for(got_bytes.wait(), 5)
        if how == "cancel":
            await cancel_when(task, not task.done())
        else:
            await asyncio.wait_for(task, 5)
        assert pool_free(session) == 1
        assert await server.wait_open(0), "the abandoned stream left its connection open"
        server.script = ok()
        await assert_burst_succeeds(session, server)
