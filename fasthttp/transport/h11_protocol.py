"""One HTTP/1.1 client connection: an ``asyncio.BufferedProtocol`` driving one httptools parser.

The connection's state machine (``state``)::

    IDLE ─start()─► WAITING ─first response byte─► HEAD ─head parsed─► BODY ─message complete─► COMPLETE
     ▲                 ▲                              │ (1xx: back to WAITING)                       │
     │                 └──────────────────────────────┘                                              │
     └───────────────────────────── released clean and keep-alive: back to the pool ◄────────────────┘
    any state ─error, timeout, connection lost, abort()─► CLOSED   (never reused)

(A response that was COMPLETE when the connection closed stays COMPLETE: it is
still read, the connection is simply not reused.)

Rules (the parts that live in other modules are named there):

- Reads land in one preallocated buffer per connection (``get_buffer``), 16 KiB
  at first, grown to 64 KiB by a read that fills it mid-body: no allocation per
  read, and none of the selector transport's 256 KiB malloc/mmap per ``recv``
  (shared/perf/LIMIT.md section 3). Large bodies: ``h11_bulk`` (in-place
  receiving, bigger reads).
- One ``httptools.HttpResponseParser`` per connection, kept across keep-alive
  responses (llhttp restarts by itself after a complete message). It is replaced
  only when parsing was stopped on purpose: after the head of a HEAD response or
  of a CONNECT answer (httptools cannot be told "no body follows", so the
  callback raises to stop it; a new parser costs about 0.3 µs, on those responses
  only) and after a body received in place; never reused after a parse error
  (the connection closes).
- Header fields get no Python callback: the head is kept as the raw bytes llhttp
  accepted (found with one ``find`` of the blank line) in a ``RawHead``, decoded
  only if someone reads ``response.headers``. A head may have at most
  ``MAX_FIELDS`` fields of at most ``MAX_LINE`` bytes each, the aiohttp
  transport's bounds (``ProtocolError``); a head still arriving is refused once
  it passes ``MAX_HEAD`` bytes. Empty lines before a status line (which llhttp
  tolerates) are not part of it.
- Bytes nobody asked for (data or EOF while IDLE, a second message after the
  response) mean the connection is not reusable: an idle one is closed at once,
  a busy one after its response.
- Bodies: Content-Length and chunked framing are llhttp's; a body with neither
  runs until EOF (it completes in ``eof_received``); HEAD, 1xx, 204 and 304 have
  none. Buffered bodies are decoded as they arrive (``fasthttp.decoders``: at
  most two codings, bounded steps) and counted against ``max_body_size``;
  streamed bodies are queued raw for ``StreamResponse`` (``h11_stream``).
  Uploads: ``h11_upload``.
- Timers: one per connection, never one per request (``h11_timers``).
- Errors are created as full sentences (``h11_errors``) and set on the one
  waiter future a coroutine awaits; if none is waiting the error stays in
  ``error`` for the next read. A reused connection that dies before the first
  response byte fails with ``StaleConnection`` so the transport can retry.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from ..decoders import build_decoder
from ..exceptions import DecodingError, ResponseTooLarge
from . import h11_errors as errors
from .h11_bulk import BulkReceiver
from .h11_head import (
    STATUS_LINES,
    RawHead,
    content_coding,
    content_length,
    has_framing,
    head_keeps_alive,
    parse_status_line,
)
from .h11_states import (
    BODY,
    BULK_BUFFER,
    CLOSED,
    COMPLETE,
    FIRST_READ_BUFFER,
    HEAD,
    HIGH_WATER,
    IDLE,
    INF,
    LOW_WATER,
    MAX_FIELDS,
    MAX_HEAD,
    MAX_LINE,
    READ_BUFFER,
    SMALL_BODY,
    WAITING,
)
from .h11_stream import StreamReader
from .h11_timers import Timers
from .h11_upload import Uploader

if TYPE_CHECKING:
    from ..config import Timeout
    from ..decoders import ContentDecoder
    from ..models import Request
    from .h11_head import Route

__all__ = [
    "BODY",
    "BULK_BUFFER",
    "CLOSED",
    "COMPLETE",
    "FIRST_READ_BUFFER",
    "HEAD",
    "HIGH_WATER",
    "IDLE",
    "LOW_WATER",
    "MAX_FIELDS",
    "MAX_HEAD",
    "MAX_LINE",
    "READ_BUFFER",
    "SMALL_BODY",
    "WAITING",
    "ConnectionOwner",
    "H11Connection",
]

# A timer may run a hair before its time (the loop's clock resolution): count that as on time
# rather than re-arming for a few microseconds.
_SLACK: Final = 1e-4
# A buffered plain body first compares its Content-Length with the cap after this many bytes, so
# small bodies never pay for the lookup.
_FIRST_SIZE_CHECK: Final = 256 * 1024
_EMPTY: Final = b""


class ConnectionOwner(Protocol):
    """What a connection tells its pool."""

    def connection_lost(self, conn: H11Connection) -> None:
        """``conn`` closed (for any reason): forget it."""

    def expire(self, conn: H11Connection) -> None:
        """``conn`` sat idle past ``keepalive_expiry``: close it."""

    def take_buffer(self, size: int) -> bytearray:
        """A buffer of at least ``size`` bytes to receive a large body into (recycled when possible)."""

    def give_buffer(self, buffer: bytearray) -> None:
        """A body buffer no longer used: keep it for the next large body, or drop it."""


class _StopParsing(Exception):
    """Raised from a parser callback to make ``feed_data`` return at once."""


class H11Connection(Timers, Uploader, StreamReader, BulkReceiver, asyncio.BufferedProtocol):
    """One TCP (or TLS) connection speaking HTTP/1.1 to one origin or proxy."""

    __slots__ = (
        "_body",
        "_body_pos",
        "_body_view",
        "_buf",
        "_cancelled_writer",
        "_check_at",
        "_deadline",
        "_draining",
        "_expiry",
        "_first_check",
        "_got_bytes",
        "_head_only",
        "_informational",
        "_last_data",
        "_nbytes",
        "_new_future",
        "_owner",
        "_parser",
        "_paused",
        "_prefix",
        "_read_timeout",
        "_reading",
        "_scan_from",
        "_stream",
        "_timeout",
        "_timer",
        "_timer_at",
        "_uploading",
        "_view",
        "_waiter",
        "_write_deadline",
        "_write_paused",
        "_writer_task",
        "cap",
        "chunks",
        "decoder",
        "error",
        "idle_since",
        "keep_alive",
        "key",
        "loop",
        "queue",
        "queued",
        "raw_head",
        "reason",
        "request",
        "reused",
        "stack",
        "state",
        "status",
        "stopped",
        "trailing",
        "transport",
        "version",
    )

    def __init__(self, owner: ConnectionOwner, key: tuple[Any, ...], stack: list[H11Connection],
                 loop: asyncio.AbstractEventLoop, expiry: float, cap: int | None) -> None:  # fmt: skip
        self._owner = owner
        self.key = key
        self.stack = stack  # the pool's idle stack for ``key``: released connections go back here
        self.loop = loop
        # The stock loop's create_future() is a Python method around the C Future: call the C type
        # directly there (one Python call less per request); any other loop makes its own futures.
        self._new_future: Callable[[], asyncio.Future[None]] = (
            functools.partial(asyncio.Future, loop=loop)
            if type(loop).create_future is asyncio.BaseEventLoop.create_future
            else loop.create_future
        )
        self._expiry = expiry
        self.cap = cap
        self._first_check: float = INF if cap is None else min(cap, _FIRST_SIZE_CHECK)
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray(FIRST_READ_BUFFER)
        self._view = memoryview(self._buf)
        self._body: bytearray | None = None  # a large body being received in place (see the rules)
        self._body_view: memoryview | None = None
        self._body_pos = 0
        self._parser = HttpResponseParser(self)
        self.state = CLOSED  # until connection_made
        self.error: BaseException | None = None
        self.request: Request | None = None
        self._timeout: Timeout | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = INF  # invariant: _timer is None exactly when _timer_at is INF
        self._deadline = INF
        self._write_deadline = INF
        self._read_timeout: float | None = None
        self._reading = False
        self._last_data = 0.0
        self.idle_since = 0.0
        self.reused = False
        self.keep_alive = True
        self._stream = False
        self._head_only = False
        self._informational = False
        self.stopped = False
        self.trailing = False  # bytes followed a HEAD or CONNECT head in the same read
        self._got_bytes = False
        self._nbytes = 0
        self._scan_from = 0
        self._prefix: bytearray | None = None
        self.raw_head = RawHead()
        self.status = 0
        self.version = "HTTP/1.1"
        self.reason: str | None = None
        self.chunks: list[bytes] = []
        self._check_at: float = INF
        self.decoder: ContentDecoder | None = None
        self.queue: deque[bytes] = deque()
        self.queued = 0
        self._paused = False
        self._write_paused = False
        self._draining = False
        self._uploading = False
        self._writer_task: asyncio.Task[Any] | None = None
        self._cancelled_writer = False

    # -- asyncio protocol callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Also called by the transport after start_tls() (CONNECT tunnels): a fresh start on the new transport.
        self.transport = transport  # type: ignore[assignment]
        self.state = IDLE
        self.idle_since = self.loop.time()
        self._paused = False
        self._write_paused = False
        if self.stopped:
            self.stopped = False
            self._parser = HttpResponseParser(self)
        self._arm(INF)  # the heartbeat: from now on this connection always has its one timer

    def get_buffer(self, sizehint: int) -> memoryview:
        body = self._body_view
        if body is not None:
            return body[self._body_pos :]
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self._body_view is not None:
            self._received_in_place(nbytes)
            return
        state = self.state
        if not WAITING <= state <= BODY:
            self._unexpected_bytes()
            return
        self._nbytes = nbytes
        self._scan_from = 0
        self._got_bytes = True
        if self._read_timeout is not None:
            self._last_data = self.loop.time()
        try:
            self._parser.feed_data(self._view[:nbytes])
        except HttpParserUpgrade:
            self._upgraded()
        except HttpParserError as exc:
            self._parse_stopped(exc)
        else:
            state = self.state
            if state == HEAD:
                self._keep_partial_head()
            elif state == BODY and nbytes == len(self._buf):
                self._bulk()

    def eof_received(self) -> bool | None:
        if self.state == BODY and self._body_ends_at_eof():
            self._complete_at_eof()
        return None  # the transport closes; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        state = self.state
        timer = self._timer
        if timer is not None:
            self._timer = None
            self._timer_at = INF
            timer.cancel()
        if WAITING <= state <= BODY:
            if state == BODY and exc is None and self._body_ends_at_eof():
                self._complete_at_eof()
            else:
                assert self.request is not None
                stale = self.reused and not self._got_bytes
                self._fail(errors.lost(self.request, state, exc, uploading=self._uploading, stale=stale))
        if self.state != COMPLETE:
            self.state = CLOSED
        self.keep_alive = False
        self._wake()  # e.g. the drain waiter of an upload whose response already arrived
        self._owner.connection_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._draining:
            self._wake()

    # -- httptools callbacks ------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.state != WAITING:  # a second message nobody asked for
            self.keep_alive = False
            raise _StopParsing
        self.state = HEAD

    def on_headers_complete(self) -> None:
        prefix = self._prefix
        if prefix is None:
            start = self._scan_from
            end = self._buf.find(b"\r\n\r\n", start, self._nbytes) + 4
            raw = RawHead(self._view[start:end])
            self._scan_from = end
        else:  # the head began in an earlier read
            data = prefix + self._view[: self._nbytes]
            end = data.find(b"\r\n\r\n") + 4
            raw = RawHead(data[:end])
            self._scan_from = end - len(prefix)
            self._prefix = None
        size = len(raw)
        # Small heads (the common case) cannot break a bound: no scan at all for them.
        if end < 4 or (size > 4 * MAX_FIELDS and errors.head_too_big(raw)):
            assert self.request is not None
            self._fail(errors.head_bound_broken(self.request, raw, end >= 4))
            raise _StopParsing
        if raw[0] != 72:  # not "H": llhttp skips empty lines before a status line; so do we
            raw = RawHead(raw.lstrip(b"\r\n"))
        info = STATUS_LINES.get(raw[: raw.find(b"\r\n")])
        status, self.version, self.reason = info if info is not None else parse_status_line(raw)
        if status < 200 and status != 101:
            # 100 Continue, 103 Early Hints...: skipped; the real response follows on this connection.
            self._informational = True
            self.state = WAITING
            return
        self.raw_head = raw
        self.status = status
        if self._head_only or status == 101:
            # No body follows whatever the framing headers say: complete now and stop this parser.
            # (llhttp's should_keep_alive() would count a HEAD answer without Content-Length as
            # close-delimited, so keep-alive is read from the version and Connection header here.)
            self.trailing = self._scan_from != self._nbytes
            self.keep_alive = self.keep_alive and status != 101 and not self.trailing and head_keeps_alive(raw)
            self.stopped = True
            self.state = COMPLETE
            self._wake()
            raise _StopParsing
        self.state = BODY
        if self._stream:
            self._reading = False  # from now on the read timeout runs only while the consumer waits
            self._wake()
            return
        plain: bytes = raw  # (RawHead iterates as fields; the substring test is bytes')
        if b"ncoding" in plain or b"NCODING" in plain:  # cheap pre-test: most responses have no Content-Encoding
            coding = content_coding(raw)
            if coding is not None:
                try:
                    self.decoder = build_decoder(coding, max_decoded_size=self.cap)
                except DecodingError as exc:
                    exc.request = self.request
                    self._fail(errors.quiet(exc))
                    raise _StopParsing from None
        if self._draining:  # an upload is blocked: let it see that the answer has started
            self._wake()

    def on_body(self, body: bytes) -> None:
        if self._stream:
            self.queue.append(body)
            queued = self.queued + len(body)
            self.queued = queued
            if queued > HIGH_WATER and not self._paused and self.transport is not None:
                self._paused = True
                self.transport.pause_reading()
            if self._waiter is not None:
                self._wake()
            return
        decoder = self.decoder
        if decoder is None:
            self.chunks.append(body)
            left = self._check_at - len(body)
            self._check_at = left
            if left < 0:
                self._check_size()
            return
        try:
            self.chunks.extend(decoder.decode_iter(body))
        except (DecodingError, ResponseTooLarge) as exc:
            exc.request = self.request
            self._fail(errors.quiet(exc))
            raise _StopParsing from None

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.state = COMPLETE
        if self.keep_alive:
            self.keep_alive = self._parser.should_keep_alive()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- requests (called by the transport) ---------------------------------------------------------
    def start(self, request: Request, timeout: Timeout, deadline: float, now: float, route: Route | None,
              data: bytes, stream: bool) -> asyncio.Future[None]:  # fmt: skip
        """Send a whole request (``data``: head and body) on this idle connection; return the future
        that resolves when its response is complete (its head, when ``stream``).

        The same as ``begin()`` then a write, with begin's lines repeated here: this runs for
        every request, and a nested call would cost more than the whole timer logic."""
        self.state = WAITING
        self.request = request
        self._timeout = timeout
        self._stream = stream
        if route is not None:
            self._head_only = route.head_only
            self.keep_alive = route.keep_alive
        else:  # the CONNECT of a tunnel: its answer is a head alone
            self._head_only = True
            self.keep_alive = True
        self._got_bytes = False
        self.chunks = []
        self._check_at = self._first_check
        self.decoder = None
        self._deadline = deadline
        read = timeout.read
        self._read_timeout = read
        if read is not None:
            self._last_data = now
            if now + read < deadline:
                deadline = now + read
        if deadline < self._timer_at:
            self._arm(deadline)
        self.transport.write(data)  # type: ignore[union-attr]
        waiter = self._new_future()
        self._waiter = waiter
        self._reading = True
        return waiter

    def begin(self, request: Request, timeout: Timeout, deadline: float, now: float, route: Route | None,
              stream: bool) -> None:  # fmt: skip
        """Start a request on this idle connection; the caller writes it next (``start`` does both)."""
        # Keep in step with start().
        self.state = WAITING
        self.request = request
        self._timeout = timeout
        self._stream = stream
        if route is not None:
            self._head_only = route.head_only
            self.keep_alive = route.keep_alive
        else:  # the CONNECT of a tunnel: its answer is a head alone
            self._head_only = True
            self.keep_alive = True
        self._got_bytes = False
        self.chunks = []
        self._check_at = self._first_check
        self.decoder = None
        self._deadline = deadline
        read = timeout.read
        self._read_timeout = read
        if read is not None:
            self._last_data = now
            if now + read < deadline:
                deadline = now + read
        if deadline < self._timer_at:  # else the timer armed already fires early enough
            self._arm(deadline)

    async def _wait(self) -> None:
        if self.error is not None:
            raise self.error
        waiter = self.loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def take_body(self) -> bytes:
        """The buffered body, joined and with the decoder flushed (raises DecodingError when truncated)."""
        chunks = self.chunks
        decoder = self.decoder
        if decoder is not None:
            try:
                chunks.extend(decoder.flush_iter())
            except (DecodingError, ResponseTooLarge) as exc:
                exc.request = self.request
                self.abort()
                raise errors.quiet(exc) from None
        self.chunks = []
        if not chunks:
            return _EMPTY
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def park(self, now: float) -> None:
        """Back to IDLE after a clean keep-alive response (the pool puts it on its stack).

        The request's deadlines stay stored but the timer ignores them while IDLE; it only
        enforces ``keepalive_expiry`` from ``idle_since``."""
        self.state = IDLE
        self.request = None
        self.idle_since = now
        if self.queue:
            self.queue.clear()
            self.queued = 0
        if self._paused:
            self._paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        if self.stopped:  # the parser was stopped after a HEAD head: a fresh one
            self.stopped = False
            self._parser = HttpResponseParser(self)
        if self._timer is None:
            self._arm(INF)

    def abort(self) -> None:
        """Close at once, without a graceful shutdown: used on errors and cancellation."""
        self.state = CLOSED
        self.keep_alive = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    def close(self) -> None:
        """Close gracefully (an idle or finished connection)."""
        self.state = CLOSED
        self.keep_alive = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def fail(self, error: BaseException) -> None:
        """Fail the request in flight with ``error`` (the session was closed under it)."""
        self._fail(error)

    # -- internals ----------------------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        if self._body_view is not None:
            self._drop_body_buffer()
        self.state = CLOSED
        self.keep_alive = False
        self._reading = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(error)
        elif self._writer_task is not None:
            # The upload is awaiting the caller's body iterator: interrupt it (see _send_iterable).
            task, self._writer_task = self._writer_task, None
            self._cancelled_writer = True
            task.cancel()

    def _unexpected_bytes(self) -> None:
        if self.state == IDLE:
            self.close()  # the server broke the protocol between requests: never reuse
        elif self.state == COMPLETE:
            self.keep_alive = False  # closed when its response is taken

    def _keep_partial_head(self) -> None:
        data = self._view[self._scan_from : self._nbytes]
        if self._prefix is None:
            self._prefix = bytearray(data)
        else:
            self._prefix += data
        if len(self._prefix) > MAX_HEAD:
            assert self.request is not None
            self._fail(errors.invalid_response(self.request, f"the response head is larger than {MAX_HEAD} bytes"))

    def _parse_stopped(self, exc: HttpParserError) -> None:
        if self.error is not None:
            return  # a callback already failed the request
        if self.stopped or self.state == COMPLETE:
            # Stopped on purpose (a HEAD or CONNECT head), or bytes after the response: the response
            # stands; the parser is not used again (park() gives a reusable connection a new one).
            if not self.stopped:
                self.stopped = True
                self.keep_alive = False
            return
        request = self.request
        assert request is not None
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        if self.state == BODY:
            self._fail(errors.cut_short(request, detail))
        else:
            self._fail(errors.invalid_response(request, detail))

    def _upgraded(self) -> None:
        # 101 Switching Protocols (never asked for): the head is the response; the rest is not HTTP.
        self.stopped = True
        self.keep_alive = False
        if self.state != COMPLETE:
            self.state = COMPLETE
            self._wake()

    def _body_ends_at_eof(self) -> bool:
        return not has_framing(self.raw_head) and self.status not in (204, 304)

    def _complete_at_eof(self) -> None:
        self.keep_alive = False
        self.on_message_complete()

    def _check_size(self) -> None:
        cap = self.cap
        request = self.request
        assert cap is not None and request is not None
        received = sum(len(chunk) for chunk in self.chunks)  # runs at most twice per response
        length = content_length(self.raw_head)
        if length is not None and length > cap:
            self._fail(errors.too_large(request, cap, f"its Content-Length is {length} bytes"))
            raise _StopParsing
        if received > cap:
            self._fail(errors.too_large(request, cap, "the decoded body grew past it"))
            raise _StopParsing
        self._check_at = cap - received
