"""Limits end to end: decompression bombs, stacked codings, Content-Length over the cap, header bounds,
redirect count, 303 semantics and the https -> http downgrade."""

from __future__ import annotations

import asyncio
import functools
import gzip
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import pytest
import trustme
from aiohttp import web

from fasthttp import AsyncSession
from fasthttp.config import SecurityConfig
from fasthttp.exceptions import (
    DecodingError,
    InsecureRedirect,
    ProtocolError,
    ResponseTooLarge,
    TooManyRedirects,
)
from fasthttp.testing import LocalServer, serve
from tests.support.scripted import scripted_server
from tests.support.tls import TLSServer, ca_context

GiB = 1024**3
MiB = 1024**2
DEFAULT_CAP = SecurityConfig().max_body_size
SMALL_CAP = 1 * MiB


def serve_other() -> AbstractAsyncContextManager[LocalServer]:
    """Another embedded server, on 127.0.0.2 (another origin)."""
    return serve("127.0.0.2")


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """``Content-Encoding: gzip, gzip``: 1024 gzip members of 1 MiB of zeros (1 GiB decoded), gzipped again.

    Concatenated members are valid gzip (RFC 1952 section 2.2) and build in milliseconds, where one
    1 GiB member takes seconds; on the wire it is about 3 KB."""
    member = gzip.compress(bytes(MiB), 9)
    return gzip.compress(member * 1024, 9)


def bomb_handler(encoding: str, body: bytes) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler answering ``body`` with ``Content-Encoding: encoding``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Encoding": encoding, "Content-Type": "text/plain"})

    return handler


def test_the_bomb_is_small_and_decodes_to_one_gib() -> None:
    """The fixture itself: under 4 KB on the wire; the outer layer undoes to 1024 members of 1 MiB each."""
    bomb = gzip_bomb()
    assert len(bomb) < 4096
    member = gzip.compress(bytes(MiB), 9)
    assert gzip.decompress(bomb) == member * 1024
    assert len(gzip.decompress(member)) == MiB


@pytest.mark.parametrize("cap", [DEFAULT_CAP, SMALL_CAP], ids=["default-cap", "small-cap"])
async def test_gzip_bomb_buffered_fails_clearly_in_bounded_memory(cap: int | None) -> None:
    """A buffered GET of the bomb raises ResponseTooLarge naming the cap; peak memory stays near the cap."""
    assert cap is not None
    async with scripted_server(bomb_handler("gzip, gzip", gzip_bomb())) as url:
        async with AsyncSession(security=SecurityConfig(max_body_size=cap), raise_errors=True) as session:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseTooLarge) as caught:
                    await session.get(url)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    message = str(caught.value)
    assert str(cap) in message and "max_body_size" in message
    assert caught.value.request is not None
    assert peak < cap + 16 * MiB, f"peak {peak / MiB:.1f} MiB for a {cap / MiB:.0f} MiB cap"


async def test_gzip_bomb_streamed_stays_flat() -> None:
    """Streaming the bomb with the default cap keeps memory flat and still ends in ResponseTooLarge."""
    async with scripted_server(bomb_handler("gzip, gzip", gzip_bomb())) as url:
        async with AsyncSession() as session:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseTooLarge):
                    async with session.stream("GET", url) as response:
                        async for _chunk in response.aiter_bytes():
                            pass
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert peak < 8 * MiB


STACKED = gzip.compress(gzip.compress(gzip.compress(b"hello")))


async def fetch(session: AsyncSession, url: str, stream: bool) -> None:
    """GET ``url`` buffered, or streamed and read to the end."""
    if stream:
        async with session.stream("GET", url) as response:
            await response.aread()
    else:
        await session.get(url)


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
async def test_more_than_two_stacked_codings_are_refused(stream: bool) -> None:
    """``gzip, gzip, gzip`` is refused with DecodingError before anything is decoded."""
    async with scripted_server(bomb_handler("gzip, gzip, gzip", STACKED)) as url:
        async with AsyncSession(raise_errors=True) as session:
            with pytest.raises(DecodingError, match="3 stacked content codings"):
                await fetch(session, url, stream)


