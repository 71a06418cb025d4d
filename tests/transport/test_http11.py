"""HTTP11Transport over real TCP: framing, pooling, retries, timers, cancellation, TLS, proxies, SSRF, streams."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import ipaddress
import socket
import ssl
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import trustme

from fasthttp import (
    AsyncSession,
    ConnectError,
    ConnectTimeout,
    DecodingError,
    Limits,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    ResponseTooLarge,
    SecurityConfig,
    SSRFBlocked,
    Timeout,
    TLSError,
    WriteTimeout,
)
from fasthttp.decoders import brotli_available
from fasthttp.testing import LocalServer
from fasthttp.testing.faults import (
    FaultContext,
    FaultServer,
    Reader,
    Script,
    Writer,
    blackhole,
    chunked,
    close_without_response,
    drip,
    garbage_status,
    gzip_bomb,
    gzip_lie,
    never_read,
    no_body,
    ok,
    oversized_headers,
    raw,
    reset_mid_body,
    respond,
    response_head,
    sequence,
    stacked_codings,
    stall_headers,
    truncated,
    truncated_chunked,
)
from fasthttp.tls import build_ssl_context
from fasthttp.transport.base import TransportOptions
from fasthttp.transport.h11_protocol import BULK_BUFFER, HIGH_WATER
from fasthttp.transport.http11 import HTTP11Transport
from tests.support.proxy import ForwardProxy
from tests.support.tls import TLSServer, ca_context

pytestmark = pytest.mark.timeout(30)

Factory = Callable[..., Awaitable[FaultServer]]


# -- helpers ------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def h11(
    *,
    limits: Limits | None = None,
    security: SecurityConfig | bool = True,
    verify: Any = True,
    proxy: str | None = None,
    trust_env: bool = False,
    **session_options: Any,
) -> AsyncIterator[AsyncSession]:
    """An AsyncSession on an HTTP11Transport built like the session builds its own."""
    config = SecurityConfig.coerce(security)
    limits = limits or Limits()
    transport = HTTP11Transport(
        TransportOptions(
            limits=limits,
            ssl_context=build_ssl_context(verify),
            proxy=proxy,
            trust_env=trust_env,
            security=config,
        )
    )
    session_options.setdefault("raise_errors", True)
    session_options.setdefault("timeout", Timeout(total=10))
    try:
        async with AsyncSession(
            transport=transport, security=config, limits=limits, proxy=proxy, **session_options
        ) as s:
            yield s
    finally:
        await transport.aclose()


def transport_of(session: AsyncSession) -> HTTP11Transport:
    """The session's HTTP11Transport (its counters are what the pool tests look at)."""
    transport = session._transport
    assert isinstance(transport, HTTP11Transport)
    return transport


