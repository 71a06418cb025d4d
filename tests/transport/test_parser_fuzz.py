"""The HTTP/1.1 connection protocol fed bytes directly: every split of valid responses, and garbage.

No real server can deliver a response cut at every byte boundary, so these tests drive
``H11Connection`` through a byte-level fake transport: ``get_buffer``/``buffer_updated`` exactly
as the event loop calls them, EOF as ``eof_received`` + ``connection_lost``. The property: for any
split, the connection either parses exactly the status, fields and body that were sent, or fails
the request with our ``ProtocolError``; it never leaves the request hanging, and never hands back
bytes that were not the body.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fasthttp.config import Timeout
from fasthttp.exceptions import DecodingError, ProtocolError, ReadError
from fasthttp.models import Request
from fasthttp.transport.h11_head import Route, build_route
from fasthttp.transport.h11_protocol import (
    BULK_BUFFER,
    COMPLETE,
    FIRST_READ_BUFFER,
    READ_BUFFER,
    H11Connection,
)

INF = float("inf")
NO_TIMEOUT = Timeout(total=None)
# The ``loop`` fixture is shared by a test's examples on purpose: it is never run, and every example
# builds its own connection on it.
# FASTHTTP_FUZZ_EXAMPLES=5000 runs a longer campaign.
FUZZ = settings(
    max_examples=int(os.environ.get("FASTHTTP_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class FakeTransport(asyncio.Transport):
    """Records writes; closing only sets a flag (the test delivers connection_lost itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False
        self.paused = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


class Owner:
    """The pool side of a connection: records what it is told."""

    def __init__(self) -> None:
        self.lost = 0

    def connection_lost(self, conn: H11Connection) -> None:
        self.lost += 1

    def expire(self, conn: H11Connection) -> None:
        conn.close()

    def take_buffer(self, size: int) -> bytearray:
        return bytearray(size)

    def give_buffer(self, buffer: bytearray) -> None:
        pass


@dataclass
class Sent:
    """One response as sent: its bytes and what a correct parse must give."""

    data: bytes
    status: int
    fields: list[tuple[str, str]]
    body: bytes
    until_eof: bool = False


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop that is never run: futures and timers only need it to exist."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def connect(loop: asyncio.AbstractEventLoop, cap: int | None = None) -> tuple[H11Connection, FakeTransport]:
    stack: list[H11Connection] = []
    conn = H11Connection(Owner(), ("http", "example.test", 80, ""), stack, loop, 15.0, cap)
    transport = FakeTransport()
    conn.connection_made(transport)
    return conn, transport


def route_for(method: str = "GET") -> Route:
    return build_route(Request(method, "http://example.test/"), None)


def begin(conn: H11Connection, method: str = "GET", stream: bool = False) -> asyncio.Future[None]:
    route = route_for(method)
    request = Request(method, "http://example.test/", timeout=NO_TIMEOUT)
    return conn.start(request, NO_TIMEOUT, INF, conn.loop.time(), route, route.head_nobody, stream)


def feed(conn: H11Connection, data: bytes, cuts: list[int]) -> None:
    """Deliver ``data`` in pieces cut at ``cuts`` (sorted offsets), as the event loop would."""
    start = 0
    for end in [*sorted(set(cuts)), len(data)]:
        if end <= start:
            continue
        piece = data[start:end]
        while piece:
            if conn.transport is not None and conn.transport.is_closing():
                return
            buffer = conn.get_buffer(-1)  # a read fills at most the buffer the connection offers
            part = piece[: len(buffer)]
            buffer[: len(part)] = part
            conn.buffer_updated(len(part))
            piece = piece[len(part) :]
        start = end


def eof(conn: H11Connection) -> None:
    conn.eof_received()
    conn.connection_lost(None)


def outcome(waiter: asyncio.Future[None]) -> BaseException | None:
    assert waiter.done(), "the request was left hanging"
    return waiter.exception()


def check_parsed(conn: H11Connection, sent: Sent) -> None:
    assert conn.state == COMPLETE
    assert conn.status == sent.status
    assert list(conn.raw_head) == sent.fields
    assert conn.take_body() == sent.body


# -- building responses ---------------------------------------------------------------------------------
_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)
_RESERVED = {"content-length", "transfer-encoding", "connection", "content-encoding", "upgrade", "trailer"}
_NAMES = _TOKEN.filter(lambda name: name.lower() not in _RESERVED)
_VALUES = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(str.strip)
_FIELDS = st.lists(st.tuples(_NAMES, _VALUES), max_size=6)
_STATUS = st.sampled_from([200, 201, 202, 203, 206, 226, 400, 404, 410, 418, 500, 503])


