"""The middleware chain over real TCP: order, short-circuits, errors, and the built-ins together."""

from __future__ import annotations

import random
import socket
from typing import Any

import pytest

from fasthttp import AsyncSession, BaseMiddleware, MiddlewareError, Request, Response
from fasthttp.middleware.base import CallNext
from fasthttp.middleware.cache import CacheMiddleware
from fasthttp.middleware.ratelimit import RateLimitMiddleware
from fasthttp.middleware.retry import RetryMiddleware
from fasthttp.testing import LocalServer


class Tagging:
    """Appends its name to a shared log on the way in and on the way out, and to a request header."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        self.log.append(f"{self.name}>")
        existing = request.headers.get("X-Chain")
        request.headers["X-Chain"] = f"{existing},{self.name}" if existing else self.name
        response = await call_next(request)
        self.log.append(f"<{self.name}")
        return response


async def _get(session: AsyncSession, url: str, **kwargs: Any) -> Response:
    return await session.send(session.build_request("GET", url, **kwargs))


async def test_three_middlewares_run_in_list_order(server: LocalServer) -> None:
    """The first middleware sees the request first and the response last; the server sees all three."""
    log: list[str] = []
    chain = [Tagging("a", log), Tagging("b", log), Tagging("c", log)]
    async with AsyncSession(base_url=server.url, middleware=chain) as session:
        await _get(session, "/get")
    assert log == ["a>", "b>", "c>", "<c", "<b", "<a"]
    assert server.requests[0].header("x-chain") == "a,b,c"


async def test_middleware_can_answer_without_sending(server: LocalServer) -> None:
    """A before_request that returns a Response short-circuits: inner middleware and the server see nothing."""
    canned = Response(200, content=b'{"cached": true}', headers={"Content-Type": "application/json"})
    log: list[str] = []

    class Canned(BaseMiddleware):
        async def before_request(self, request: Request) -> Request | Response | None:
            return canned if request.url.path == "/get" else None

    async with AsyncSession(base_url=server.url, middleware=[Canned(), Tagging("inner", log)]) as session:
        response = await session.get("/get")
        passed = await session.get("/headers")
    assert response is canned and response.json() == {"cached": True}
    assert passed is not None and passed.status_code == 200
    assert server.hits("/get") == 0 and server.hits("/headers") == 1
    assert log == ["inner>", "<inner"]  # only for the request that went on


async def test_raising_middleware_is_named_in_middleware_error(server: LocalServer) -> None:
    """An unexpected exception in a middleware becomes MiddlewareError naming that middleware."""

    class Broken(BaseMiddleware):
        async def before_request(self, request: Request) -> Request | Response | None:
            raise KeyError("boom")

    async with AsyncSession(base_url=server.url, middleware=[Tagging("outer", []), Broken()]) as session:
        with pytest.raises(MiddlewareError, match="Middleware Broken raised KeyError") as info:
            await _get(session, "/get")
    assert info.value.middleware == "Broken"
    assert isinstance(info.value.__cause__, KeyError)
    assert server.hits("/get") == 0


async def test_on_error_can_recover() -> None:
    """on_error may turn a transport error (here: connection refused) into a Response."""

    class Fallback(BaseMiddleware):
        async def on_error(self, request: Request, error: Exception) -> Response | None:
            return Response(299, request=request)

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncSession(base_url=f"http://127.0.0.1:{port}", middleware=[Fallback()]) as session:
        response = await _get(session, "/get")
    assert response.status_code == 299


async def test_cache_retry_and_ratelimit_compose(server: LocalServer) -> None:
    """Cache outside retry outside rate limit: a 503 is retried (paced), the success cached, the repeat free."""
    server.fail_next("/cache/60", 503, 1)
    sleeps: list[float] = []

    async def no_sleep(delay: float) -> None:
        sleeps.append(delay)

    chain = [
        CacheMiddleware(),
        RetryMiddleware(sleep=no_sleep, rng=random.Random(1)),
        RateLimitMiddleware(20),
    ]
    async with AsyncSession(base_url=server.url, middleware=chain) as session:
        first = await _get(session, "/cache/60")
        second = await _get(session, "/cache/60")
    assert first.status_code == 200 and first.extensions["retries"] == 1
    assert second.extensions["from_cache"] is True
    assert server.hits("/cache/60") == 2
    gap = server.requests[1].arrived_at - server.requests[0].arrived_at
    assert gap >= 0.04  # the retry waited for its rate-limit slot (0.05 s at 20/s)
