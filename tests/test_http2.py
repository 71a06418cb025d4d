"""The HTTP/2 transport (http2=True, on httpx2) against hypercorn over real TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fasthttp import (
    AsyncSession,
    ConnectError,
    HTTPStatusError,
    InvalidHeader,
    Limits,
    PoolTimeout,
    ReadTimeout,
    ResponseTooLarge,
    SecurityConfig,
    SessionClosedError,
    Timeout,
    TLSError,
)
from fasthttp.transport.base import TransportOptions
from tests.support.tls import TLSServer, ca_context

pytest.importorskip("httpx2", reason="the HTTP/2 transport needs httpx2")
trustme = pytest.importorskip("trustme")


def _session(server: TLSServer, **kwargs: object) -> AsyncSession:
    return AsyncSession(base_url=server.url, http2=True, verify=ca_context(server.ca), **kwargs)  # type: ignore[arg-type]


def _established_to(port: int) -> int | None:
    """Established TCP connections to 127.0.0.1:``port`` seen from the client side (Linux)."""
    path = Path("/proc/net/tcp")
    if not path.exists():
        return None
    count = 0
    for line in path.read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and int(remote.split(":")[1], 16) == port:
            count += 1
    return count


async def test_http2_is_negotiated(h2_server: TLSServer) -> None:
    """http2=True negotiates HTTP/2 by ALPN: the response and the server both say HTTP/2."""
    async with _session(h2_server) as session:
        resp = await session.get("/get?x=1")
    assert resp is not None
    assert resp.http_version == "HTTP/2"
    assert resp.json()["http_version"] == "HTTP/2"
    assert resp.json()["args"] == {"x": "1"}
    assert str(resp.url) == f"{h2_server.url}/get?x=1"
    assert resp.request is not None and resp.request.method == "GET"
    assert resp.elapsed.total_seconds() > 0
    assert h2_server.versions("/get") == {"HTTP/2"}


async def test_concurrent_requests_are_multiplexed_on_one_connection(h2_server: TLSServer) -> None:
    """Twenty concurrent requests travel as streams of a single TLS connection."""
    async with _session(h2_server) as session:
        responses = await asyncio.gather(*(session.get(f"/delay/0.1?i={i}") for i in range(20)))
    assert all(r is not None and r.http_version == "HTTP/2" for r in responses)
    assert h2_server.hits("/delay/0.1") == 20
    assert len(h2_server.connections("/delay/0.1")) == 1


async def test_post_json_is_echoed(h2_server: TLSServer) -> None:
    """A JSON body is sent over HTTP/2 with its Content-Type and comes back intact."""
    payload = {"name": "fasthttp", "tags": ["h2", "tls"], "n": 3}
    async with _session(h2_server) as session:
        resp = await session.post("/post", json=payload)
    assert resp is not None
    body = resp.json()
    assert body["json"] == payload
    assert body["headers"]["content-type"] == "application/json"
    assert body["http_version"] == "HTTP/2"


async def test_streamed_request_body_is_sent(h2_server: TLSServer) -> None:
    """An async iterable request body is streamed over HTTP/2 and arrives whole."""

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"part{i};".encode()

    async with _session(h2_server) as session:
        resp = await session.post("/post", content=chunks())
    assert resp is not None
    assert resp.json()["data"] == "part0;part1;part2;part3;part4;"


async def test_repeated_response_headers_are_kept(h2_server: TLSServer) -> None:
    """Two Set-Cookie fields in one HTTP/2 response stay two values."""
    async with _session(h2_server) as session:
        resp = await session.get("/set-cookie?a=1&b=2")
    assert resp is not None
    assert resp.headers.getall("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert resp.cookies == {"a": "1", "b": "2"}


async def test_utf8_header_value_is_sent(h2_server: TLSServer) -> None:
    """A non-ASCII header value is sent as UTF-8 over HTTP/2, as the default transport does."""
    async with _session(h2_server) as session:
        resp = await session.get("/get", headers={"X-Name": "café"})
    assert resp is not None
    assert resp.json()["headers"]["x-name"].encode("latin-1").decode("utf-8") == "café"


@pytest.mark.parametrize(
    "headers",
    [{"X-Note": "a\r\nInjected: 1"}, {"Authorization": "Bearer s3cr3t\n"}, {"Bad Name": "x"}],
    ids=["crlf-in-value", "lf-in-secret", "space-in-name"],
)
async def test_invalid_header_is_refused_before_sending(
    h2_server: TLSServer, headers: dict[str, str]
) -> None:
    """A header that would break HTTP (CR/LF in a value, a bad name) raises InvalidHeader
    without quoting the value, sends nothing, and leaves the connection usable."""
    async with _session(h2_server, raise_errors=True) as session:
        assert await session.get("/get") is not None
        with pytest.raises(InvalidHeader) as info:
            await session.get("/anything", headers=headers)
        assert await session.get("/get") is not None
    assert "s3cr3t" not in str(info.value) and "Injected" not in str(info.value)
    assert h2_server.hits("/anything") == 0
    assert len(h2_server.connections()) == 1


async def test_engine_stores_no_cookies(h2_server: TLSServer) -> None:
    """Set-Cookie is not remembered by the engine: without a jar, no Cookie is sent back."""
    async with _session(h2_server) as session:
        await session.get("/set-cookie?token=abc")
        resp = await session.get("/get")
    assert resp is not None
    assert "cookie" not in resp.json()["headers"]


async def test_client_error_returns_none_by_default(
    h2_server: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 over HTTP/2 returns None and logs one ERROR line in the default mode."""
    with caplog.at_level(logging.ERROR, logger="fasthttp"):
        async with _session(h2_server) as session:
            resp = await session.get("/status/404")
    assert resp is None
    assert any("404" in r.getMessage() for r in caplog.records if r.name.startswith("fasthttp"))


