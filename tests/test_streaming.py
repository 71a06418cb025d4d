"""session.stream() over real TCP: first byte early, every iterator, early exit, timeouts, flat memory, bombs."""

from __future__ import annotations

import asyncio
import gc
import gzip
import tracemalloc
import zlib
from typing import Any

import pytest
from aiohttp import web

from fasthttp import (
    AsyncSession,
    ReadTimeout,
    ResponseTooLarge,
    SecurityConfig,
    StreamClosed,
    StreamConsumed,
    StreamError,
)
from fasthttp.testing import LocalServer
from tests.support.scripted import scripted_server


def _free_slots(session: AsyncSession) -> int:
    transport: Any = session._transport
    return int(transport.pool_free)


async def test_seed_basic_usage_streams_lines(shared_server: LocalServer) -> None:
    """The seed's basic example: aiter_lines over /stream/5 yields 5 JSON lines."""
    async with AsyncSession(security=False) as session:
        async with session.stream("GET", f"{shared_server.url}/stream/5") as resp:
            lines = [line async for line in resp.aiter_lines()]
    assert len(lines) == 5 and all(line.startswith("{") for line in lines)


async def test_first_chunk_arrives_before_the_server_finishes() -> None:
    """The client sees the first line while the server is still waiting to send the rest."""
    client_got_first_line = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first\n")
        # Sends the rest only after the client has read the first line: a client that
        # buffers the whole body would wait here forever (and the test times out).
        await asyncio.wait_for(client_got_first_line.wait(), 10)
        await resp.write(b"second\n")
        await resp.write_eof()
        return resp

    async with scripted_server(handler) as url, AsyncSession() as session:
        async with session.stream("GET", url) as resp:
            lines = []
            async for line in resp.aiter_lines():
                lines.append(line)
                client_got_first_line.set()
    assert lines == ["first", "second"]


def _chunked_handler(pieces: list[bytes], content_type: str = "text/plain; charset=utf-8") -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
            await asyncio.sleep(0.005)  # separate TCP segments, so the client sees separate chunks
        await resp.write_eof()
        return resp

    return handler


async def test_lines_split_across_chunks_and_every_terminator() -> None:
    """aiter_lines joins split lines and handles \\n, \\r\\n and \\r (also split between chunks)."""
    pieces = [b"al", b"pha\r", b"\nbeta\rgam", b"ma\n", b"\r\n", b"last"]
    async with scripted_server(_chunked_handler(pieces)) as url, AsyncSession() as session:
        async with session.stream("GET", url) as resp:
            lines = [line async for line in resp.aiter_lines()]
    assert lines == ["alpha", "beta", "gamma", "", "last"]


async def test_text_with_multibyte_characters_split_across_chunks() -> None:
    """aiter_text decodes a multi-byte character whose bytes arrive in different chunks."""
    text = "naïve — 日本語 ✓"
    data = text.encode()
    pieces = [data[i : i + 1] for i in range(len(data))]  # one byte per chunk
    async with scripted_server(_chunked_handler(pieces)) as url, AsyncSession() as session:
        async with session.stream("GET", url) as resp:
            decoded = "".join([part async for part in resp.aiter_text()])
    assert decoded == text


async def test_aiter_bytes_gives_exact_chunk_sizes(shared_server: LocalServer) -> None:
    """aiter_bytes(n) yields n-byte chunks (the last may be shorter) and counts downloaded bytes."""
    async with AsyncSession(base_url=shared_server.url) as session:
        async with session.stream("GET", "/bytes/100000") as resp:
            sizes = [len(chunk) async for chunk in resp.aiter_bytes(8192)]
            downloaded = resp.num_bytes_downloaded
    assert sizes == [8192] * 12 + [100000 - 12 * 8192]
    assert downloaded == 100000


async def test_raw_keeps_the_coding_and_bytes_decodes_it(shared_server: LocalServer) -> None:
    """aiter_raw yields the gzip bytes as sent; aiter_bytes yields them decoded."""
    async with AsyncSession(base_url=shared_server.url) as session:
        async with session.stream("GET", "/gzip") as resp:
            raw = b"".join([c async for c in resp.aiter_raw()])
        async with session.stream("GET", "/gzip") as resp:
            decoded = b"".join([c async for c in resp.aiter_bytes()])
    assert gzip.decompress(raw) == decoded and b'"gzipped":true' in decoded