async def eventually(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``predicate()`` every 10 ms until true (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture
async def faults() -> AsyncIterator[Factory]:
    """``await faults(script, **options)`` starts a FaultServer; at teardown each one must have no
    connection left open and no script error."""
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


def echo_length() -> Script:
    """A script that reads the request body and answers with its length and framing."""

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        body = await ctx.read_body()
        length = ctx.request.header("content-length")
        answer = f"{'chunked' if ctx.request.header('transfer-encoding') else f'length={length}'} {len(body)}".encode()
        await ctx.send(response_head(200, [("Content-Length", str(len(answer)))]) + answer)

    return script


# -- requests and framing ---------------------------------------------------------------------------
async def test_get_json_status_reason_version_and_lazy_headers(shared_server: LocalServer) -> None:
    """A GET returns status, reason, HTTP version, body and case-insensitive headers."""
    async with h11() as session:
        response = await session.get(f"{shared_server.url}/json")
    assert response is not None
    assert (response.status_code, response.reason, response.http_version) == (200, "OK", "HTTP/1.1")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["slideshow"]


async def test_request_head_has_host_accept_and_accept_encoding(faults: Factory) -> None:
    """The head carries Host (port included), Accept, Accept-Encoding and the session's User-Agent."""
    server = await faults(ok())
    async with h11() as session:
        await session.get(f"{server.url}/path?q=1", headers={"X-One": "1"})
    record = server.log[0]
    assert record.target == "/path?q=1" and record.version == "HTTP/1.1"
    assert record.header("host") == f"127.0.0.1:{server.port}"
    assert record.header("accept") == "*/*"
    assert "gzip" in (record.header("accept-encoding") or "")
    assert record.header("user-agent") is not None and record.header("x-one") == "1"


async def test_every_verb_and_body_kind(server: LocalServer) -> None:
    """GET, POST (json, form, bytes), PUT, PATCH, DELETE, OPTIONS reach the server with their bodies."""
    async with h11(base_url=server.url) as session:
        assert (await session.post("/post", json={"a": 1})).json()["json"] == {"a": 1}  # type: ignore[union-attr]
        assert (await session.post("/post", data={"k": "v"})).json()["form"] == {"k": "v"}  # type: ignore[union-attr]
        assert (await session.put("/put", content=b"raw")).json()["data"] == "raw"  # type: ignore[union-attr]
        assert (await session.patch("/patch", content=b"p")).status_code == 200  # type: ignore[union-attr]
        assert (await session.delete("/delete")).status_code == 200  # type: ignore[union-attr]
        assert (await session.options("/anything")).status_code == 200  # type: ignore[union-attr]
    assert [r.method for r in server.requests] == ["POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def test_bodiless_post_says_content_length_zero(faults: Factory) -> None:
    """A POST without a body sends Content-Length: 0; a GET sends no framing header."""
    server = await faults(ok())
    async with h11() as session:
        await session.post(f"{server.url}/")
        await session.get(f"{server.url}/")
    assert server.log[0].header("content-length") == "0"
    assert server.log[1].header("content-length") is None and server.log[1].header("transfer-encoding") is None


async def test_streamed_upload_uses_chunked_coding(faults: Factory) -> None:
    """An async iterable body is sent with Transfer-Encoding: chunked and arrives whole."""

    async def parts() -> AsyncIterator[bytes]:
        for i in range(50):
            yield b"x" * (1000 + i)
            if i % 10 == 0:
                await asyncio.sleep(0)

    server = await faults(echo_length())
    async with h11() as session:
        response = await session.post(f"{server.url}/", content=parts())
    assert response is not None and response.text == f"chunked {sum(1000 + i for i in range(50))}"


async def test_streamed_upload_with_announced_length_is_not_chunked(faults: Factory) -> None:
    """A caller's Content-Length with an async iterable body frames it by length instead of chunks."""

    async def parts() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"defg"

    server = await faults(echo_length())
    async with h11() as session:
        response = await session.post(f"{server.url}/", content=parts(), headers={"Content-Length": "7"})
    assert response is not None and response.text == "length=7 7"


async def test_large_bytes_upload_in_pieces(faults: Factory) -> None:
    """A 6 MiB bytes body is written in pieces under flow control and arrives whole."""
    server = await faults(echo_length())
    async with h11() as session:
        response = await session.post(f"{server.url}/", content=b"u" * (6 * 1024 * 1024))
    assert response is not None and response.text == f"length={6 * 1024 * 1024} {6 * 1024 * 1024}"


async def test_chunked_body_with_extensions_and_trailers(faults: Factory) -> None:
    """A chunked body with chunk extensions and trailer fields is decoded exactly; the connection is reused."""
    body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    head = response_head(200, [("Transfer-Encoding", "chunked")])
    server = await faults(raw(head + body, then="keep"))
    async with h11() as session:
        first = await session.get(f"{server.url}/")
        second = await session.get(f"{server.url}/")
    assert first is not None and first.content == b"hello world"
    assert second is not None and second.content == b"hello world"
    assert server.connections_used() == [0, 0]


async def test_close_delimited_body(faults: Factory) -> None:
    """A body with neither Content-Length nor chunked coding runs until the server closes."""
    server = await faults(raw(response_head(200, [("Content-Type", "text/plain")]) + b"until the end", then="close"))
    async with h11() as session:
        response = await session.get(f"{server.url}/")
        assert response is not None and response.content == b"until the end"
        assert transport_of(session).connections_open == 0


async def test_connection_close_response_is_not_pooled(faults: Factory) -> None:
    """A response with Connection: close is read, then its connection closed; the next request opens another."""
    head = response_head(200, [("Content-Length", "2"), ("Connection", "close")])
    server = await faults(raw(head + b"ok", then="hold"))
    async with h11() as session:
        assert (await session.get(f"{server.url}/")).content == b"ok"  # type: ignore[union-attr]
        assert await server.wait_open(0)
        server.script = ok(b"again")
        assert (await session.get(f"{server.url}/")).content == b"again"  # type: ignore[union-attr]
    assert server.connections_used() == [0, 1]


async def test_request_connection_close_is_honoured(faults: Factory) -> None:
    """A request with Connection: close is not followed by another on the same connection."""
    server = await faults(ok())
    async with h11() as session:
        await session.get(f"{server.url}/", headers={"Connection": "close"})
        assert await server.wait_open(0)
        await session.get(f"{server.url}/")
    assert server.connections_used() == [0, 1]


async def test_http10_response_without_keep_alive_is_not_reused(faults: Factory) -> None:
    """An HTTP/1.0 response without Connection: keep-alive closes its connection."""
    server = await faults(raw(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", then="hold"))
    async with h11() as session:
        response = await session.get(f"{server.url}/")
        assert response is not None and response.http_version == "HTTP/1.0"
        assert await server.wait_open(0)


async def test_head_204_304_read_no_body_and_stay_reusable(faults: Factory) -> None:
    """HEAD (Content-Length or chunked), 204 and 304 with framing headers: no body read, one connection."""
    server = await faults(
        sequence(
            no_body(200, [("Content-Length", "1000")]),
            no_body(200, [("Transfer-Encoding", "chunked")]),
            no_body(200, []),
            no_body(204, [("Transfer-Encoding", "chunked")]),
            no_body(304, [("Content-Length", "1000")]),
        )
    )
    async with h11(timeout=Timeout(total=2)) as session:
        for method, status in (("HEAD", 200), ("HEAD", 200), ("HEAD", 200), ("GET", 204), ("GET", 304)):
            response = await session.send(session.build_request(method, f"{server.url}/"))
            assert (response.status_code, response.content) == (status, b"")
    assert server.connections_used() == [0, 0, 0, 0, 0]


async def test_informational_responses_are_skipped(faults: Factory) -> None:
    """100 Continue and 103 Early Hints before the response are skipped; the final response is returned."""
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    data += response_head(201, [("Content-Length", "4")]) + b"made"
    server = await faults(raw(data, then="keep"))
    async with h11() as session:
        response = await session.send(session.build_request("GET", f"{server.url}/"))
        assert (response.status_code, response.content) == (201, b"made")
        assert (await session.send(session.build_request("GET", f"{server.url}/"))).status_code == 201
    assert server.connections_used() == [0, 0]


async def test_large_head_within_the_bounds_is_accepted(faults: Factory) -> None:
    """90 fields of 8000 bytes (a 720 KB head, arriving in many reads) are within the bounds, as with aiohttp."""
    server = await faults(ok(headers=[(f"X-Filler-{i}", "v" * 8000) for i in range(90)]))
    async with h11() as session:
        response = await session.get(f"{server.url}/")
    assert response is not None and response.headers["x-filler-89"] == "v" * 8000


async def test_repeated_response_fields_are_kept(faults: Factory) -> None:
    """Repeated header fields (Set-Cookie) are all kept, in order."""
    server = await faults(ok(headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Custom", " padded ")]))
    async with h11() as session:
        response = await session.get(f"{server.url}/")
    assert response is not None
    assert response.headers.getall("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-custom"] == "padded" and response.cookies == {"a": "1", "b": "2"}


async def test_changed_headers_on_the_same_url_are_sent(faults: Factory) -> None:
    """The cached request head is rebuilt when the headers change for the same method and URL."""
    server = await faults(ok())
    async with h11() as session:
        for token in ("one", "two", "two", "three"):
            await session.get(f"{server.url}/same", headers={"X-Token": token})
    assert [r.header("x-token") for r in server.log] == ["one", "two", "two", "three"]


async def test_header_with_a_line_break_added_by_middleware_is_refused(faults: Factory) -> None:
    """A header a middleware adds with CR/LF in its value is refused before anything is sent."""
    from fasthttp.exceptions import InvalidHeader
    from fasthttp.models import Request

    class Inject:
        async def __call__(self, request: Request, call_next: Any) -> Any:
            request.headers["X-Evil"] = "a\r\nInjected: 1"
            return await call_next(request)

    server = await faults(ok())
    async with h11(middleware=[Inject()]) as session:
        with pytest.raises(InvalidHeader, match="CR, LF or NUL") as caught:
            await session.get(f"{server.url}/")
    assert "Injected" not in str(caught.value)
    assert server.requests == 0


# -- protocol errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("script", "match"),
    [
        (garbage_status(), "invalid HTTP response"),
        (truncated(13, 10), "cut short"),
        (truncated_chunked(), "cut short"),
        (raw(response_head(200, [("Transfer-Encoding", "chunked")]) + b"zz\r\nhello\r\n", then="close"), "cut short"),
        (oversized_headers(line=100_000), "longer than 8190 bytes"),
        (oversized_headers(count=1000), "more than 100 header fields"),
        (oversized_headers(line=1_000_000), "larger than"),
        (close_without_response(), "without sending a complete response"),
    ],
    ids=[
        "garbage",
        "short-length",
        "eof-before-last-chunk",
        "bad-chunk-size",
        "long-line",
        "many-fields",
        "endless-head",
        "no-response",
    ],
)
async def test_broken_responses_raise_protocol_error(faults: Factory, script: Script, match: str) -> None:
    """Garbage, short bodies, bad chunks, oversized heads and silent closes are ProtocolError; pool whole."""
    server = await faults(script)
    async with h11() as session:
        with pytest.raises(ProtocolError, match=match) as caught:
            await session.get(f"{server.url}/")
        assert caught.value.__suppress_context__ and caught.value.request is not None
        assert transport_of(session).pool_free == 100
        assert await eventually(lambda: transport_of(session).connections_open == 0)


async def test_reset_mid_body_is_read_error(faults: Factory) -> None:
    """A TCP RST in the middle of the body raises ReadError at once; the connection is gone."""
    server = await faults(reset_mid_body(100_000, 1000))
    async with h11() as session:
        started = time.monotonic()
        with pytest.raises(ReadError, match="reset while the body was being read"):
            await session.get(f"{server.url}/")
        assert time.monotonic() - started < 2
        assert transport_of(session).connections_open == 0


async def test_unsolicited_bytes_after_a_response_retire_the_connection(faults: Factory) -> None:
    """Bytes after a complete response (a second, unrequested one) mean that connection is not reused."""
    data = response_head(200, [("Content-Length", "2")]) + b"ok" + response_head(200, [("Content-Length", "3")])
    server = await faults(raw(data + b"bad", then="hold"))
    async with h11() as session:
        assert (await session.get(f"{server.url}/")).content == b"ok"  # type: ignore[union-attr]
        assert await server.wait_open(0)
        server.script = ok(b"fresh")
        assert (await session.get(f"{server.url}/")).content == b"fresh"  # type: ignore[union-attr]
    assert server.connections_used() == [0, 1]


async def test_error_messages_mask_secrets(faults: Factory) -> None:
    """Error sentences mask credentials in the URL's query string."""
    server = await faults(garbage_status())
    async with h11() as session:
        with pytest.raises(ProtocolError) as caught:
            await session.get(f"{server.url}/?api_key=hunter2")
    assert "hunter2" not in str(caught.value) and "REDACTED" in str(caught.value)


# -- decoding and caps ------------------------------------------------------------------------------------
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, deflate"])
async def test_content_codings_are_decoded(faults: Factory, coding: str) -> None:
    """gzip, deflate, br and two stacked codings are undone; the connection stays pooled."""
    if coding == "br" and not brotli_available():
        pytest.skip("brotli is not installed")
    body = b"payload " * 1000
    encoded = body
    for name in [c.strip() for c in coding.split(",")]:
        if name == "gzip":
            encoded = gzip.compress(encoded)
        elif name == "deflate":
            encoded = zlib.compress(encoded)
        else:
            import brotli

            encoded = brotli.compress(encoded)
    server = await faults(ok(encoded, headers=[("Content-Encoding", coding)]))
    async with h11() as session:
        assert (await session.get(f"{server.url}/")).content == body  # type: ignore[union-attr]
        assert (await session.get(f"{server.url}/")).content == body  # type: ignore[union-attr]
    assert server.connections_used() == [0, 0]


async def test_bad_and_stacked_codings_are_decoding_errors(faults: Factory) -> None:
    """A plain body labelled gzip and three stacked codings raise DecodingError."""
    server = await faults(gzip_lie())
    async with h11() as session:
        with pytest.raises(DecodingError, match="gzip"):
            await session.get(f"{server.url}/")
        server.script = stacked_codings(3)
        with pytest.raises(DecodingError, match="3 stacked content codings"):
            await session.get(f"{server.url}/")
        assert transport_of(session).pool_free == 100


async def test_decompression_bomb_in_bounded_memory(faults: Factory) -> None:
    """A 50 MiB gzip bomb against a 1 MiB cap fails with ResponseTooLarge, peak memory a few MiB."""
    server = await faults(gzip_bomb(50 * 1024 * 1024))
    async with h11(security=SecurityConfig(max_body_size=1024 * 1024)) as session:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                await session.get(f"{server.url}/")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 6 * 1024 * 1024, f"peak {peak} bytes while refusing a bomb"


async def test_body_cap_by_content_length_and_by_size(faults: Factory) -> None:
    """A body over max_body_size fails: by its Content-Length early, or as a chunked body grows."""
    big = b"y" * (600 * 1024)
    server = await faults(ok(big))
    async with h11(security=SecurityConfig(max_body_size=512 * 1024)) as session:
        with pytest.raises(ResponseTooLarge, match="Content-Length is 614400 bytes"):
            await session.get(f"{server.url}/")
        server.script = chunked([big[:300_000], big[300_000:]])
        with pytest.raises(ResponseTooLarge, match="grew past"):
            await session.get(f"{server.url}/")
        server.script = ok(b"z" * (512 * 1024))
        assert len((await session.get(f"{server.url}/")).content) == 512 * 1024  # type: ignore[union-attr]


# -- keep-alive, retries, idle expiry ----------------------------------------------------------------------
async def test_sequential_requests_reuse_one_connection(faults: Factory) -> None:
    """20 sequential requests travel on one keep-alive connection."""
    server = await faults(ok())
    async with h11() as session:
        for _ in range(20):
            await session.get(f"{server.url}/")
        transport = transport_of(session)
        assert (transport.connections_open, transport.connections_idle, transport.pool_free) == (1, 1, 100)
    assert server.connections_used() == [0] * 20


async def test_stale_connection_retried_once_for_idempotent_methods(faults: Factory) -> None:
    """A stale reused connection: GET/PUT resent once on a new one; POST and a streamed PUT fail, sent once."""
    server = await faults(sequence(ok(b"one"), close_without_response(), ok(b"two")))
    async with h11() as session:
        assert (await session.get(f"{server.url}/a")).content == b"one"  # type: ignore[union-attr]
        assert (await session.get(f"{server.url}/b")).content == b"two"  # type: ignore[union-attr]
        assert server.connections_used() == [0, 0, 1]
        server.script = sequence(close_without_response(), ok(b"put"))
        server.requests = 0
        assert (await session.put(f"{server.url}/c", content=b"x")).content == b"put"  # type: ignore[union-attr]
        server.script = close_without_response()
        with pytest.raises(ProtocolError, match="without sending a complete response"):
            await session.post(f"{server.url}/d", content=b"payload")

        async def stream() -> AsyncIterator[bytes]:
            yield b"once"

        server.script = sequence(ok(b"fresh"), close_without_response())
        server.requests = 0
        assert (await session.get(f"{server.url}/e")).content == b"fresh"  # type: ignore[union-attr]
        with pytest.raises(ProtocolError):
            await session.put(f"{server.url}/f", content=stream())
    methods = [r.method for r in server.log]
    assert methods == ["GET", "GET", "GET", "PUT", "PUT", "POST", "GET", "PUT"]


async def test_idle_connection_closed_by_server_is_replaced(faults: Factory) -> None:
    """A pooled connection the server closed while idle is noticed and replaced: a POST succeeds."""
    server = await faults(ok(b"first", idle_close=0.05))
    async with h11() as session:
        assert (await session.get(f"{server.url}/")).content == b"first"  # type: ignore[union-attr]
        assert await server.wait_open(0)
        assert await eventually(lambda: transport_of(session).connections_open == 0)
        server.script = ok(b"second")
        assert (await session.post(f"{server.url}/", content=b"x")).content == b"second"  # type: ignore[union-attr]
    assert server.connections_used() == [0, 1]


async def test_idle_connections_expire(faults: Factory) -> None:
    """An idle connection is closed by the client after keepalive_expiry."""
    server = await faults(ok())
    async with h11(limits=Limits(keepalive_expiry=0.2)) as session:
        await session.get(f"{server.url}/")
        assert transport_of(session).connections_idle == 1
        assert await server.wait_open(0, timeout=2)
        assert transport_of(session).connections_open == 0
        await session.get(f"{server.url}/")
    assert server.connections_used() == [0, 1]


async def test_one_timer_handle_serves_many_requests(faults: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """200 sequential requests with total and read timeouts schedule only a handful of loop timers."""
    server = await faults(ok())
    loop = asyncio.get_running_loop()
    calls = Counter[str]()
    original = loop.call_at

    def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        calls[getattr(callback, "__qualname__", "?")] += 1
        return original(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting)
    async with h11(timeout=Timeout(total=30, read=20)) as session:
        for _ in range(200):
            await session.get(f"{server.url}/")
    assert calls["H11Connection._on_timer"] <= 3, calls


async def test_read_timer_not_armed_on_pooled_connection(faults: Factory) -> None:
    """A connection idle longer than the read timeout (after a buffered and a streamed response) is reused."""
    server = await faults(ok())
    async with h11(timeout=Timeout(total=5, read=0.2)) as session:
        assert await session.get(f"{server.url}/one") is not None
        async with session.stream("GET", f"{server.url}/two", timeout=Timeout(total=None, read=0.2)) as response:
            assert await response.aread() == b"ok"
        await asyncio.sleep(0.5)
        assert await session.get(f"{server.url}/three") is not None
    assert server.connections_used() == [0, 0, 0]


# -- timeouts ---------------------------------------------------------------------------------------------
async def test_read_timeout_when_headers_never_arrive(faults: Factory) -> None:
    """No response head within the read timeout: ReadTimeout on time; connection closed."""
    server = await faults(stall_headers())
    async with h11(timeout=Timeout(total=5, read=0.3)) as session:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="read timeout"):
            await session.get(f"{server.url}/")
        assert 0.25 < time.monotonic() - started < 1.5
        assert transport_of(session).connections_open == 0


async def test_total_deadline_ends_a_dripping_body(faults: Factory) -> None:
    """A body dripping under the read timeout still ends at the total deadline."""
    server = await faults(drip(size=200, interval=0.1))
    async with h11(timeout=Timeout(total=0.8, read=0.5)) as session:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="total deadline"):
            await session.get(f"{server.url}/")
        assert 0.7 < time.monotonic() - started < 1.6


async def test_connect_timeout_on_a_blackholed_port() -> None:
    """A connect whose SYN is never answered raises ConnectTimeout after the connect timeout."""
    async with blackhole() as port, h11(timeout=Timeout(total=5, connect=0.3)) as session:
        started = time.monotonic()
        with pytest.raises(ConnectTimeout, match="Connecting"):
            await session.get(f"http://127.0.0.1:{port}/")
        assert time.monotonic() - started < 2
        assert transport_of(session).pool_free == 100 and transport_of(session).connections_open == 0


async def test_write_timeout_when_the_server_never_reads(faults: Factory) -> None:
    """A 16 MiB upload the server never reads raises WriteTimeout after the write timeout."""
    server = await faults(never_read(hold=2.0), rcvbuf=16384)
    async with h11(timeout=Timeout(total=5, write=0.3)) as session:
        started = time.monotonic()
        with pytest.raises(WriteTimeout, match="write timeout"):
            await session.post(f"{server.url}/upload", content=b"u" * (16 * 1024 * 1024))
        assert time.monotonic() - started < 1.5
        assert transport_of(session).connections_open == 0


async def test_early_answer_to_an_unread_upload_is_returned(faults: Factory) -> None:
    """The server answers 413 without reading a 16 MiB upload: the 413 is returned, the connection closed."""
    server = await faults(never_read(status=413, hold=0.3), rcvbuf=16384)
    async with h11(raise_errors=False) as session:
        response = await session.send(session.build_request("POST", f"{server.url}/", content=b"u" * (16 << 20)))
        assert response.status_code == 413
        assert await eventually(lambda: transport_of(session).connections_open == 0)


async def test_pool_timeout_and_per_host_limit(faults: Factory) -> None:
    """max_per_host caps the connections to an origin; with its slots held, PoolTimeout after the pool timeout."""
    server = await faults(drip(size=20, interval=0.02))
    async with h11(limits=Limits(max_connections=10, max_per_host=2)) as session:
        results = await asyncio.gather(*(session.get(f"{server.url}/{i}") for i in range(8)))
        assert all(r is not None and len(r.content) == 20 for r in results)
        assert server.max_open <= 2
        async with session.stream("GET", f"{server.url}/a"), session.stream("GET", f"{server.url}/b"):
            with pytest.raises(PoolTimeout, match="allowed to this host"):
                await session.get(f"{server.url}/c", timeout=Timeout(total=5, pool=0.1))
        assert transport_of(session).pool_free == 10


async def test_open_connections_stay_under_max_connections(faults: Factory) -> None:
    """Alternating between two origins with max_connections=2 never leaves more than two sockets open."""
    one, two = await faults(ok()), await faults(ok())
    async with h11(limits=Limits(max_connections=2)) as session:
        for i in range(6):
            await asyncio.gather(*(session.get(f"{s.url}/{i}") for s in (one, two, one, two)))
            assert transport_of(session).connections_open <= 2
    assert one.max_open + two.max_open <= 4


# -- cancellation -----------------------------------------------------------------------------------------
async def burst(session: AsyncSession, url: str, total: int = 1000, concurrency: int = 100) -> Counter[int]:
    """``total`` GETs at ``concurrency`` in flight; the status counts."""
    numbers = iter(range(total))
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        for i in numbers:
            response = await session.send(session.build_request("GET", f"{url}/burst?i={i}"))
            statuses[response.status_code] += 1

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), 20)
    return statuses


async def assert_whole(session: AsyncSession, server: FaultServer, limit: int) -> None:
    """Every slot free, no socket left on the server, and a burst of 1000 requests succeeds."""
    transport = transport_of(session)
    assert transport.pool_free == limit
    assert await server.wait_open(0), f"{server.open} connection(s) still open"
    assert transport.connections_open == 0
    server.script = ok()
    assert await burst(session, server.url) == {200: 1000}
    assert transport.pool_free == limit


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end with CancelledError."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_while_waiting_for_a_slot(faults: Factory) -> None:
    """Cancelled while queued for the only slot: the queue empties, counts unchanged, pool whole."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with h11(limits=Limits(max_connections=1)) as session:
        transport = transport_of(session)
        async with session.stream("GET", f"{server.url}/held"):
            queued = asyncio.create_task(session.get(f"{server.url}/queued"))
            assert await eventually(lambda: transport._gate.waiting == 1)
            await cancel(queued)
            assert transport._gate.waiting == 0 and transport.pool_free == 0
        await assert_whole(session, server, 1)


async def test_cancel_while_connecting(faults: Factory) -> None:
    """Cancelled during a TLS handshake that never completes: slot back, half-open socket closed."""
    stalled = await faults(handshake="stall")
    server = await faults(ok())
    async with h11(limits=Limits(max_connections=1), timeout=Timeout(total=10, connect=5)) as session:
        task = asyncio.create_task(session.get(f"{stalled.url}/"))
        assert await eventually(lambda: stalled.accepted == 1)
        assert transport_of(session).pool_free == 0
        await cancel(task)
        assert await stalled.wait_open(0)
        await assert_whole(session, server, 1)


async def test_cancel_while_writing(faults: Factory) -> None:
    """Cancelled while a 16 MiB upload is blocked: slot back, connection closed."""
    server = await faults(never_read(hold=0.3), rcvbuf=16384)
    async with h11(limits=Limits(max_connections=1)) as session:
        task = asyncio.create_task(session.post(f"{server.url}/upload", content=b"u" * (16 << 20)))
        assert await server.wait_requests(1)
        await asyncio.sleep(0.1)
        assert not task.done()
        await cancel(task)
        await assert_whole(session, server, 1)


async def test_cancel_while_reading(faults: Factory) -> None:
    """Cancelled mid-body: slot back, the half-read connection closed, never pooled."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with h11(limits=Limits(max_connections=1)) as session:
        task = asyncio.create_task(session.get(f"{server.url}/"))
        assert await server.wait_requests(1)
        await asyncio.sleep(0.05)
        await cancel(task)
        assert transport_of(session).connections_idle == 0
        await assert_whole(session, server, 1)


@pytest.mark.parametrize("how", ["break", "cancel"])
async def test_stream_abandoned_mid_body(faults: Factory, how: str) -> None:
    """A stream left mid-body (break, or its task cancelled): slot back, connection closed, not drained."""
    server = await faults(drip(size=100_000, interval=0.01, first=100))
    async with h11(limits=Limits(max_connections=1)) as session:
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
            await cancel(task)
        else:
            await asyncio.wait_for(task, 5)
        await assert_whole(session, server, 1)


async def test_stream_dropped_without_close_warns_and_frees_its_slot(faults: Factory) -> None:
    """A streamed response garbage-collected unclosed warns ResourceWarning, frees its slot, closes its socket."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with h11(limits=Limits(max_connections=1)) as session:
        response = await session.send(session.build_request("GET", f"{server.url}/"), stream=True)
        assert transport_of(session).pool_free == 0
        with pytest.warns(ResourceWarning, match="garbage-collected"):
            del response
            gc.collect()
        await assert_whole(session, server, 1)


async def test_session_closed_while_streaming_raises_read_error(faults: Factory) -> None:
    """Closing the transport while a response streams fails the read with ReadError."""
    server = await faults(drip(size=1000, interval=0.05, first=10))
    got_first = asyncio.Event()
    async with h11() as session:

        async def consume() -> None:
            async with session.stream("GET", f"{server.url}/") as response:
                async for _chunk in response.aiter_bytes():
                    got_first.set()

        reader = asyncio.create_task(consume())
        await asyncio.wait_for(got_first.wait(), 3)
        await transport_of(session).aclose()
        with pytest.raises(ReadError, match="session was closed"):
            await asyncio.wait_for(reader, 2)
    assert await server.wait_open(0)


async def test_burst_of_1000_at_concurrency_100(faults: Factory) -> None:
    """1000 GETs at 100 in flight all succeed on at most 100 connections; every slot comes back."""
    server = await faults(ok())
    async with h11() as session:
        assert await burst(session, server.url) == {200: 1000}
        transport = transport_of(session)
        assert transport.pool_free == 100 and transport.connections_open <= 100
    assert server.max_open <= 100


# -- streaming --------------------------------------------------------------------------------------------
async def test_stream_yields_chunks_as_they_arrive(faults: Factory) -> None:
    """The first chunk of a dripping body is read long before the body ends."""
    server = await faults(drip(size=20, interval=0.05, first=5))
    async with h11(timeout=Timeout(total=5)) as session:
        started = time.monotonic()
        async with session.stream("GET", f"{server.url}/") as response:
            chunks = [chunk async for chunk in response.aiter_raw()]
            first_at = time.monotonic() - started
    assert len(b"".join(chunks)) == 20
    assert len(chunks) > 1 and first_at < 1


async def test_stream_reading_pauses_for_a_slow_consumer(faults: Factory) -> None:
    """A 32 MiB stream read slowly never queues much more than the high-water mark, and arrives whole."""
    size = 32 * 1024 * 1024
    block = bytes(range(256)) * 256

    async def big(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await ctx.send(response_head(200, [("Content-Length", str(size))]))
        for _ in range(size // len(block)):
            if not await ctx.send(block):
                return

    server = await faults(big)
    async with h11(timeout=Timeout(total=30)) as session:
        high = 0
        total = 0
        async with session.stream("GET", f"{server.url}/") as response:
            conn = response._stream._conn  # type: ignore[attr-defined]
            async for chunk in response.aiter_raw():
                total += len(chunk)
                if conn is not None:
                    high = max(high, conn.queued)
                if total < 4 * 1024 * 1024:
                    await asyncio.sleep(0.002)  # slow at first: the queue fills and reading pauses
    assert total == size
    assert high <= HIGH_WATER + BULK_BUFFER, high  # at most one read past the mark before reading pauses


async def test_large_download_in_flat_memory(shared_server: LocalServer) -> None:
    """A 20 MiB streamed download keeps the client's traced memory to a few MiB."""
    async with h11(timeout=Timeout(total=60)) as session:
        tracemalloc.start()
        try:
            total = 0
            async with session.stream("GET", f"{shared_server.url}/large/{20 * 1024 * 1024}") as response:
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert total == 20 * 1024 * 1024
    assert peak < 6 * 1024 * 1024, peak


async def test_stream_read_timeout_only_while_waiting(faults: Factory) -> None:
    """A stalled stream raises ReadTimeout; a consumer slower than the read timeout is never cut."""
    server = await faults(truncated(1000, 10, keep_open=True))
    async with h11() as session:
        async with session.stream("GET", f"{server.url}/", timeout=Timeout(total=None, read=0.3)) as response:
            with pytest.raises(ReadTimeout, match="read timeout"):
                await response.aread()
        server.script = ok(b"slow reader")
        async with session.stream("GET", f"{server.url}/", timeout=Timeout(total=None, read=0.1)) as response:
            await asyncio.sleep(0.3)  # the body arrived long ago; not reading it is not a timeout
            assert await response.aread() == b"slow reader"


async def test_streamed_gzip_is_decoded(shared_server: LocalServer) -> None:
    """A streamed gzip body is decoded by the StreamResponse; aiter_raw keeps the coding."""
    async with h11() as session:
        async with session.stream("GET", f"{shared_server.url}/gzip") as response:
            raw_bytes = b"".join([c async for c in response.aiter_raw()])
        async with session.stream("GET", f"{shared_server.url}/gzip") as response:
            decoded = b"".join([c async for c in response.aiter_bytes()])
    assert gzip.decompress(raw_bytes) == decoded and b'"gzipped":true' in decoded


# -- TLS --------------------------------------------------------------------------------------------------
async def test_tls_get_and_keep_alive(tls_server: TLSServer) -> None:
    """HTTPS with the session's SSL context works and reuses its TLS connection."""
    async with h11(verify=ca_context(tls_server.ca)) as session:
        for i in range(3):
            response = await session.get(f"{tls_server.url}/get?i={i}")
            assert response is not None and response.json()["http_version"] == "HTTP/1.1"
    assert len(tls_server.connections("/get")) == 1


async def test_tls_untrusted_certificate(tls_server: TLSServer) -> None:
    """A certificate from an unknown CA raises TLSError(kind="certificate")."""
    async with h11(verify=ca_context(trustme.CA())) as session:
        with pytest.raises(TLSError) as caught:
            await session.get(f"{tls_server.url}/get")
    assert caught.value.kind == "certificate" and caught.value.__suppress_context__
    assert tls_server.hits("/get") == 0


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_tls_hostname_and_ip_mismatch(wrong_host_server: TLSServer, host: str) -> None:
    """A trusted certificate for another name raises TLSError(kind="hostname"), by name or by IP."""
    async with h11(verify=ca_context(wrong_host_server.ca)) as session:
        with pytest.raises(TLSError) as caught:
            await session.get(f"https://{host}:{wrong_host_server.port}/get")
    assert caught.value.kind == "hostname"


async def test_tls_garbage_handshake_is_a_protocol_tls_error(faults: Factory) -> None:
    """A server answering the ClientHello with garbage raises TLSError(kind="protocol"), once."""
    broken = await faults(handshake="garbage")
    async with h11() as session:
        with pytest.raises(TLSError) as caught:
            await session.get(f"{broken.url}/")
    assert caught.value.kind == "protocol" and broken.accepted == 1


# -- proxies ----------------------------------------------------------------------------------------------
async def test_http_through_a_proxy(server: LocalServer, forward_proxy: ForwardProxy) -> None:
    """http:// requests go through the proxy in absolute form, kept alive on one proxy connection."""
    async with h11(proxy=forward_proxy.url, base_url=server.url) as session:
        for i in range(3):
            assert (await session.get(f"/get?i={i}")).json()["args"] == {"i": str(i)}  # type: ignore[union-attr]
        assert (await session.post("/post", content=b"payload")).json()["data"] == "payload"  # type: ignore[union-attr]
        assert transport_of(session).connections_open == 1
    assert forward_proxy.count("GET", "/get") == 3 and forward_proxy.count("POST", "/post") == 1


async def test_https_through_a_proxy_uses_connect(tls_server: TLSServer, forward_proxy: ForwardProxy) -> None:
    """https:// goes through a CONNECT tunnel, TLS inside it, and the tunnel is reused."""
    async with h11(proxy=forward_proxy.url, verify=ca_context(tls_server.ca)) as session:
        for _ in range(2):
            response = await session.get(f"{tls_server.url}/get")
            assert response is not None and response.status_code == 200
    assert forward_proxy.count("CONNECT") == 1
    assert forward_proxy.requests[0].target == f"127.0.0.1:{tls_server.port}"


async def test_proxy_credentials_and_absolute_form(faults: Factory) -> None:
    """Proxy credentials from the proxy URL go in Proxy-Authorization: Basic; the target is absolute."""
    fake_proxy = await faults(ok(b"via proxy"))
    proxy = f"http://user:s3cret@127.0.0.1:{fake_proxy.port}"
    async with h11(proxy=proxy) as session:
        response = await session.get("http://example.test:8080/path?q=1")
    assert response is not None and response.content == b"via proxy"
    record = fake_proxy.log[0]
    assert record.target == "http://example.test:8080/path?q=1"
    assert record.header("proxy-authorization") == "Basic dXNlcjpzM2NyZXQ="
    assert record.header("host") == "example.test:8080"


async def test_refused_connect_is_proxy_error(faults: Factory) -> None:
    """A non-2xx answer to CONNECT raises ProxyError naming the status, with credentials masked."""
    fake_proxy = await faults(respond(407, headers=[("Proxy-Authenticate", "Basic")]))
    proxy = f"http://user:s3cret@127.0.0.1:{fake_proxy.port}"
    async with h11(proxy=proxy) as session:
        with pytest.raises(ProxyError, match="407") as caught:
            await session.get("https://example.test/")
    assert "s3cret" not in str(caught.value)
    assert fake_proxy.log[0].method == "CONNECT" and fake_proxy.log[0].target == "example.test:443"
    assert fake_proxy.log[0].header("proxy-authorization") == "Basic dXNlcjpzM2NyZXQ="


async def test_unreachable_proxy_is_proxy_error() -> None:
    """A proxy that refuses connections raises ProxyError without its password."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with h11(proxy=f"http://user:hunter2@127.0.0.1:{port}") as session:
        with pytest.raises(ProxyError, match="Could not connect to the proxy") as caught:
            await session.get("http://example.test/")
    assert "hunter2" not in str(caught.value)


async def test_environment_proxy_with_trust_env(faults: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """trust_env=True (SSRF off) routes through HTTP_PROXY, and NO_PROXY hosts go direct."""
    fake_proxy = await faults(ok(b"proxied"))
    direct = await faults(ok(b"direct"))
    monkeypatch.setenv("HTTP_PROXY", fake_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with h11(security=False, trust_env=True) as session:
        assert (await session.get("http://example.test/")).content == b"proxied"  # type: ignore[union-attr]
        assert (await session.get(f"{direct.url}/")).content == b"direct"  # type: ignore[union-attr]


# -- SSRF -------------------------------------------------------------------------------------------------
@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every address a socket connected to; a non-loopback one is refused and fails the test."""
    addresses: list[tuple[str, int]] = []
    forbidden: list[Any] = []
    original = asyncio.selector_events.BaseSelectorEventLoop.sock_connect

    async def guarded(self: Any, sock: socket.socket, address: Any) -> None:
        host = str(address[0]).partition("%")[0]
        if not ipaddress.ip_address(host).is_loopback:
            forbidden.append(address)
            raise ConnectionRefusedError(f"test tripwire: refused to dial {address!r}")
        addresses.append((host, int(address[1])))
        await original(self, sock, address)

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", guarded)
    yield addresses
    assert forbidden == []


def resolver(answers: dict[str, list[list[str]]]) -> tuple[Callable[[str], Awaitable[list[str]]], list[str]]:
    """An injected resolver giving ``answers[host]`` in turn (the last repeats), and its call log."""
    calls: list[str] = []

    async def resolve(host: str) -> list[str]:
        calls.append(host)
        sequence_ = answers.get(host)
        if not sequence_:
            raise ConnectError(f"Could not resolve the host name {host!r}: unknown to the test resolver.")
        return sequence_.pop(0) if len(sequence_) > 1 else list(sequence_[0])

    return resolve, calls


async def test_ssrf_blocks_a_name_resolving_to_loopback(faults: Factory, dialled: list[tuple[str, int]]) -> None:
    """public.test -> 127.0.0.1 is refused after its DNS answer, before any connection."""
    server = await faults(ok())
    resolve, calls = resolver({"public.test": [["127.0.0.1"]]})
    async with h11(security=SecurityConfig(allow=(), resolver=resolve)) as session:
        with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.1"):
            await session.get(f"http://public.test:{server.port}/")
        with pytest.raises(SSRFBlocked):
            await session.get(f"{server.url}/")  # an internal literal: refused without DNS
    assert calls == ["public.test"] and dialled == [] and server.requests == 0


async def test_ssrf_dials_the_approved_address_with_the_host_name(
    faults: Factory, dialled: list[tuple[str, int]]
) -> None:
    """One DNS answer per connection, the approved IP dialled, the name sent as Host; a rebound answer refused."""
    server = await faults(ok())
    resolve, calls = resolver({"rebind.test": [["127.0.0.1"], ["10.0.0.5"]]})
    url = f"http://rebind.test:{server.port}/"
    async with h11(security=SecurityConfig(allow=("127.0.0.1",), resolver=resolve)) as session:
        await session.get(url)
        await session.get(url, headers={"Connection": "close"})
        assert calls == ["rebind.test"]
        with pytest.raises(SSRFBlocked, match=r"10\.0\.0\.5"):
            await session.get(url)
    assert dialled == [("127.0.0.1", server.port)]
    assert server.log[0].header("host") == f"rebind.test:{server.port}"


async def test_ssrf_tls_keeps_the_name_for_sni_and_the_certificate(
    tls_server: TLSServer, dialled: list[tuple[str, int]]
) -> None:
    """Over TLS the approved IP is dialled while the certificate is checked against the URL's name."""
    resolve, _ = resolver({"localhost.test": [["127.0.0.1"]]})
    ca = tls_server.ca
    async with h11(security=SecurityConfig(allow=("127.0.0.1",), resolver=resolve), verify=ca_context(ca)) as session:
        with pytest.raises(TLSError) as caught:  # the certificate names 127.0.0.1 and localhost only
            await session.get(f"https://localhost.test:{tls_server.port}/get")
    assert caught.value.kind == "hostname"
    assert dialled == [("127.0.0.1", tls_server.port)]


async def test_refused_port_is_connect_error() -> None:
    """A port nobody listens on raises ConnectError (not TLSError), with the slot back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with h11() as session:
        with pytest.raises(ConnectError, match="Could not connect") as caught:
            await session.get(f"http://127.0.0.1:{port}/")
        assert not isinstance(caught.value, TLSError)
        assert transport_of(session).pool_free == 100 and transport_of(session).connections_open == 0


# -- the Transport protocol directly ----------------------------------------------------------------------
async def test_transport_without_a_session(faults: Factory) -> None:
    """The transport answers a bare Request with a float timeout, and closes idempotently."""
    from fasthttp.models import Request

    server = await faults(ok(b"bare"))
    transport = HTTP11Transport(TransportOptions(security=SecurityConfig(ssrf=False)))
    response = await transport.handle(Request("GET", f"{server.url}/", timeout=5.0))
    assert response.content == b"bare" and response.request is not None
    await transport.aclose()
    await transport.aclose()
    assert transport.connections_open == 0


def test_unsupported_proxy_scheme_is_refused() -> None:
    """A proxy URL that is not http:// is refused with a sentence saying what to use."""
    with pytest.raises(ValueError, match="http:// proxy URL"):
        HTTP11Transport(TransportOptions(proxy="socks5://127.0.0.1:1080"))


def test_ssl_context_error_types_are_oserrors() -> None:
    """ssl.SSLError is an OSError: connection errors are mapped in one place (guards an assumption)."""
    assert issubclass(ssl.SSLError, OSError)


async def test_idle_connections_do_not_keep_response_bodies_alive(faults: Factory) -> None:
    """Once a response is read, no pooled connection holds a reference to its body."""
    server = await faults(ok(b"b" * 300_000))
    async with h11() as session:
        response = await session.get(f"{server.url}/")
        assert response is not None and transport_of(session).connections_idle == 1
        content = response.content
        holders = [type(r).__name__ for r in gc.get_referrers(content) if r is not response]
        assert "list" not in holders, holders