async def test_client_error_raises_with_raise_errors(h2_server: TLSServer) -> None:
    """raise_errors=True turns a 418 over HTTP/2 into HTTPStatusError carrying the response."""
    async with _session(h2_server, raise_errors=True) as session:
        with pytest.raises(HTTPStatusError) as info:
            await session.get("/status/418")
    assert info.value.response.status_code == 418
    assert info.value.response.http_version == "HTTP/2"


async def test_redirect_is_followed_over_http2(h2_server: TLSServer) -> None:
    """A 302 is followed on the same HTTP/2 connection; history keeps the redirect."""
    async with _session(h2_server) as session:
        resp = await session.get("/redirect-to?url=/get%3Fdone%3D1")
    assert resp is not None
    assert resp.status_code == 200
    assert resp.json()["args"] == {"done": "1"}
    assert [r.status_code for r in resp.history] == [302]
    assert resp.history[0].http_version == "HTTP/2"
    assert len(h2_server.connections()) == 1


async def test_read_timeout(h2_server: TLSServer) -> None:
    """A server silent past the read timeout raises our ReadTimeout."""
    async with _session(h2_server, raise_errors=True) as session:
        with pytest.raises(ReadTimeout, match="read timeout"):
            await session.get("/delay/2", timeout=Timeout(total=10, read=0.2))


async def test_total_deadline(h2_server: TLSServer) -> None:
    """timeout=0.3 bounds the whole request: a slow answer raises ReadTimeout naming the deadline."""
    started = time.monotonic()
    async with _session(h2_server, raise_errors=True) as session:
        with pytest.raises(ReadTimeout, match=r"total deadline of 0\.3 s"):
            await session.get("/delay/2", timeout=0.3)
        # The connection survives the cancelled stream: the next request works.
        resp = await session.get("/get")
    assert resp is not None and resp.http_version == "HTTP/2"
    assert time.monotonic() - started < 1.5


async def test_total_deadline_covers_a_slow_body(h2_server: TLSServer) -> None:
    """The total deadline also bounds reading the body, not just the headers."""
    async with _session(h2_server, raise_errors=True) as session:
        with pytest.raises(ReadTimeout, match="total deadline"):
            await session.get("/stream/200", timeout=0.2)


async def test_body_over_cap_by_content_length(h2_server: TLSServer) -> None:
    """max_body_size refuses a response whose Content-Length is over it."""
    security = SecurityConfig(max_body_size=1000)
    async with _session(h2_server, security=security, raise_errors=True) as session:
        with pytest.raises(ResponseTooLarge, match="Content-Length is 5000 bytes"):
            await session.get("/bytes/5000")
        resp = await session.get("/bytes/1000")
    assert resp is not None and len(resp.content) == 1000


async def test_head_is_not_refused_for_its_content_length(h2_server: TLSServer) -> None:
    """HEAD has no body, so a large Content-Length in its answer is not over max_body_size."""
    security = SecurityConfig(max_body_size=1000)
    async with _session(h2_server, security=security, raise_errors=True) as session:
        resp = await session.head("/bytes/5000")
    assert resp is not None
    assert resp.headers["content-length"] == "5000" and resp.content == b""