def head(status: int, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} Reason Phrase"] + [f"{name}: {value}" for name, value in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def by_length(status: int, fields: list[tuple[str, str]], body: bytes) -> Sent:
    all_fields = [*fields, ("Content-Length", str(len(body)))]
    return Sent(head(status, all_fields) + body, status, all_fields, body)


def by_chunks(status: int, fields: list[tuple[str, str]], body: bytes, sizes: list[int], extension: bool,
              trailers: list[tuple[str, str]]) -> Sent:  # fmt: skip
    all_fields = [*fields, ("Transfer-Encoding", "chunked")]
    out = [head(status, all_fields)]
    position = 0
    for size in sizes:
        piece = body[position : position + size]
        if not piece:
            break
        out.append(b"%x%s\r\n%s\r\n" % (len(piece), b';ext=1;q="a b"' if extension else b"", piece))
        position += len(piece)
    if position < len(body):
        out.append(b"%x\r\n%s\r\n" % (len(body) - position, body[position:]))
    out.append(b"0\r\n" + b"".join(f"{n}: {v}\r\n".encode() for n, v in trailers) + b"\r\n")
    return Sent(b"".join(out), status, all_fields, body)


def until_eof(status: int, fields: list[tuple[str, str]], body: bytes) -> Sent:
    return Sent(head(status, fields) + body, status, fields, body, until_eof=True)


@st.composite
def responses(draw: Any, allow_eof: bool = True) -> Sent:
    status = draw(_STATUS)
    fields = draw(_FIELDS)
    body = draw(st.binary(max_size=3000))
    kind = draw(st.sampled_from(["length", "chunked", "eof"] if allow_eof else ["length", "chunked"]))
    if kind == "length":
        return by_length(status, fields, body)
    if kind == "chunked":
        sizes = draw(st.lists(st.integers(1, 700), max_size=8))
        return by_chunks(
            status, fields, body, sizes, draw(st.booleans()), draw(st.lists(st.tuples(_NAMES, _VALUES), max_size=2))
        )
    return until_eof(status, fields, body)


def cuts_for(draw: Any, data: bytes) -> list[int]:
    return draw(st.lists(st.integers(0, len(data)), max_size=12))


# -- the properties ---------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_keep_alive_sequence_split_anywhere(loop: asyncio.AbstractEventLoop, data: st.DataObject) -> None:
    """Several responses in sequence on one connection, each cut at random points, parse exactly."""
    conn, _ = connect(loop)
    sent = data.draw(st.lists(responses(allow_eof=False), min_size=1, max_size=3))
    sent.append(data.draw(responses()))
    for one in sent:
        waiter = begin(conn)
        feed(conn, one.data, cuts_for(data.draw, one.data))
        if one.until_eof:
            eof(conn)
        assert outcome(waiter) is None
        check_parsed(conn, one)
        if one.until_eof:
            return
        assert conn.keep_alive
        conn.park(loop.time())


@FUZZ
@given(data=st.data())
def test_streamed_body_split_anywhere(loop: asyncio.AbstractEventLoop, data: st.DataObject) -> None:
    """In stream mode the head resolves the request and the queued chunks join to exactly the body."""
    conn, _ = connect(loop)
    one = data.draw(responses())
    waiter = begin(conn, stream=True)
    feed(conn, one.data, cuts_for(data.draw, one.data))
    if one.until_eof:
        eof(conn)
    assert outcome(waiter) is None
    assert conn.status == one.status and list(conn.raw_head) == one.fields
    received = b""
    while conn.queue:
        received += conn.pop_chunk()
    assert conn.state == COMPLETE and received == one.body


REFERENCE = [
    by_length(200, [("Server", "x"), ("X-Empty", "")], b"hello world"),
    by_length(404, [], b""),
    by_chunks(200, [("A", "1")], b"0123456789abcdef" * 3, [5, 1, 20], True, [("X-Trailer", "t")]),
    by_chunks(500, [], b"", [], False, []),
    until_eof(200, [("Content-Type", "text/plain")], b"the rest of the stream"),
]


@pytest.mark.parametrize("sent", REFERENCE, ids=["length", "empty", "chunked-ext-trailers", "chunked-empty", "eof"])
def test_every_single_split_point(loop: asyncio.AbstractEventLoop, sent: Sent) -> None:
    """Each reference response cut at every byte boundary (and into single bytes) parses exactly."""
    for cuts in [[i] for i in range(1, len(sent.data))] + [list(range(1, len(sent.data)))]:
        conn, _ = connect(loop)
        waiter = begin(conn)
        feed(conn, sent.data, cuts)
        if sent.until_eof:
            eof(conn)
        assert outcome(waiter) is None, cuts
        check_parsed(conn, sent)