async def test_aread_then_content_and_json(shared_server: LocalServer) -> None:
    """aread() reads the whole body; then content, text and json() work."""
    async with AsyncSession(base_url=shared_server.url) as session:
        async with session.stream("GET", "/json") as resp:
            with pytest.raises(StreamError, match="aread"):
                _ = resp.content
            body = await resp.aread()
            assert resp.content == body and resp.json() and resp.text.startswith("{")


async def test_reading_twice_or_after_the_block_is_a_clear_error(shared_server: LocalServer) -> None:
    """A second read raises StreamConsumed; a read after the block exits raises StreamClosed."""
    async with AsyncSession(base_url=shared_server.url) as session:
        async with session.stream("GET", "/stream/3") as resp:
            _ = [line async for line in resp.aiter_lines()]
            with pytest.raises(StreamConsumed, match="already been read"):
                _ = [c async for c in resp.aiter_bytes()]
        with pytest.raises(StreamClosed, match="block has exited"):
            _ = [c async for c in resp.aiter_bytes()]


async def test_status_is_available_before_reading(shared_server: LocalServer) -> None:
    """The seed's status check: status_code and headers are there before the body is read."""
    async with AsyncSession(base_url=shared_server.url) as session:
        async with session.stream("GET", "/status/404") as resp:
            assert resp.status_code == resp.status == 404
            assert not resp.is_success


async def test_session_headers_merge_into_streams(server: LocalServer) -> None:
    """Session headers are merged under the stream's own headers."""
    async with AsyncSession(base_url=server.url, headers={"Authorization": "Bearer token"}) as session:
        async with session.stream("POST", "/post", content=b'{"q":1}', headers={"X-One": "1"}) as resp:
            await resp.aread()
    seen = server.requests[0]
    assert seen.header("authorization") == "Bearer token" and seen.header("x-one") == "1"
    assert seen.body == b'{"q":1}'


@pytest.mark.parametrize("how", ["break", "exception", "cancel"])
async def test_leaving_early_releases_the_connection(shared_server: LocalServer, how: str) -> None:
    """Break, an exception or cancellation inside the block closes the stream; the session keeps working."""
    async with AsyncSession(base_url=shared_server.url) as session:
        before = _free_slots(session)

        async def consume() -> None:
            async with session.stream("GET", "/large/50000000") as resp:
                async for _chunk in resp.aiter_bytes(65536):
                    if how == "break":
                        break
                    if how == "exception":
                        raise RuntimeError("stop")
                    await asyncio.sleep(10)

        if how == "cancel":
            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif how == "exception":
            with pytest.raises(RuntimeError):
                await consume()
        else:
            await consume()
        assert _free_slots(session) == before
        assert (await session.get("/get")) is not None


async def test_stalled_stream_raises_read_timeout() -> None:
    """A stream that stops sending raises ReadTimeout after the inactivity timeout, not a hang."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"data: partial\n")
        await asyncio.sleep(30)
        return resp

    async with scripted_server(handler) as url, AsyncSession() as session:
        async with session.stream("GET", url, timeout=0.3) as resp:
            with pytest.raises(ReadTimeout):
                async for _line in resp.aiter_lines():
                    pass


async def test_slow_but_live_stream_is_not_cut() -> None:
    """A stream slower in total than its timeout, but never silent that long, completes."""
    pieces = [f"tick {n}\n".encode() for n in range(8)]

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
            await asyncio.sleep(0.1)
        await resp.write_eof()
        return resp

    async with scripted_server(handler) as url, AsyncSession() as session:
        async with session.stream("GET", url, timeout=0.5) as resp:
            lines = [line async for line in resp.aiter_lines()]
    assert len(lines) == 8


async def test_hostile_but_valid_sse_stream() -> None:
    """aiter_sse decodes comments, CRLF/CR, a BOM, split fields, multi-line data and ids by the spec."""
    pieces = [
        b"\xef\xbb\xbf: heartbeat\r\n",
        b"retry: 1500\r\nid: 7\r\ndata: first\r\nda",
        b"ta: second\r\n\r\n",
        b": " + b"x" * 5000 + b"\n",
        b"event: update\rdata\r\r",
        b"data: {\"n\": 1}\n\nid: 8\ndata: tail-without-blank-line",
    ]
    async with scripted_server(_chunked_handler(pieces, "text/event-stream")) as url, AsyncSession() as session:
        async with session.stream("GET", url) as resp:
            events = [e async for e in resp.aiter_sse()]
    assert [(e.event, e.data, e.id) for e in events] == [
        ("message", "first\nsecond", "7"),
        ("update", "", "7"),
        ("message", '{"n": 1}', "7"),
    ]
    assert events[0].retry == 1500
    assert events[-1].json() == {"n": 1}


async def test_openai_style_example_line_by_line(shared_server: LocalServer) -> None:
    """The seed's SSE example pattern (data: lines, [DONE]) works with aiter_lines."""
    async with AsyncSession(security=False, timeout=60.0) as session:
        async with session.stream("GET", f"{shared_server.url}/sse?count=3") as resp:
            payloads = []
            async for line in resp.aiter_lines():
                if not line.startswith("data: "):
                    continue
                payloads.append(line[6:])
    assert payloads == ['{"n":0}', '{"n":1}', '{"n":2}']