async def test_body_over_cap_while_streaming(h2_server: TLSServer) -> None:
    """A body without Content-Length is cut off as soon as it grows past max_body_size."""
    security = SecurityConfig(max_body_size=500)
    async with _session(h2_server, security=security, raise_errors=True) as session:
        with pytest.raises(ResponseTooLarge, match="grew past it"):
            await session.get("/stream/50")


async def test_decoded_body_over_cap(h2_server: TLSServer) -> None:
    """The cap applies to the decoded body: a small gzip that inflates past it is refused."""
    security = SecurityConfig(max_body_size=10_000)
    async with _session(h2_server, security=security, raise_errors=True) as session:
        with pytest.raises(ResponseTooLarge, match="decoded to more than"):
            await session.get("/gzip/200000")
        resp = await session.get("/gzip/5000")
    assert resp is not None and resp.content == b"\0" * 5000


async def test_untrusted_certificate(h2_server: TLSServer) -> None:
    """A server certificate from a CA we do not trust raises TLSError(kind="certificate")."""
    stranger = ca_context(trustme.CA())
    async with AsyncSession(http2=True, verify=stranger, raise_errors=True) as session:
        with pytest.raises(TLSError) as info:
            await session.get(h2_server.url + "/get")
    assert info.value.kind == "certificate"
    assert "TLS certificate check failed" in str(info.value)


async def test_hostname_mismatch(wrong_host_server: TLSServer) -> None:
    """A trusted certificate for another host name raises TLSError(kind="hostname")."""
    async with _session(wrong_host_server, raise_errors=True) as session:
        with pytest.raises(TLSError) as info:
            await session.get("/get")
    assert info.value.kind == "hostname"
    assert "127.0.0.1" in str(info.value)


async def test_http1_only_server_falls_back(tls_server: TLSServer) -> None:
    """Against a server that offers only http/1.1 by ALPN, http2=True speaks HTTP/1.1."""
    async with _session(tls_server) as session:
        resp = await session.get("/get")
    assert resp is not None
    assert resp.http_version == "HTTP/1.1"
    assert tls_server.versions("/get") == {"HTTP/1.1"}


async def test_connection_refused_is_connect_error() -> None:
    """Nothing listening: ConnectError with a masked URL and no engine exception chained."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncSession(http2=True, raise_errors=True) as session:
        with pytest.raises(ConnectError) as info:
            await session.get(f"https://127.0.0.1:{port}/x?api_key=s3cr3t")
    message = str(info.value)
    assert "s3cr3t" not in message and "[REDACTED]" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_per_host_limit_ends_in_pool_timeout(h2_server: TLSServer) -> None:
    """Limits(max_per_host=1) lets one request in flight per origin; a waiter gets PoolTimeout."""
    limits = Limits(max_per_host=1)
    timeout = Timeout(total=5, pool=0.1)
    async with _session(h2_server, limits=limits, raise_errors=True, timeout=timeout) as session:
        results = await asyncio.gather(
            session.get("/delay/0.5"), session.get("/delay/0.5"), return_exceptions=True
        )
    assert sum(isinstance(r, PoolTimeout) for r in results) == 1
    assert sum(not isinstance(r, BaseException) for r in results) == 1


async def test_close_releases_connections_without_warnings(h2_server: TLSServer) -> None:
    """Closing the session closes its TLS connections and leaves no ResourceWarning behind."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = _session(h2_server)
        async with session:
            await asyncio.gather(*(session.get("/get") for _ in range(5)))
            open_before = _established_to(h2_server.port)
        assert session.is_closed
        await asyncio.sleep(0.05)
        open_after = _established_to(h2_server.port)
        del session
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    if open_before is not None:
        assert open_before >= 1
        assert open_after == 0


async def test_session_used_after_close(h2_server: TLSServer) -> None:
    """A closed HTTP/2 session refuses requests with SessionClosedError."""
    session = _session(h2_server, raise_errors=True)
    async with session:
        assert await session.get("/get") is not None
    with pytest.raises(SessionClosedError):
        await session.get("/get")


async def test_missing_engine_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the transport without httpx2 installed fails with the pip install hint."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "httpx2" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "fasthttp.transport.http2", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'fasthttp-client\[http2\]'"):
        importlib.import_module("fasthttp.transport.http2")
    monkeypatch.undo()
    module = importlib.import_module("fasthttp.transport.http2")
    transport = module.HTTP2Transport(TransportOptions())
    await transport.aclose()