@pytest.mark.parametrize(
    ("encoding", "body", "stream", "error"),
    [
        pytest.param("gzip, gzip", None, False, ResponseTooLarge, id="bomb-buffered"),
        pytest.param("gzip, gzip", None, True, ResponseTooLarge, id="bomb-streamed"),
        pytest.param("gzip, gzip, gzip", STACKED, False, DecodingError, id="stacked-buffered"),
        pytest.param("gzip, gzip, gzip", STACKED, True, DecodingError, id="stacked-streamed"),
    ],
)
async def test_limit_errors_name_their_request(
    encoding: str, body: bytes | None, stream: bool, error: type[Exception]
) -> None:
    """Every limit error is a RequestError whose .request is the request that hit the limit."""
    async with scripted_server(bomb_handler(encoding, body if body is not None else gzip_bomb())) as url:
        async with AsyncSession(security=SecurityConfig(max_body_size=SMALL_CAP), raise_errors=True) as session:
            with pytest.raises(error) as caught:
                await fetch(session, url, stream)
    request = getattr(caught.value, "request", None)
    assert request is not None and str(request.url).rstrip("/") == url


async def test_content_length_over_the_cap_is_refused_before_reading(server: LocalServer) -> None:
    """/large/64MiB with a 1 MiB cap: refused from the Content-Length; the server saw the request."""
    path = f"/large/{64 * MiB}"
    async with AsyncSession(security=SecurityConfig(max_body_size=SMALL_CAP), raise_errors=True) as session:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge, match=f"Content-Length is {64 * MiB} bytes"):
                await session.get(server.url + path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert server.hits(path) == 1
    assert peak < 4 * MiB


async def test_refused_body_is_not_drained() -> None:
    """The connection of a refused 1 GiB body is closed, not read to the end: the server stops writing early."""
    sent: list[int] = []
    finished = asyncio.Event()
    chunk = bytes(256 * 1024)

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = GiB
        await response.prepare(request)
        written = 0
        try:
            while written < GiB:
                await response.write(chunk)
                written += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            sent.append(written)
            finished.set()
        return response

    async with scripted_server(handler) as url:
        async with AsyncSession(security=SecurityConfig(max_body_size=SMALL_CAP), raise_errors=True) as session:
            with pytest.raises(ResponseTooLarge):
                await session.get(url)
        await asyncio.wait_for(finished.wait(), 10)
    assert sent[0] < 64 * MiB, f"the server wrote {sent[0] / MiB:.0f} MiB of a refused body"


async def test_http2_content_length_over_the_cap(h2_server: TLSServer, tls_ca: trustme.CA) -> None:
    """The HTTP/2 transport refuses a Content-Length over the cap the same way."""
    security = SecurityConfig(max_body_size=1000)
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=security, raise_errors=True) as session:
        with pytest.raises(ResponseTooLarge, match="Content-Length is 5000 bytes"):
            await session.get(f"{h2_server.url}/bytes/5000")
        small = await session.get(f"{h2_server.url}/bytes/1000")
    assert small is not None and len(small.content) == 1000


def many_headers(count: int, size: int = 1) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler answering with ``count`` extra headers of ``size`` bytes each."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", headers={f"X-Filler-{i}": "v" * size for i in range(count)})

    return handler


@pytest.mark.parametrize(
    ("count", "size"),
    [(200, 1), (1, 100 * 1024)],
    ids=["200-headers", "100KB-header"],
)
async def test_oversized_header_blocks_are_a_protocol_error(count: int, size: int) -> None:
    """200 fields or one 100 KB field: ProtocolError (aiohttp defaults max_headers=128, max_field_size=8190)."""
    async with scripted_server(many_headers(count, size)) as url:
        async with AsyncSession(raise_errors=True) as session:
            with pytest.raises(ProtocolError) as caught:
                await session.get(url)
    assert caught.value.request is not None