async def test_large_download_in_flat_memory(shared_server: LocalServer) -> None:
    """A 50 MiB download in 8 KiB chunks grows traced memory by well under 10 MiB."""
    async with AsyncSession(base_url=shared_server.url) as session:
        gc.collect()
        tracemalloc.start()
        try:
            total = 0
            async with session.stream("GET", "/large/52428800") as resp:
                async for chunk in resp.aiter_bytes(8192):
                    total += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total == 50 * 1024 * 1024
    assert peak < 10 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


def _gzip_bomb(decoded_size: int) -> bytes:
    """gzip of ``decoded_size`` zero bytes, gzipped again: a few KB on the wire."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [inner.compress(block) for _ in range(decoded_size // len(block))]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


async def test_gzip_bomb_fails_in_bounded_memory() -> None:
    """A few KB that would inflate to 256 MiB fail with ResponseTooLarge: streamed in flat memory,
    buffered within the body cap."""
    bomb = _gzip_bomb(256 * 1024 * 1024)
    assert len(bomb) < 64 * 1024

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip, gzip", "Content-Type": "text/plain"})

    cap = 4 * 1024 * 1024
    async with scripted_server(handler) as url:
        async with AsyncSession() as session:
            tracemalloc.start()
            try:
                async with session.stream("GET", url) as resp:
                    with pytest.raises(ResponseTooLarge, match="compressed"):
                        async for _chunk in resp.aiter_bytes():
                            pass
                _, streamed_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        async with AsyncSession(security=SecurityConfig(max_body_size=cap)) as session:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseTooLarge):
                    await session.get(url, raise_errors=True)
                _, buffered_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert streamed_peak < 10 * 1024 * 1024, f"streamed: peak traced memory {streamed_peak / 2**20:.1f} MiB"
    assert buffered_peak < cap + 10 * 1024 * 1024, f"buffered: peak {buffered_peak / 2**20:.1f} MiB"


async def test_sse_reconnects_with_last_event_id_and_stops_on_204(server: LocalServer) -> None:
    """session.sse() reconnects after the stream ends, sends Last-Event-ID, and stops at a 204."""
    async with AsyncSession(base_url=server.url) as session:
        events = [event async for event in session.sse("/sse?count=3&retry=100")]
    assert [e.id for e in events] == ["0", "1", "2"]
    assert [r.header("last-event-id") for r in server.requests] == [None, "2"]
    assert all(r.header("accept") == "text/event-stream" for r in server.requests)


async def test_sse_wrong_status_is_an_error(shared_server: LocalServer) -> None:
    """A non-200 answer to an event stream raises SSEError saying why."""
    from fasthttp import SSEError

    async with AsyncSession(base_url=shared_server.url) as session:
        with pytest.raises(SSEError, match="500"):
            async for _event in session.sse("/status/500"):
                pass


async def test_sse_gives_up_after_max_attempts() -> None:
    """A server that keeps dropping the stream is retried max_attempts times, then SSEError."""
    attempts = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"retry: 100\n\n")
        assert request.transport is not None
        request.transport.abort()  # a reset, not a clean end
        return resp

    from fasthttp import SSEError

    async with scripted_server(handler) as url, AsyncSession() as session:
        with pytest.raises(SSEError):
            async for _event in session.sse(url, max_attempts=2):
                pass
    assert attempts == 3
