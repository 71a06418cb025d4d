"""RateLimitMiddleware over real TCP: the server's arrival times prove the pacing."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from fasthttp import AsyncSession, PoolTimeout, Request, Response
from fasthttp.middleware.base import CallNext
from fasthttp.middleware.ratelimit import RateLimitMiddleware, TokenBucket
from fasthttp.testing import LocalServer, serve


async def _get(session: AsyncSession, url: str, **kwargs: Any) -> Response:
    return await session.send(session.build_request("GET", url, **kwargs))


def _span(server: LocalServer) -> float:
    times = [r.arrived_at for r in server.requests]
    return max(times) - min(times)


async def test_requests_are_spaced_at_the_rate(server: LocalServer) -> None:
    """rate=5 per second, ten requests at once: they arrive over about 1.8 s (0.2 s apart)."""
    async with AsyncSession(base_url=server.url, middleware=[RateLimitMiddleware(5, 1.0)]) as session:
        await asyncio.gather(*(_get(session, f"/get?i={i}") for i in range(10)))
    assert server.hits("/get") == 10
    assert 1.6 <= _span(server) < 3.0
    gaps = sorted(b.arrived_at - a.arrived_at for a, b in itertools.pairwise(server.requests))
    assert gaps[0] >= 0.15  # no two requests back to back


async def test_burst_lets_the_first_requests_through(server: LocalServer) -> None:
    """burst=3 sends three at once, then paces the rest at the rate."""
    async with AsyncSession(base_url=server.url, middleware=[RateLimitMiddleware(10, burst=3)]) as session:
        await asyncio.gather(*(_get(session, f"/get?i={i}") for i in range(5)))
    arrivals = sorted(r.arrived_at for r in server.requests)
    assert arrivals[2] - arrivals[0] < 0.08
    assert 0.15 <= arrivals[4] - arrivals[0] < 1.0


async def test_waiters_are_served_in_arrival_order(server: LocalServer) -> None:
    """Requests queued behind the limit reach the server in the order they asked."""
    async with AsyncSession(base_url=server.url, middleware=[RateLimitMiddleware(20)]) as session:
        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(_get(session, f"/get?i={i}")))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
    assert [r.query_string for r in server.requests] == [f"i={i}" for i in range(6)]


async def test_each_host_has_its_own_bucket(server: LocalServer) -> None:
    """per_host=True: two servers are paced independently, so both finish in about the time of one."""
    limiter = RateLimitMiddleware(4, 1.0)
    async with serve() as other, AsyncSession(middleware=[limiter]) as session:
        started = time.monotonic()
        await asyncio.gather(
            *(_get(session, f"{server.url}/get?i={i}") for i in range(3)),
            *(_get(session, f"{other.url}/get?i={i}") for i in range(3)),
        )
        elapsed = time.monotonic() - started
        assert 0.4 <= _span(server) < 1.2 and 0.4 <= _span(other) < 1.2
    assert elapsed < 1.2  # one shared bucket would need 5 x 0.25 s = 1.25 s


async def test_global_bucket_is_shared_across_hosts(server: LocalServer) -> None:
    """per_host=False: requests to two servers draw from one bucket."""
    limiter = RateLimitMiddleware(10, 1.0, per_host=False)
    async with serve() as other, AsyncSession(middleware=[limiter]) as session:
        await asyncio.gather(
            *(_get(session, f"{server.url}/get?i={i}") for i in range(3)),
            *(_get(session, f"{other.url}/get?i={i}") for i in range(3)),
        )
        arrivals = sorted(r.arrived_at for r in [*server.requests, *other.requests])
    assert arrivals[-1] - arrivals[0] >= 0.4  # 6 requests at 0.1 s spacing


async def test_cancelled_waiter_takes_nothing(server: LocalServer) -> None:
    """A request cancelled while queued gives up its place: the one behind it goes at the next slot."""
    async with AsyncSession(base_url=server.url, middleware=[RateLimitMiddleware(2, 1.0)]) as session:
        first = asyncio.create_task(_get(session, "/get?i=a"))
        await asyncio.sleep(0.01)
        doomed = asyncio.create_task(_get(session, "/get?i=b"))
        await asyncio.sleep(0.01)
        third = asyncio.create_task(_get(session, "/get?i=c"))
        await asyncio.sleep(0.1)
        doomed.cancel()
        await asyncio.gather(first, third)
        with pytest.raises(asyncio.CancelledError):
            await doomed
    assert [r.query_string for r in server.requests] == ["i=a", "i=c"]
    gap = server.requests[1].arrived_at - server.requests[0].arrived_at
    assert 0.4 <= gap < 0.8  # the next slot (0.5 s), not the one after (1.0 s)


async def test_waiting_past_the_deadline_is_a_pool_timeout(server: LocalServer) -> None:
    """A request that cannot get a slot within its timeout raises PoolTimeout and takes no slot."""
    async with AsyncSession(base_url=server.url, middleware=[RateLimitMiddleware(1, 1.0)]) as session:
        await _get(session, "/get?i=1")
        with pytest.raises(PoolTimeout, match="rate-limit slot"):
            await _get(session, "/get?i=2", timeout=0.2)
        started = time.monotonic()
        await _get(session, "/get?i=3")
        waited = time.monotonic() - started
    assert server.hits("/get") == 2
    assert waited < 1.5  # its slot is the one the timed-out request gave up (else about 1.8 s)


async def test_waiting_counts_against_the_deadline(server: LocalServer) -> None:
    """A request that waited for its slot goes on with timeout.total reduced by the wait."""
    seen: list[float | None] = []

    async def record(request: Request, call_next: CallNext) -> Response:
        seen.append(request.timeout.total)
        return await call_next(request)

    async with AsyncSession(
        base_url=server.url, middleware=[RateLimitMiddleware(4, 1.0), record], timeout=5.0
    ) as session:
        await asyncio.gather(_get(session, "/get"), _get(session, "/get"))
    assert seen[0] == 5.0
    assert seen[1] is not None and 4.6 <= seen[1] <= 4.8


async def test_token_bucket_refunds_a_granted_token_on_cancel() -> None:
    """A waiter cancelled after its token was handed over (before it resumed) gives it to the next in line."""
    bucket = TokenBucket(1, 10.0)  # the next token is 10 s away
    assert bucket.try_acquire()
    granted = asyncio.create_task(bucket.acquire())
    follower = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)  # both are queued now
    bucket._tokens = 1.0  # a token becomes due ...
    bucket._wake()  # ... and is handed to the head of the queue
    granted.cancel()  # which is cancelled before it could resume
    assert await asyncio.wait_for(follower, 1.0) is True  # the refunded token, not one 10 s later
    with pytest.raises(asyncio.CancelledError):
        await granted


async def test_later_arrival_cannot_barge_ahead() -> None:
    """A task arriving just before a queued waiter's token is due still goes after that waiter
    (the race in which aiolimiter 1.3 lets the newcomer go first)."""
    bucket = TokenBucket(1, 0.05)
    order: list[str] = []

    async def worker(name: str, gate: asyncio.Future[None] | None = None) -> None:
        if gate is not None:
            await gate
        await bucket.acquire()
        order.append(name)

    assert bucket.try_acquire()
    head = asyncio.create_task(worker("queued-first"))
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    assert bucket._timer is not None
    loop.call_at(bucket._timer.when() - 0.0005, gate.set_result, None)  # wakes in the same loop pass
    late = asyncio.create_task(worker("arrived-later", gate))
    await asyncio.gather(head, late)
    assert order == ["queued-first", "arrived-later"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rate": 0}, ValueError, "rate=0 must be a positive"),
        ({"rate": -2}, ValueError, "rate=-2"),
        ({"rate": float("nan")}, ValueError, "rate=nan"),
        ({"rate": True}, TypeError, "rate= must be a number"),
        ({"rate": 5, "per": 0}, ValueError, "per=0"),
        ({"rate": 5, "burst": 0}, ValueError, "burst=0"),
        ({"rate": 5, "max_hosts": 0}, ValueError, "max_hosts=0"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    """Zero, negative, NaN or boolean rates and zero bursts fail at construction, saying what is allowed."""
    with pytest.raises(error, match=match):
        RateLimitMiddleware(**kwargs)


def test_idle_buckets_are_pruned() -> None:
    """Past max_hosts, only idle full buckets are dropped (they equal new ones)."""
    limiter = RateLimitMiddleware(5, max_hosts=2)
    for host in ("a", "b", "c"):
        limiter.bucket_for(Request("GET", f"http://{host}.test/"))
    assert len(limiter._buckets) <= 2
