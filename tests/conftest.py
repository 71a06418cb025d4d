"""Shared fixtures: real servers on 127.0.0.1 started by the tests themselves."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from fasthttp.testing import LocalServer, serve, serve_in_thread

# Fixture modules for the TLS/HTTP2 server, the forward proxy and the fault server.
pytest_plugins: list[str] = ["tests.support.tls", "tests.support.proxy"]

# The SSRF allowlist opt-out used by the whole test run (see README "Security"):
# the tests' own servers live on 127.0.0.1.
os.environ.setdefault("FASTHTTP_ALLOW_HOSTS", "127.0.0.1,::1,localhost")


@pytest.fixture(scope="session")
def shared_server() -> Iterator[LocalServer]:
    """One embedded server in its own thread for the whole run (fast; use unique paths or queries)."""
    with serve_in_thread() as server:
        yield server


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    """A fresh embedded server on the test's own event loop (its hit counters start at zero)."""
    async with serve() as local:
        yield local