async def test_header_blocks_within_the_bounds_are_accepted() -> None:
    """90 header fields of 8000 bytes each are accepted: the bounds are 100 fields of 8 KiB each."""
    async with scripted_server(many_headers(90, 8000)) as url:
        async with AsyncSession(raise_errors=True) as session:
            response = await session.get(url)
    assert response is not None and response.headers["X-Filler-89"] == "v" * 8000


async def test_more_than_ten_redirects_raise_too_many_redirects(server: LocalServer) -> None:
    """Eleven redirects raise TooManyRedirects after the tenth hop; ten are followed."""
    async with AsyncSession(raise_errors=True) as session:
        with pytest.raises(TooManyRedirects, match="more than 10 times"):
            await session.get(f"{server.url}/redirect/11")
        assert sum(server.hits(f"/redirect/{n}") for n in range(1, 12)) == 11
        assert server.hits("/get") == 0
        followed = await session.get(f"{server.url}/redirect/10")
    assert followed is not None and len(followed.history) == 10


async def test_303_turns_post_into_get_without_body(server: LocalServer) -> None:
    """POST answered by 303 continues as a GET with no body and no body headers; 307 keeps both."""
    async with AsyncSession(raise_errors=True) as session:
        see_other = await session.post(
            f"{server.url}/redirect-to?url=/anything/after-303&status_code=303", json={"card": "4111"}
        )
        temporary = await session.post(
            f"{server.url}/redirect-to?url=/anything/after-307&status_code=307", json={"card": "4111"}
        )
    assert see_other is not None and see_other.json()["method"] == "GET"
    hop = next(r for r in server.requests if r.path == "/anything/after-303")
    assert hop.method == "GET" and hop.body == b""
    assert hop.header("Content-Type") is None and hop.header("Content-Length") in (None, "0")
    assert temporary is not None and temporary.json()["method"] == "POST"
    kept = next(r for r in server.requests if r.path == "/anything/after-307")
    assert kept.method == "POST" and kept.body == b'{"card":"4111"}'


@pytest.mark.parametrize("http2", [True, False], ids=["http2", "http1"])
async def test_https_to_http_redirect_is_refused(
    http2: bool, h2_server: TLSServer, tls_ca: trustme.CA, server: LocalServer
) -> None:
    """An https page redirecting to http:// raises InsecureRedirect; the http server is never contacted."""
    target = f"{server.url}/get"
    async with AsyncSession(http2=http2, verify=ca_context(tls_ca), raise_errors=True) as session:
        with pytest.raises(InsecureRedirect, match="downgrade https to http"):
            await session.get(f"{h2_server.url}/redirect-to?url={target}")
    assert h2_server.hits("/redirect-to") == 1
    assert server.requests == []


async def test_cross_origin_redirect_strips_standard_credentials(server: LocalServer) -> None:
    """Authorization, Proxy-Authorization and Cookie do not follow a redirect to another origin."""
    async with serve_other() as other:
        headers = {"Authorization": "Bearer t0k", "Proxy-Authorization": "Basic cHg=", "Cookie": "sid=c00kie"}
        async with AsyncSession(security=SecurityConfig(allow=("127.0.0.0/8",)), raise_errors=True) as session:
            await session.get(f"{server.url}/redirect-to?url={other.url}/get", headers=headers)
        hop = other.requests[0]
        assert server.requests[0].header("Authorization") == "Bearer t0k"
        assert [hop.header(name) for name in headers] == [None, None, None]


async def test_cross_origin_redirect_strips_custom_secret_headers(server: LocalServer) -> None:
    """X-API-Key, X-Auth-Token and X-Client-Secret do not follow a redirect to another origin either."""
    async with serve_other() as other:
        headers = {"X-API-Key": "k3y", "X-Auth-Token": "t0k", "X-Client-Secret": "s3c"}
        async with AsyncSession(security=SecurityConfig(allow=("127.0.0.0/8",)), raise_errors=True) as session:
            await session.get(f"{server.url}/redirect-to?url={other.url}/get", headers=headers)
        hop = other.requests[0]
        assert [hop.header(name) for name in headers] == [None, None, None]
