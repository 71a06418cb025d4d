"""The per-origin circuit breaker end to end, against servers that fail on demand.

The state machine itself is tested with a fake clock in ``test_breaker.py``; here
the real session, transports and embedded server show what a user sees: the
sixth request after five failures never leaves the process.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import trustme

from fasthttp import AsyncSession
from fasthttp.config import SecurityConfig
from fasthttp.exceptions import CircuitOpenError, ConnectError, HTTPStatusError
from fasthttp.testing import LocalServer, serve
from tests.support.tls import TLSServer, ca_context

OPEN_FOR = 0.2


def config(**options: object) -> SecurityConfig:
    """Loopback allowed, a short open time; other options as given."""
    values: dict[str, object] = {"allow": ("127.0.0.1",), "open_for": OPEN_FOR}
    values.update(options)
    return SecurityConfig(**values)  # type: ignore[arg-type]


async def fail_times(session: AsyncSession, url: str, times: int, error: type[Exception] = HTTPStatusError) -> None:
    """Make ``times`` requests that each fail with ``error``."""
    for _ in range(times):
        with pytest.raises(error):
            await session.get(url)


def dead_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_five_consecutive_503s_open_the_circuit(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    """Five 503s open it; the sixth request fails at once with CircuitOpenError and never reaches the server."""
    caplog.set_level(logging.INFO, logger="fasthttp.security")
    server.fail_next("/get", 503, times=10)
    async with AsyncSession(security=config(), raise_errors=True) as session:
        await fail_times(session, f"{server.url}/get", 5)
        assert server.hits("/get") == 5
        with pytest.raises(CircuitOpenError) as caught:
            await session.get(f"{server.url}/get")
        with pytest.raises(CircuitOpenError):
            await session.get(f"{server.url}/anything")  # the whole origin, any path
    assert server.hits("/get") == 5 and server.hits("/anything") == 0
    error = caught.value
    assert 0 < error.retry_after <= OPEN_FOR
    assert f"127.0.0.1:{server.port}" in str(error) and "circuit_breaker=False" in str(error)
    assert any("is now open" in r.getMessage() and "5 consecutive failures" in r.getMessage() for r in caplog.records)


async def test_connection_refused_counts_as_failure() -> None:
    """Five refused connections open the circuit; the sixth request is refused without a connect attempt."""
    url = f"http://127.0.0.1:{dead_port()}/get"
    async with AsyncSession(security=config(), raise_errors=True) as session:
        await fail_times(session, url, 5, ConnectError)
        with pytest.raises(CircuitOpenError):
            await session.get(url)


async def test_4xx_does_not_count(server: LocalServer) -> None:
    """Ten 404s neither open the circuit nor reset the count of 503s around them."""
    async with AsyncSession(security=config(), raise_errors=True) as session:
        server.fail_next("/get", 404, times=10)
        await fail_times(session, f"{server.url}/get", 10)
        assert (await session.get(f"{server.url}/get")) is not None  # still closed

        server.fail_next("/get", 503, times=4)
        server.fail_next("/get", 429, times=1)
        server.fail_next("/get", 503, times=1)
        await fail_times(session, f"{server.url}/get", 6)  # 503 x4, 429, 503: five failures in a row
        with pytest.raises(CircuitOpenError):
            await session.get(f"{server.url}/get")
    assert server.hits("/get") == 17


async def test_a_success_resets_the_count(server: LocalServer) -> None:
    """Four failures, a success, four failures: never five in a row, so the circuit stays closed."""
    async with AsyncSession(security=config(), raise_errors=True) as session:
        for _ in range(2):
            server.fail_next("/get", 500, times=4)
            await fail_times(session, f"{server.url}/get", 4)
            assert (await session.get(f"{server.url}/get")) is not None


async def test_origins_are_independent(server: LocalServer) -> None:
    """An open circuit for one origin (host and port) leaves another origin untouched."""
    async with serve() as other:
        server.fail_next("/get", 503, times=5)
        async with AsyncSession(security=config(), raise_errors=True) as session:
            await fail_times(session, f"{server.url}/get", 5)
            with pytest.raises(CircuitOpenError):
                await session.get(f"{server.url}/get")
            response = await session.get(f"{other.url}/get")
        assert response is not None and response.status_code == 200
        assert other.hits("/get") == 1


async def test_circuit_breaker_false_turns_it_off(server: LocalServer) -> None:
    """SecurityConfig(circuit_breaker=False), and security=False, keep sending after ten 503s."""
    for security in (config(circuit_breaker=False), False):
        server.reset()
        server.fail_next("/get", 503, times=10)
        async with AsyncSession(security=security, raise_errors=True) as session:
            await fail_times(session, f"{server.url}/get", 10)
            assert (await session.get(f"{server.url}/get")) is not None
        assert server.hits("/get") == 11


async def test_after_open_for_one_probe_goes_through_and_a_success_closes_it(server: LocalServer) -> None:
    """Once open_for has passed, one probe reaches the server; its success closes the circuit."""
    server.fail_next("/get", 503, times=5)
    async with AsyncSession(security=config(), raise_errors=True) as session:
        await fail_times(session, f"{server.url}/get", 5)
        with pytest.raises(CircuitOpenError) as caught:
            await session.get(f"{server.url}/get")
        await asyncio.sleep(caught.value.retry_after + 0.02)
        probe = await session.get(f"{server.url}/get")
        assert probe is not None and probe.status_code == 200
        for _ in range(3):
            assert (await session.get(f"{server.url}/get")) is not None
    assert server.hits("/get") == 5 + 1 + 3


async def test_a_failed_probe_reopens_for_twice_as_long(server: LocalServer) -> None:
    """A probe that fails reopens the circuit with the open time doubled."""
    server.fail_next("/get", 503, times=6)
    async with AsyncSession(security=config(), raise_errors=True) as session:
        await fail_times(session, f"{server.url}/get", 5)
        await asyncio.sleep(OPEN_FOR + 0.02)
        await fail_times(session, f"{server.url}/get", 1)  # the probe: 503
        with pytest.raises(CircuitOpenError) as caught:
            await session.get(f"{server.url}/get")
    assert OPEN_FOR < caught.value.retry_after <= 2 * OPEN_FOR
    assert server.hits("/get") == 6


async def test_half_open_lets_exactly_one_concurrent_probe_through(server: LocalServer) -> None:
    """Three concurrent requests after open_for: one probe reaches the server, two are refused at once."""
    server.fail_next("/delay/0.1", 503, times=5)
    async with AsyncSession(security=config(), raise_errors=True) as session:
        await fail_times(session, f"{server.url}/delay/0.1", 5)
        await asyncio.sleep(OPEN_FOR + 0.02)
        results = await asyncio.gather(
            *(session.get(f"{server.url}/delay/0.1") for _ in range(3)), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, CircuitOpenError)]
    assert len(refused) == 2
    assert server.hits("/delay/0.1") == 6


async def test_circuit_open_error_ends_the_retry_loop(server: LocalServer) -> None:
    """With retry=5 and failure_threshold=2, the third attempt meets the open circuit and the loop ends."""
    server.fail_next("/get", 503, times=10, headers={"Retry-After": "0"})
    async with AsyncSession(security=config(failure_threshold=2), retry=5, raise_errors=True) as session:
        with pytest.raises(CircuitOpenError):
            await session.get(f"{server.url}/get")
    assert server.hits("/get") == 2


async def test_streamed_responses_count_too(server: LocalServer) -> None:
    """session.stream() attempts are counted: five streamed 503s open the circuit."""
    server.fail_next("/stream/2", 503, times=5)
    async with AsyncSession(security=config()) as session:
        for _ in range(5):
            async with session.stream("GET", f"{server.url}/stream/2") as response:
                assert response.status_code == 503
        with pytest.raises(CircuitOpenError):
            async with session.stream("GET", f"{server.url}/stream/2"):
                pass
    assert server.hits("/stream/2") == 5


async def test_http2_transport_has_the_same_breaker(h2_server: TLSServer, tls_ca: trustme.CA) -> None:
    """http2=True: five 503s from the TLS server open its origin's circuit."""
    url = f"https://127.0.0.1:{h2_server.port}/status/503"
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=config(), raise_errors=True) as session:
        await fail_times(session, url, 5)
        with pytest.raises(CircuitOpenError):
            await session.get(url)
    assert h2_server.hits("/status/503") == 5
