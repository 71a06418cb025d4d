"""RetryMiddleware over real TCP: the server's hit counter and arrival times prove each attempt."""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from typing import Any

import pytest

from fasthttp import (
    AsyncSession,
    CircuitOpenError,
    ConnectError,
    Limits,
    ProtocolError,
    ReadTimeout,
    Request,
    Response,
    SecurityConfig,
    Timeout,
    TLSError,
)
from fasthttp.middleware.base import CallNext
from fasthttp.middleware.retry import RetryBudget, RetryMiddleware, RetryPolicy, parse_retry_after
from fasthttp.testing import LocalServer


class Waits:
    """An injected sleep that records the waits and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Attempts:
    """A middleware placed inside the retry middleware: records every attempt it sees."""

    def __init__(self, fail_with: list[Exception] | None = None) -> None:
        self.seen: list[Request] = []
        self.fail_with = list(fail_with or [])

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        self.seen.append(request)
        if self.fail_with:
            raise self.fail_with.pop(0)
        return await call_next(request)


def _retry(**kwargs: Any) -> RetryMiddleware:
    kwargs.setdefault("sleep", Waits())
    kwargs.setdefault("rng", random.Random(7))
    return RetryMiddleware(**kwargs)


async def _send(session: AsyncSession, method: str, url: str, **kwargs: Any) -> Response:
    return await session.send(session.build_request(method, url, **kwargs))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_503_is_retried_until_success(server: LocalServer) -> None:
    """Two 503s then success: the server sees three GETs and the caller gets the 200."""
    server.fail_next("/get", 503, 2)
    waits = Waits()
    async with AsyncSession(base_url=server.url, middleware=[_retry(sleep=waits)]) as session:
        response = await _send(session, "GET", "/get")
    assert response.status_code == 200
    assert server.hits("/get") == 3
    assert response.extensions["retries"] == 2
    assert len(waits.delays) == 2
    assert 0 <= waits.delays[0] <= 0.2 and 0 <= waits.delays[1] <= 0.4  # full jitter windows


async def test_attempts_are_bounded(server: LocalServer) -> None:
    """A server that keeps failing gets exactly `attempts` requests; the last 503 is returned."""
    async with AsyncSession(base_url=server.url, middleware=[_retry(attempts=3)]) as session:
        response = await _send(session, "GET", "/status/503")
    assert response.status_code == 503
    assert server.hits("/status/503") == 3


async def test_post_is_not_retried_after_503(server: LocalServer) -> None:
    """A POST that got a 503 was sent, so it is not retried: one hit."""
    server.fail_next("/post", 503, 1)
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        response = await _send(session, "POST", "/post", json={"order": 1})
    assert response.status_code == 503
    assert server.hits("/post") == 1


async def test_post_with_idempotency_key_is_retried_with_same_body(server: LocalServer) -> None:
    """A POST carrying Idempotency-Key is retried after a 503, replaying the same bytes."""
    server.fail_next("/post", 503, 1)
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        response = await _send(session, "POST", "/post", json={"order": 1}, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 200
    assert server.hits("/post") == 2
    assert server.requests[0].body == server.requests[1].body == b'{"order":1}'


async def test_streamed_body_is_never_retried(server: LocalServer) -> None:
    """A PUT whose body is an async iterable cannot be replayed, so a 503 is returned as is."""

    async def body() -> Any:
        yield b"chunk"

    server.fail_next("/anything", 503, 1)
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        response = await _send(session, "PUT", "/anything", content=body())
    assert response.status_code == 503
    assert server.hits("/anything") == 1


async def test_discarded_stream_frees_its_connection(server: LocalServer) -> None:
    """session.stream() is retried too, and the 503 stream is closed first: with a single
    connection in the pool the retry still gets one."""
    server.fail_next("/get", 503, 1)
    async with AsyncSession(
        base_url=server.url, middleware=[_retry()], limits=Limits(max_connections=1), timeout=Timeout(total=5, pool=1)
    ) as session:
        async with session.stream("GET", "/get") as response:
            assert response.status_code == 200
            assert (await response.aread()).startswith(b"{")
    assert server.hits("/get") == 2


async def test_post_is_retried_when_connection_is_refused() -> None:
    """A refused connection means nothing was sent, so even a POST gets all three attempts."""
    attempts = Attempts()
    base = f"http://127.0.0.1:{_free_port()}"
    async with AsyncSession(base_url=base, middleware=[_retry(), attempts]) as session:
        with pytest.raises(ConnectError):
            await _send(session, "POST", "/post", json={"x": 1})
    assert len(attempts.seen) == 3
    assert [r.extensions["fasthttp.retry.attempt"] for r in attempts.seen] == [1, 2, 3]


async def test_dropped_connection_is_retried_for_get_only(server: LocalServer) -> None:
    """A ProtocolError (server disconnected) is retried for GET but not for POST."""
    get_attempts = Attempts([ProtocolError("server disconnected")])
    async with AsyncSession(base_url=server.url, middleware=[_retry(), get_attempts]) as session:
        assert (await _send(session, "GET", "/get")).status_code == 200
    post_attempts = Attempts([ProtocolError("server disconnected")])
    async with AsyncSession(base_url=server.url, middleware=[_retry(), post_attempts]) as session:
        with pytest.raises(ProtocolError):
            await _send(session, "POST", "/post")
    assert (len(get_attempts.seen), len(post_attempts.seen)) == (2, 1)
    assert server.hits("/get") == 1 and server.hits("/post") == 0


async def test_security_errors_end_the_loop(server: LocalServer) -> None:
    """CircuitOpenError and a certificate TLSError are raised at once, without a retry."""
    for error in (CircuitOpenError("open", retry_after=5), TLSError("bad certificate", kind="certificate")):
        attempts = Attempts([error, error, error])
        async with AsyncSession(base_url=server.url, middleware=[_retry(), attempts]) as session:
            with pytest.raises(type(error)):
                await _send(session, "GET", "/get")
        assert len(attempts.seen) == 1


async def test_retry_after_is_honoured(server: LocalServer) -> None:
    """A 503 with Retry-After: 1 is retried about one second later, measured at the server."""
    server.fail_next("/get", 503, 1, headers={"Retry-After": "1"})
    async with AsyncSession(base_url=server.url, middleware=[RetryMiddleware()]) as session:
        response = await _send(session, "GET", "/get")
    assert response.status_code == 200
    first, second = server.requests
    assert 0.9 <= second.arrived_at - first.arrived_at < 3.0


async def test_retry_after_http_date_and_429(server: LocalServer) -> None:
    """A 429 with Retry-After as an HTTP-date is retried after (about) the time until that date."""
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    server.fail_next("/get", 429, 1, headers={"Retry-After": when})
    waits = Waits()
    async with AsyncSession(base_url=server.url, middleware=[_retry(sleep=waits)]) as session:
        response = await _send(session, "GET", "/get")
    assert response.status_code == 200 and server.hits("/get") == 2
    assert len(waits.delays) == 1 and 2.0 <= waits.delays[0] <= 4.0


async def test_429_without_retry_after_is_returned(server: LocalServer) -> None:
    """A 429 without Retry-After is not in retry_statuses, so it is returned at once."""
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        response = await _send(session, "GET", "/status/429")
    assert response.status_code == 429 and server.hits("/status/429") == 1


async def test_retry_after_past_the_deadline_returns_the_response(server: LocalServer) -> None:
    """Retry-After: 30 with a 1 s deadline returns the 503 at once instead of sleeping."""
    server.fail_next("/get", 503, 1, headers={"Retry-After": "30"})
    async with AsyncSession(base_url=server.url, middleware=[RetryMiddleware()]) as session:
        started = time.monotonic()
        response = await _send(session, "GET", "/get", timeout=1.0)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert server.hits("/get") == 1
    assert elapsed < 0.9


async def test_retry_after_above_max_is_returned(server: LocalServer) -> None:
    """Retry-After above max_retry_after is not waited for, even with time left."""
    server.fail_next("/get", 503, 1, headers={"Retry-After": "5"})
    async with AsyncSession(base_url=server.url, middleware=[_retry(max_retry_after=2)]) as session:
        response = await _send(session, "GET", "/get", timeout=30)
    assert response.status_code == 503 and server.hits("/get") == 1


async def test_each_attempt_gets_the_time_left(server: LocalServer) -> None:
    """Every attempt carries timeout.total = what is left of the one deadline after the backoff waits."""
    server.fail_next("/get", 503, 2)
    attempts = Attempts()
    now = [100.0]
    waits = Waits()

    async def sleep(delay: float) -> None:  # a fake clock that moves only while "sleeping"
        await waits(delay)
        now[0] += delay

    retry = _retry(sleep=sleep, clock=lambda: now[0])
    async with AsyncSession(base_url=server.url, middleware=[retry, attempts]) as session:
        await _send(session, "GET", "/get", timeout=Timeout(total=5.0, connect=2.0))
    first, second = waits.delays
    totals = [r.timeout.total for r in attempts.seen]
    assert totals == pytest.approx([5.0, 5.0 - first, 5.0 - first - second])
    assert all(r.timeout.connect == 2.0 for r in attempts.seen)


async def test_no_attempt_starts_after_the_deadline(server: LocalServer) -> None:
    """A GET that times out at its 0.5 s deadline is not retried: one hit, ReadTimeout."""
    async with AsyncSession(base_url=server.url, middleware=[RetryMiddleware()]) as session:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            await _send(session, "GET", "/delay/2", timeout=0.5)
        elapsed = time.monotonic() - started
    assert server.hits("/delay/2") == 1
    assert elapsed < 1.5


async def test_read_timeout_is_retried_within_the_deadline(server: LocalServer) -> None:
    """A read timeout shorter than the deadline is retried for a GET, every attempt under one deadline."""
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        with pytest.raises(ReadTimeout):
            await _send(session, "GET", "/delay/2", timeout=Timeout(total=3.0, read=0.2))
    assert server.hits("/delay/2") == 3


async def test_budget_stops_retries_against_a_failing_server(server: LocalServer) -> None:
    """With a budget of 10 tokens (no retries at <= 5), five failing GETs cost 8 requests, not 15."""
    retry = _retry(budget=RetryBudget(max_tokens=10))
    no_breaker = SecurityConfig(circuit_breaker=False)  # the breaker would stop the 503s first
    async with AsyncSession(base_url=server.url, middleware=[retry], security=no_breaker) as session:
        for _ in range(5):
            assert (await _send(session, "GET", "/status/503")).status_code == 503
    assert server.hits("/status/503") == 3 + 2 + 1 + 1 + 1
    assert retry.budget is not None and not retry.budget.can_retry()


async def test_budget_refills_with_successes(server: LocalServer) -> None:
    """Successful responses give tokens back, so retries resume after the server recovers."""
    budget = RetryBudget(max_tokens=4, token_ratio=1.0)
    async with AsyncSession(base_url=server.url, middleware=[_retry(budget=budget)]) as session:
        await _send(session, "GET", "/status/503")  # 4 -> 3 -> 2: second failure stops retries
        assert server.hits("/status/503") == 2 and not budget.can_retry()
        for _ in range(2):
            await _send(session, "GET", "/get")
        assert budget.can_retry()
        server.fail_next("/get", 503, 1)
        assert (await _send(session, "GET", "/get")).status_code == 200
    assert server.hits("/get") == 4


async def test_retries_are_logged_with_masked_urls(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    """Each retry is a DEBUG line on fasthttp.retry with attempt and cause, and no secret."""
    server.fail_next("/get", 503, 1)
    caplog.set_level(logging.DEBUG, logger="fasthttp.retry")
    async with AsyncSession(base_url=server.url, middleware=[_retry()]) as session:
        await _send(session, "GET", "/get", params={"api_key": "s3cret"}, headers={"Authorization": "Bearer tok"})
    lines = [r.getMessage() for r in caplog.records if r.name == "fasthttp.retry"]
    assert len(lines) == 1
    assert "attempt 1/3" in lines[0] and "(503)" in lines[0] and "[REDACTED]" in lines[0]
    assert "s3cret" not in caplog.text and "tok" not in caplog.text


def test_parse_retry_after() -> None:
    """Retry-After parses delay-seconds and HTTP-dates; junk gives None, past dates 0."""
    now = 1_700_000_000.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after("-3") is None and parse_retry_after(None) is None


def test_from_option_shortcuts() -> None:
    """retry= accepts None/False, True, an int, a RetryPolicy or a middleware; anything else is a TypeError."""
    assert RetryMiddleware.from_option(None) is None and RetryMiddleware.from_option(False) is None
    assert RetryMiddleware.from_option(True).attempts == 3  # type: ignore[union-attr]
    assert RetryMiddleware.from_option(5).attempts == 5  # type: ignore[union-attr]
    built = RetryMiddleware.from_option(RetryPolicy(attempts=2, retry_statuses=(500,), budget=False))
    assert built is not None and built.attempts == 2 and built.retry_statuses == {500} and built.budget is None
    a, b = RetryMiddleware.from_option(RetryPolicy()), RetryMiddleware.from_option(RetryPolicy())
    assert a is not None and b is not None and a.budget is not b.budget  # one budget per session
    same = RetryMiddleware()
    assert RetryMiddleware.from_option(same) is same
    with pytest.raises(TypeError, match="retry="):
        RetryMiddleware.from_option("3")


def test_bad_policies_are_clear_errors() -> None:
    """Zero attempts, negative backoff and bogus statuses fail at construction with the allowed range."""
    with pytest.raises(ValueError, match="attempts=0"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="backoff_base"):
        RetryMiddleware(backoff_base=-1)
    with pytest.raises(ValueError, match="retry_statuses"):
        RetryMiddleware(retry_statuses=(999,))
    with pytest.raises(TypeError, match="budget="):
        RetryMiddleware(budget=3)  # type: ignore[arg-type]