def test_gzip_body_split_at_every_point(loop: asyncio.AbstractEventLoop) -> None:
    """A gzip body cut at every boundary is decoded incrementally to exactly the original."""
    original = bytes(range(256)) * 20
    packed = gzip.compress(original)
    sent = by_length(200, [("Content-Encoding", "gzip")], packed)
    for i in range(1, len(sent.data), 7):
        conn, _ = connect(loop)
        waiter = begin(conn)
        feed(conn, sent.data, [i, i + 3])
        assert outcome(waiter) is None
        assert conn.take_body() == original


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["100", "103"],
)
def test_informational_heads_split_anywhere(loop: asyncio.AbstractEventLoop, data: bytes) -> None:
    """1xx heads before the response are skipped wherever the reads are cut."""
    for i in range(1, len(data)):
        conn, _ = connect(loop)
        waiter = begin(conn)
        feed(conn, data, [i])
        assert outcome(waiter) is None
        assert (conn.status, conn.take_body(), conn.keep_alive) == (200, b"ok", True)


def test_head_response_split_anywhere(loop: asyncio.AbstractEventLoop) -> None:
    """A HEAD answer with Content-Length completes at its head, stays reusable, and the next response parses."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    following = by_length(200, [], b"next")
    for i in range(1, len(answer)):
        conn, _ = connect(loop)
        waiter = begin(conn, "HEAD")
        feed(conn, answer, [i])
        assert outcome(waiter) is None and conn.keep_alive and conn.take_body() == b""
        conn.park(loop.time())
        waiter = begin(conn)
        feed(conn, following.data, [i % len(following.data)])
        assert outcome(waiter) is None
        check_parsed(conn, following)


def test_bytes_after_a_response_retire_the_connection(loop: asyncio.AbstractEventLoop) -> None:
    """Bytes after a complete response (same read or later) retire the connection; the response stays intact."""
    sent = by_length(200, [], b"body")
    for extra in (b"H", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"garbage"):
        for together in (True, False):
            conn, _ = connect(loop)
            waiter = begin(conn)
            if together:
                feed(conn, sent.data + extra, [])
            else:
                feed(conn, sent.data, [])
                feed(conn, extra, [])
            assert outcome(waiter) is None
            check_parsed(conn, sent)
            assert not conn.keep_alive


def _h11_parse(data: bytes) -> tuple[int, bytes] | None:
    """The reference parse of a complete response by h11 (pure Python, strict), or None if it refuses it."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "example.test")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    client.receive_data(b"")
    status = None
    body = b""
    try:
        while True:
            event = client.next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return (status, body) if status is not None else None
            elif event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                return None
    except h11.RemoteProtocolError:
        return None


@FUZZ
@given(data=st.data())
def test_mutated_responses_parse_right_or_fail_cleanly(loop: asyncio.AbstractEventLoop, data: st.DataObject) -> None:
    """A mutated response fails with ProtocolError or parses as the reference parser (h11) does; never hangs."""
    one = data.draw(responses())
    raw = bytearray(one.data)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from([b"\r", b"\n", b" ", b":", b"0", b"a", b"\x00", b"\xff"]))
        if action == "flip" and raw:
            raw[position : position + 1] = byte
        elif action == "insert":
            raw[position:position] = byte
        elif raw:
            del raw[position]
    mutated = bytes(raw)
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, mutated, cuts_for(data.draw, mutated))
    eof(conn)  # the peer closes after sending: nothing may wait for more
    error = outcome(waiter)
    if error is not None:
        assert isinstance(error, ProtocolError), repr(error)
        return
    ours = (conn.status, conn.take_body())
    assert conn.version in ("HTTP/1.1", "HTTP/1.0")
    reference = _h11_parse(mutated)
    if reference is not None:
        assert ours == reference, (mutated, ours, reference)
    else:
        # h11 refused what llhttp accepted (they differ on a few leniencies, such as empty lines before
        # the status line): the body we returned must still be bytes the server sent, in order.
        assert is_subsequence(ours[1], mutated), (mutated, ours)


def is_subsequence(part: bytes, whole: bytes) -> bool:
    """Whether ``part`` appears in ``whole`` in order (not necessarily contiguous: chunk framing between)."""
    position = 0
    for byte in part:
        position = whole.find(bytes((byte,)), position) + 1
        if position == 0:
            return False
    return True


@FUZZ
@given(garbage=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_garbage_fails_with_protocol_error(loop: asyncio.AbstractEventLoop, garbage: bytes, cuts: list[int]) -> None:
    """Random bytes then EOF fail the request with ProtocolError (or, by chance valid, parse); never hang."""
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, garbage, [c for c in cuts if c < len(garbage)])
    eof(conn)
    error = outcome(waiter)
    assert error is None or isinstance(error, ProtocolError), repr(error)


def test_reset_mid_body_is_read_error(loop: asyncio.AbstractEventLoop) -> None:
    """A connection reset in the middle of a body is ReadError, not a short body."""
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", [])
    conn.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    assert isinstance(outcome(waiter), ReadError)


