"""Fixtures of the fault tests: fault-injecting servers started and stopped per test."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from fasthttp.testing.faults import FaultServer, H2FaultServer, H2Script, Script
from tests.support.tls import ca_context

if TYPE_CHECKING:
    import trustme

FaultFactory = Callable[..., Awaitable[FaultServer]]
H2Factory = Callable[..., Awaitable[H2FaultServer]]


@pytest.fixture
async def faults() -> AsyncIterator[FaultFactory]:
    """``await faults(script, **options)`` starts a FaultServer; at teardown each one must have
    no connection left open (every client closed its sockets) and no script error."""
    servers: list[FaultServer] = []

    async def start(script: Script | None = None, **options: Any) -> FaultServer:
        server = await FaultServer(script, **options).start()
        servers.append(server)
        return server

    yield start
    leaks = []
    for server in servers:
        if not await server.wait_open(0, timeout=3):
            leaks.append(f"{server.url}: {server.open} connection(s) still open")
        await server.stop()
        assert not server.errors, f"a fault script failed: {server.errors!r}"
    assert not leaks, "; ".join(leaks)


@pytest.fixture(scope="session")
def server_cert(tls_ca: trustme.CA) -> trustme.LeafCert:
    """A server certificate for 127.0.0.1, issued once per run."""
    return tls_ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture
def server_tls(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A fresh server context with the test certificate (for FaultServer(ssl=...))."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    return context


@pytest.fixture
def client_tls(tls_ca: trustme.CA) -> ssl.SSLContext:
    """A fresh client context trusting the test CA."""
    return ca_context(tls_ca)


@pytest.fixture
async def h2_faults(server_cert: trustme.LeafCert) -> AsyncIterator[H2Factory]:
    """``await h2_faults(script)`` starts an H2FaultServer (TLS, ALPN h2); stopped at teardown."""
    servers: list[H2FaultServer] = []

    async def start(script: H2Script | None = None) -> H2FaultServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_cert.configure_cert(context)
        server = await H2FaultServer(script, context).start()
        servers.append(server)
        return server

    yield start
    leaks = []
    for server in servers:
        if not await server.wait_open(0, timeout=3):
            leaks.append(f"{server.url}: {server.open} connection(s) still open")
        await server.stop()
        assert not server.errors, f"an HTTP/2 fault script failed: {server.errors!r}"
    assert not leaks, "; ".join(leaks)