def test_truncated_gzip_is_decoding_error(loop: asyncio.AbstractEventLoop) -> None:
    """A gzip body whose framing is complete but whose stream is cut raises DecodingError at the end."""
    packed = gzip.compress(b"z" * 10_000)[:-12]
    sent = by_length(200, [("Content-Encoding", "gzip")], packed)
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, sent.data, [])
    assert outcome(waiter) is None
    with pytest.raises(DecodingError):
        conn.take_body()


@pytest.mark.parametrize(
    ("field", "message"),
    [(b"X-Big: " + b"a" * 9000, "longer than 8190"), (b"X-Big: " + b"a" * (1 << 20), "larger than")],
    ids=["long-line", "endless-head"],
)
def test_oversized_head_split_across_reads_is_refused(
    loop: asyncio.AbstractEventLoop, field: bytes, message: str
) -> None:
    """A header line over 8190 bytes, or a head that never ends, arriving in small reads: ProtocolError."""
    conn, transport = connect(loop)
    waiter = begin(conn)
    data = b"HTTP/1.1 200 OK\r\n" + field + b"\r\nContent-Length: 0\r\n\r\n"
    feed(conn, data, list(range(0, len(data), 1000)))
    error = outcome(waiter)
    assert isinstance(error, ProtocolError) and message in str(error)
    assert transport.closing


def test_empty_lines_before_the_status_line_are_skipped(loop: asyncio.AbstractEventLoop) -> None:
    """CR/LF before a status line (tolerated by llhttp) stay out of the head: version and fields are clean."""
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, b"\r\n\rHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok", [1, 2])
    assert outcome(waiter) is None
    assert (conn.version, conn.reason, list(conn.raw_head), conn.take_body()) == (
        "HTTP/1.1",
        "OK",
        [("X-A", "1"), ("Content-Length", "2")],
        b"ok",
    )


@pytest.mark.parametrize("cut", [1, 1000, READ_BUFFER - 1, READ_BUFFER, READ_BUFFER + 1, 200_000])
def test_large_body_received_in_place(loop: asyncio.AbstractEventLoop, cut: int) -> None:
    """A large body is received in place after a full read, exactly; the next response parses on a new parser."""
    body = bytes(range(256)) * 2048  # 512 KiB
    sent = by_length(200, [("X-A", "1")], body)
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, sent.data, [READ_BUFFER, READ_BUFFER + cut])
    assert outcome(waiter) is None
    check_parsed(conn, sent)
    conn.park(loop.time())
    following = by_length(200, [], b"next")
    waiter = begin(conn)
    feed(conn, following.data, [3])
    assert outcome(waiter) is None
    check_parsed(conn, following)


def test_large_body_cut_short_in_place(loop: asyncio.AbstractEventLoop) -> None:
    """A large body received in place that ends early is ProtocolError (cut short), not a short body."""
    body = b"q" * (300 * 1024)
    sent = by_length(200, [], body)
    conn, _ = connect(loop)
    waiter = begin(conn)
    feed(conn, sent.data[:-10], [READ_BUFFER])
    eof(conn)
    error = outcome(waiter)
    assert isinstance(error, ProtocolError) and "cut short" in str(error)


@pytest.mark.parametrize("stream", [False, True])
def test_read_buffer_starts_small_and_grows_on_full_reads(loop: asyncio.AbstractEventLoop, stream: bool) -> None:
    """A new connection offers FIRST_READ_BUFFER bytes; a read that fills it mid-body grows it to
    READ_BUFFER (the streamed chunk size); a buffered body's next full read grows it to BULK_BUFFER,
    a streamed one stays at READ_BUFFER. The body arrives whole either way."""
    body = bytes(range(256)) * 1024  # 256 KiB, chunked: never received in place
    sent = by_chunks(200, [], body, [len(body)], False, [])
    conn, _ = connect(loop)
    assert len(conn.get_buffer(-1)) == FIRST_READ_BUFFER
    waiter = begin(conn, stream=stream)
    offered: list[int] = []
    data = sent.data
    while data:
        buffer = conn.get_buffer(-1)
        offered.append(len(buffer))
        part = data[: len(buffer)]
        buffer[: len(part)] = part
        conn.buffer_updated(len(part))
        data = data[len(part) :]
    sizes = sorted(set(offered))
    assert outcome(waiter) is None
    if stream:
        assert sizes == [FIRST_READ_BUFFER, READ_BUFFER]
        received = b""
        while conn.queue:
            received += conn.pop_chunk()
        assert conn.state == COMPLETE and received == body
    else:
        assert sizes == [FIRST_READ_BUFFER, READ_BUFFER, BULK_BUFFER]
        check_parsed(conn, sent)
