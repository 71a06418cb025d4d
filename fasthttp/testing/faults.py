"""Fault-injecting servers on 127.0.0.1: scripted misbehaviour for reliability tests.

``FaultServer(script)`` is a raw asyncio HTTP/1.1 server. For every request it
reads the request head (never the body: that is the script's choice) and awaits
``script(reader, writer, request_head, ctx)``, which writes whatever bytes the
test wants: a correct response, a lie about Content-Length, a reset mid-body, a
body that drips forever, nothing at all. After the script returns, the
connection reads the next request unless the script closed, aborted or called
``ctx.close_after()``. Ready-made scripts are below (``ok``, ``truncated``,
``garbage_status``, ``reset_mid_body``, ``drip``, ...), with combinators that
pick a script per request (``sequence``, ``rotate``, ``by_path``).

The server counts from its side what a client's pool did: ``accepted``
connections, ``requests`` parsed, connections ``open`` now, and ``log`` records
each request with the connection it came on, so a test can prove a connection
was reused, replaced or closed (``await server.wait_open(0)``).

``ssl=`` serves TLS. ``handshake="stall"`` makes a listener that accepts TCP and
never answers (a TLS handshake that never completes); ``"garbage"`` answers the
ClientHello with bytes that are not TLS; ``handshake_delay=s`` (with ``ssl=``)
starts a real handshake only ``s`` seconds after accepting. ``rcvbuf=`` shrinks
the server's receive buffer so an unread upload blocks the client quickly;
``keep_log=n`` bounds the request log for long load runs. ``blackhole()`` is a
port whose connects never complete
(a full accept backlog: SYNs dropped). ``H2FaultServer`` does the same for
HTTP/2 frames over TLS + ALPN h2 (``h2`` is imported only when one is built):
RST_STREAM, GOAWAY mid-response, a lowered MAX_CONCURRENT_STREAMS.

Everything here is stdlib (plus ``h2`` for HTTP/2), so the module imports without
test dependencies. Every socket is closed by ``stop()`` / ``async with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import socket
import ssl
import struct
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from h2.connection import H2Connection

__all__ = [
    "FaultContext",
    "FaultServer",
    "H2FaultServer",
    "H2Script",
    "H2Stream",
    "Reader",
    "RequestRecord",
    "Script",
    "Writer",
    "bad_chunk_size",
    "blackhole",
    "by_path",
    "chunked",
    "close_without_response",
    "drip",
    "garbage_status",
    "gzip_bomb",
    "gzip_lie",
    "h2_goaway_mid_response",
    "h2_lower_max_streams",
    "h2_ok",
    "h2_rst_stream",
    "h2_sequence",
    "never_read",
    "no_body",
    "ok",
    "oversized_headers",
    "raw",
    "redirect",
    "reset_before_response",
    "reset_mid_body",
    "respond",
    "response_head",
    "retry_after",
    "rotate",
    "sequence",
    "sse",
    "stacked_codings",
    "stall_headers",
    "truncated",
    "truncated_chunked",
]

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
Script = Callable[[Reader, Writer, bytes, "FaultContext"], Awaitable[None]]
"""One request's behaviour: ``(reader, writer, request_head, ctx) -> None``."""

Handshake = Literal["ok", "stall", "garbage"]

_HEAD_LIMIT = 1024 * 1024
_STOP_GRACE = 1.0


# -- the request and its context -------------------------------------------------------------
@dataclass(frozen=True)
class RequestRecord:
    """One request head as the server parsed it, and where it came from."""

    number: int  # 0-based, in arrival order over the whole server
    connection: int  # 0-based id of the TCP connection it came on
    index: int  # 0-based position on that connection (0: a fresh connection)
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def _parse_head(head: bytes, number: int, connection: int, index: int) -> RequestRecord:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method, target, version = [*parts, "", "", ""][:3]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return RequestRecord(number, connection, index, method, target, version, tuple(headers))


class FaultContext:
    """What a script knows about its request, and the actions it can take."""

    def __init__(
        self,
        server: FaultServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: RequestRecord,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.request = request
        self.keep_alive = (request.header("connection") or "").lower() != "close"
        self.idle_timeout: float | None = None  # close the connection when idle this long
        self.body_read = False
        self.aborted = False

    @property
    def number(self) -> int:
        return self.request.number

    async def read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked); ``b""`` when there is none."""
        if self.body_read:
            return b""
        self.body_read = True
        length = self.request.header("content-length")
        if length is not None:
            return await self.reader.readexactly(int(length))
        if "chunked" in (self.request.header("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    return b"".join(parts)
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
        return b""

    async def send(self, data: bytes) -> bool:
        """Write ``data`` and wait for it to drain; False when the peer is gone."""
        if self.writer.is_closing():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            return False
        return True

    def close_after(self) -> None:
        """Close the connection (FIN) once the script returns instead of reading another request."""
        self.keep_alive = False

    def abort(self) -> None:
        """Reset the connection now: SO_LINGER 0 then close, so the peer gets a TCP RST."""
        self.aborted = True
        _reset(self.writer)

    async def wait_peer_gone(self, timeout: float | None = None) -> bool:
        """Read and discard until the client closes (True) or ``timeout`` passes (False)."""

        async def drain() -> None:
            while await self.reader.read(65536):
                pass

        try:
            await asyncio.wait_for(drain(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return False
        except (ConnectionError, OSError):
            return True
        return True


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- the server -----------------------------------------------------------------------------
class FaultServer:
    """An HTTP/1.1 server on 127.0.0.1 whose every response is scripted (see the module docstring).

    ``script`` may be replaced between requests (``server.script = ...``). ``rcvbuf``
    shrinks the accepted sockets' receive buffer so a client's upload blocks soon
    when a script does not read it. ``ssl`` serves TLS; ``handshake`` other than
    "ok" replaces TLS by a fault (the listener is plain TCP then); ``handshake_delay=s``
    accepts TCP and starts the TLS handshake only ``s`` seconds later (Python 3.11+). ``keep_log=n``
    keeps only the last n request records (0: none), for long load runs.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        ssl: ssl.SSLContext | None = None,
        handshake: Handshake = "ok",
        rcvbuf: int | None = None,
        keep_log: int | None = None,
        handshake_delay: float | None = None,
    ) -> None:
        if handshake_delay is not None and (ssl is None or sys.version_info < (3, 11)):
            raise ValueError("handshake_delay= needs ssl= (a server context) and Python 3.11 or later.")
        self.script: Script = script if script is not None else ok()
        self.host = host
        self.port = 0
        self.ssl = ssl
        self.handshake: Handshake = handshake
        self.rcvbuf = rcvbuf
        self.handshake_delay = handshake_delay
        self.accepted = 0
        self.closed = 0
        self.requests = 0
        self.max_open = 0
        self.log: deque[RequestRecord] = deque(maxlen=keep_log)
        self.errors: list[BaseException] = []
        self._server: asyncio.base_events.Server | None = None
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count()
        self._changed: asyncio.Event | None = None

    # -- lifecycle
    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        scheme = "https" if self.ssl is not None or self.handshake != "ok" else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def open(self) -> int:
        """Connections accepted and not yet closed (by either side)."""
        return self.accepted - self.closed

    async def start(self) -> FaultServer:
        self._changed = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)  # inherited by accepted sockets
        sock.bind((self.host, 0))
        self.port = int(sock.getsockname()[1])
        tls = self.ssl if self.handshake == "ok" and self.handshake_delay is None else None
        extra: dict[str, Any] = {}
        if tls is not None and sys.version_info >= (3, 11):
            extra["ssl_shutdown_timeout"] = _STOP_GRACE
        self._server = await asyncio.start_server(
            self._on_connection, sock=sock, ssl=tls, limit=_HEAD_LIMIT, backlog=1024, **extra
        )
        return self

    async def stop(self) -> None:
        """Stop listening, reset every open connection and wait for the handlers to end."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers.values()):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_STOP_GRACE)
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(server.wait_closed(), _STOP_GRACE)

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- observation
    async def wait_open(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at most ``count`` connections are open; False if that took longer than ``timeout``."""
        return await self._wait(lambda: self.open <= count, timeout)

    async def wait_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` requests have arrived."""
        return await self._wait(lambda: self.requests >= count, timeout)

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        assert self._changed is not None, "start the server first"
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    def connections_used(self) -> list[int]:
        """The connection id of every request, in arrival order."""
        return [record.connection for record in self.log]

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    # -- serving
    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = next(self._ids)
        self._writers[connection] = writer
        self.accepted += 1
        self.max_open = max(self.max_open, self.open)
        self._notify()
        aborted = False
        try:
            if self.handshake != "ok":
                await self._handshake_fault(reader, writer)
                return
            if self.handshake_delay is not None and self.ssl is not None:
                # Leave the ClientHello in the kernel: bytes read into the StreamReader now would
                # never reach the TLS layer start_tls() puts in place.
                cast(asyncio.Transport, writer.transport).pause_reading()
                await asyncio.sleep(self.handshake_delay)
                await writer.start_tls(self.ssl)  # type: ignore[attr-defined,unused-ignore]  # 3.11+
            index = 0
            idle: float | None = None
            while not writer.is_closing():
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
                    return
                except (asyncio.TimeoutError, TimeoutError):
                    return  # idle keep-alive connection: close it
                record = _parse_head(head, self.requests, connection, index)
                self.requests += 1
                self.log.append(record)
                self._notify()
                ctx = FaultContext(self, reader, writer, record)
                await self.script(reader, writer, head, ctx)
                if ctx.aborted:
                    aborted = True
                    return
                if not ctx.keep_alive:
                    return
                idle = ctx.idle_timeout
                index += 1
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            aborted = True
            raise
        except Exception as exc:  # a broken script: keep it for the test to see
            self.errors.append(exc)
        finally:
            await _close(writer, aborted)
            del self._writers[connection]
            self.closed += 1
            if task is not None:
                self._tasks.discard(task)
            self._notify()

    async def _handshake_fault(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.handshake == "garbage":
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(reader.read(65536), _STOP_GRACE)  # the ClientHello
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + b"\x00" * 64)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            return
        while await reader.read(65536):  # "stall": swallow the ClientHello, answer nothing
            pass


async def _close(writer: asyncio.StreamWriter, aborted: bool) -> None:
    if aborted or writer.transport.is_closing():
        writer.transport.abort()
        return
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), _STOP_GRACE)
    if not writer.transport.is_closing():
        writer.transport.abort()


# -- building responses ---------------------------------------------------------------------
_REASONS = {
    200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    307: "Temporary Redirect", 400: "Bad Request", 413: "Content Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}

HeaderPairs = Iterable[tuple[str, str]]


def response_head(status: int, headers: HeaderPairs = ()) -> bytes:
    """A status line and header block, exactly as given (no framing header is added)."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- ready-made scripts ---------------------------------------------------------------------
def respond(
    status: int = 200, body: bytes = b"", headers: HeaderPairs = (), *, close: bool = False, read_body: bool = True
) -> Script:
    """A well-formed response with ``Content-Length``; ``close=True`` adds ``Connection: close`` and closes."""
    fixed = list(headers)

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        if read_body:
            await ctx.read_body()
        extra = [("Content-Length", str(len(body)))]
        if close:
            extra.append(("Connection", "close"))
            ctx.close_after()
        await ctx.send(response_head(status, [*fixed, *extra]) + body)

    return script


def ok(
    body: bytes = b"ok", *, headers: HeaderPairs = (), close: bool = False, idle_close: float | None = None
) -> Script:
    """200 with ``body``; ``idle_close=s`` closes the kept-alive connection after ``s`` idle seconds."""
    inner = respond(200, body, headers, close=close)

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await inner(reader, writer, head, ctx)
        ctx.idle_timeout = idle_close

    return script


def raw(data: bytes, *, then: Literal["keep", "close", "abort", "hold"] = "close") -> Script:
    """Write ``data`` verbatim, then keep the connection, close it (FIN), reset it, or hold it until the client goes."""

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await ctx.read_body()
        await ctx.send(data)
        if then == "close":
            ctx.close_after()
        elif then == "abort":
            ctx.abort()
        elif then == "hold":
            await ctx.wait_peer_gone()
            ctx.close_after()

    return script


def truncated(content_length: int = 13, sent: int = 10, *, keep_open: bool = False) -> Script:
    """``Content-Length: content_length`` but only ``sent`` bytes, then EOF (or the socket held open)."""
    head = response_head(200, [("Content-Length", str(content_length)), ("Content-Type", "text/plain")])
    return raw(head + b"x" * sent, then="hold" if keep_open else "close")


def chunked(chunks: Sequence[bytes], *, terminate: bool = True, headers: HeaderPairs = ()) -> Script:
    """A chunked body; ``terminate=False`` closes the connection before the last chunk."""
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks if chunk)
    head = response_head(200, [*headers, ("Transfer-Encoding", "chunked")])
    return raw(head + body + (b"0\r\n\r\n" if terminate else b""), then="keep" if terminate else "close")


def truncated_chunked() -> Script:
    """A chunked body cut off (EOF) before its last chunk."""
    return chunked([b"hello", b"world"], terminate=False)


def bad_chunk_size() -> Script:
    """A chunked body whose chunk size is not hexadecimal."""
    return raw(response_head(200, [("Transfer-Encoding", "chunked")]) + b"zz\r\nhello\r\n0\r\n\r\n")


def garbage_status() -> Script:
    """A status line that is not HTTP."""
    return raw(b"SPAM SPAM SPAM\r\nContent-Length: 0\r\n\r\n")


def close_without_response() -> Script:
    """Read the request, then close the connection without a byte of response."""
    return raw(b"", then="close")


def reset_before_response() -> Script:
    """Read the request, then reset the connection (TCP RST) without a response."""
    return raw(b"", then="abort")


def reset_mid_body(content_length: int = 100_000, sent: int = 1000) -> Script:
    """Send the head and ``sent`` bytes of a ``content_length`` body, then a TCP RST."""
    head = response_head(200, [("Content-Length", str(content_length))])
    return raw(head + b"x" * sent, then="abort")


def stall_headers() -> Script:
    """Read the request and never answer (until the client gives up)."""
    return raw(b"", then="hold")


def drip(size: int = 1000, interval: float = 0.1, *, first: int = 0) -> Script:
    """A ``size``-byte body (Content-Length) sent ``first`` bytes at once, then one byte per ``interval``."""

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await ctx.read_body()
        if not await ctx.send(response_head(200, [("Content-Length", str(size))]) + b"x" * first):
            return
        for _ in range(size - first):
            await asyncio.sleep(interval)
            if not await ctx.send(b"x"):
                return

    return script


def never_read(*, status: int | None = None, hold: float = 1.0) -> Script:
    """Leave the request body unread for ``hold`` seconds (the client's upload blocks), optionally
    answering ``status`` with ``Connection: close`` at once; then drain until the client goes."""

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        if status is not None:
            await ctx.send(response_head(status, [("Content-Length", "0"), ("Connection", "close")]))
        await asyncio.sleep(hold)
        await ctx.wait_peer_gone()
        ctx.close_after()

    return script


def oversized_headers(*, line: int | None = None, count: int | None = None) -> Script:
    """A response with one header line of ``line`` bytes, or ``count`` header fields."""
    headers = [("Content-Length", "2")]
    if line is not None:
        headers.append(("X-Huge", "a" * line))
    if count is not None:
        headers.extend((f"X-Field-{i}", "v") for i in range(count))
    return raw(response_head(200, headers) + b"ok", then="keep")


def no_body(status: int, headers: HeaderPairs) -> Script:
    """A response head with framing headers (``Content-Length``/chunked) but no body bytes:
    right for HEAD requests and for 204/304 answers."""
    return raw(response_head(status, headers), then="keep")


def gzip_lie(body: bytes = b"this is not gzip at all") -> Script:
    """``Content-Encoding: gzip`` on a plain body."""
    return respond(200, body, [("Content-Encoding", "gzip")])


def stacked_codings(layers: int = 6, body: bytes = b"x" * 100) -> Script:
    """``body`` gzipped ``layers`` times, declared as ``Content-Encoding: gzip, gzip, ...``."""
    for _ in range(layers):
        body = gzip.compress(body)
    return respond(200, body, [("Content-Encoding", ", ".join(["gzip"] * layers))])


def gzip_bomb(decoded_size: int = 50 * 1024 * 1024) -> Script:
    """A small gzip body of ``decoded_size`` zero bytes (about 1/1000 of that on the wire)."""
    return respond(200, gzip.compress(b"\0" * decoded_size, 9), [("Content-Encoding", "gzip")])


def redirect(location: str, status: int = 302) -> Script:
    """A redirect to ``location``."""
    return respond(status, b"", [("Location", location)])


def sse(text: bytes, *, status: int = 200, content_type: str = "text/event-stream") -> Script:
    """An event stream ``text`` (``id:``, ``data:``, ``retry:`` lines), then EOF."""
    head = response_head(status, [("Content-Type", content_type), ("Cache-Control", "no-cache")])
    return raw(head + text, then="close")


def retry_after(value: str, status: int = 503) -> Script:
    """``status`` with ``Retry-After: value``."""
    return respond(status, b"busy", [("Retry-After", value)])


# -- choosing a script per request -----------------------------------------------------------
def sequence(*scripts: Script, then: Script | None = None) -> Script:
    """The n-th request (server-wide, 0-based) gets ``scripts[n]``; later ones get ``then`` (``ok()``)."""
    rest = then if then is not None else ok()

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        chosen = scripts[ctx.number] if ctx.number < len(scripts) else rest
        await chosen(reader, writer, head, ctx)

    return script


def rotate(*scripts: Script) -> Script:
    """Request n gets ``scripts[n % len(scripts)]``."""

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await scripts[ctx.number % len(scripts)](reader, writer, head, ctx)

    return script


def by_path(routes: Mapping[str, Script], default: Script | None = None) -> Script:
    """Dispatch on the request path; unknown paths get ``default`` (a 404)."""
    fallback = default if default is not None else respond(404, b"no such path")

    async def script(reader: Reader, writer: Writer, head: bytes, ctx: FaultContext) -> None:
        await routes.get(ctx.request.path, fallback)(reader, writer, head, ctx)

    return script


# -- a port whose connects never complete ------------------------------------------------------
@contextlib.asynccontextmanager
async def blackhole(host: str = "127.0.0.1") -> AsyncIterator[int]:
    """A listening port with a full accept backlog that never accepts: new connects hang (SYNs dropped)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((host, 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(16):  # fill the backlog until a connect no longer completes
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex((host, port))
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            loop.add_writer(filler.fileno(), _resolve, done)
            try:
                await asyncio.wait_for(done, 0.1)
            except (asyncio.TimeoutError, TimeoutError):
                break
            finally:
                loop.remove_writer(filler.fileno())
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# -- HTTP/2 ---------------------------------------------------------------------------------
H2Script = Callable[["H2Stream"], Awaitable[None]]
"""One HTTP/2 request's behaviour: ``(stream) -> None``; ``stream.connection`` for connection-wide faults."""


@dataclass
class H2Stream:
    """One HTTP/2 request on an ``H2FaultServer``, and the frames a script can send for it."""

    connection: _H2ServerConnection
    stream_id: int
    number: int  # 0-based, in arrival order over the whole server
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def path(self) -> str:
        return dict(self.headers).get(":path", "")

    async def send_headers(self, status: int = 200, headers: HeaderPairs = (), *, end_stream: bool = False) -> None:
        self.connection.h2.send_headers(
            self.stream_id, [(":status", str(status)), *headers], end_stream=end_stream
        )
        self.connection.flush()

    async def send_data(self, data: bytes, *, end_stream: bool = False) -> None:
        """Send ``data`` within the peer's flow-control window (waiting for WINDOW_UPDATE as needed)."""
        await self.connection.send_data(self.stream_id, data, end_stream)

    async def respond(self, status: int = 200, body: bytes = b"", headers: HeaderPairs = ()) -> None:
        await self.send_headers(status, [*headers, ("content-length", str(len(body)))], end_stream=not body)
        if body:
            await self.send_data(body, end_stream=True)

    def reset(self, error_code: int = 2) -> None:
        """RST_STREAM (default INTERNAL_ERROR)."""
        self.connection.h2.reset_stream(self.stream_id, error_code)
        self.connection.flush()


@dataclass
class _H2ServerConnection:
    server: H2FaultServer
    id: int
    h2: H2Connection
    writer: asyncio.StreamWriter
    stream_ids: list[int] = field(default_factory=list)
    window_open: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def send_data(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        view = memoryview(data)
        while view:
            size = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size, len(view))
            if size <= 0:
                self.window_open.clear()
                await self.window_open.wait()
                continue
            self.h2.send_data(stream_id, bytes(view[:size]))
            view = view[size:]
            self.flush()
        if end_stream:
            self.h2.end_stream(stream_id)
            self.flush()
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def goaway(self, last_stream_id: int | None = None, error_code: int = 0) -> None:
        """Send GOAWAY (``last_stream_id`` None: the highest stream seen)."""
        self.h2.close_connection(error_code=error_code, last_stream_id=last_stream_id)
        self.flush()

    def update_settings(self, **settings: int) -> None:
        """Send a SETTINGS frame, e.g. ``max_concurrent_streams=1``."""
        from h2.settings import SettingCodes

        self.h2.update_settings({getattr(SettingCodes, name.upper()): value for name, value in settings.items()})
        self.flush()

    def close(self) -> None:
        """Close the TCP connection (after what was written)."""
        self.writer.close()


class H2FaultServer:
    """An HTTP/2 server (TLS, ALPN h2) on 127.0.0.1 whose every stream is scripted.

    ``ssl`` is the server's context (a certificate for 127.0.0.1); ALPN ``h2`` is set on
    it. Counts ``accepted``/``open`` connections and ``streams``; ``log`` holds
    ``(connection id, stream id)`` per request.
    """

    def __init__(self, script: H2Script | None, ssl: ssl.SSLContext, *, host: str = "127.0.0.1") -> None:
        import h2.connection  # noqa: F401  (fail now, with the real reason, if h2 is missing)

        self.script: H2Script = script if script is not None else h2_ok()
        self.ssl = ssl
        ssl.set_alpn_protocols(["h2"])
        self.host = host
        self.port = 0
        self.accepted = 0
        self.closed = 0
        self.streams = 0
        self.log: list[tuple[int, int]] = []
        self.errors: list[BaseException] = []
        self._server: asyncio.base_events.Server | None = None
        self._connections: dict[int, _H2ServerConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def open(self) -> int:
        return self.accepted - self.closed

    async def start(self) -> H2FaultServer:
        extra: dict[str, Any] = {"ssl_shutdown_timeout": _STOP_GRACE} if sys.version_info >= (3, 11) else {}
        self._server = await asyncio.start_server(self._on_connection, self.host, 0, ssl=self.ssl, **extra)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections.values()):
            connection.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_STOP_GRACE)
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(server.wait_closed(), _STOP_GRACE)

    async def __aenter__(self) -> H2FaultServer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def wait_open(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at most ``count`` connections are open."""
        deadline = time.monotonic() + timeout
        while self.open > count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection
        from h2.events import (
            ConnectionTerminated,
            DataReceived,
            RequestReceived,
            StreamEnded,
            StreamReset,
            WindowUpdated,
        )
        from h2.exceptions import ProtocolError as H2ProtocolError

        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = _H2ServerConnection(
            self, next(self._ids), H2Connection(H2Configuration(client_side=False, header_encoding="utf-8")), writer
        )
        self._connections[conn.id] = conn
        self.accepted += 1
        pending: dict[int, H2Stream] = {}
        try:
            conn.h2.initiate_connection()
            conn.flush()
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                try:
                    events = conn.h2.receive_data(data)
                except H2ProtocolError:
                    conn.flush()
                    return
                for event in events:
                    if isinstance(event, RequestReceived):
                        stream = H2Stream(conn, event.stream_id, self.streams, _text_headers(event.headers or ()))
                        self.streams += 1
                        self.log.append((conn.id, event.stream_id))
                        conn.stream_ids.append(event.stream_id)
                        pending[event.stream_id] = stream
                        if event.stream_ended is not None:
                            self._dispatch(pending.pop(event.stream_id))
                    elif isinstance(event, DataReceived):
                        if event.stream_id in pending:
                            pending[event.stream_id].body += event.data or b""
                        conn.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, StreamEnded):
                        if event.stream_id in pending:
                            self._dispatch(pending.pop(event.stream_id))
                    elif isinstance(event, StreamReset):
                        running = conn.tasks.pop(event.stream_id, None)
                        if running is not None:
                            running.cancel()
                    elif isinstance(event, WindowUpdated):
                        conn.window_open.set()
                    elif isinstance(event, ConnectionTerminated):
                        conn.flush()
                        return
                conn.flush()
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors.append(exc)
        finally:
            for running in conn.tasks.values():
                running.cancel()
            writer.transport.abort()
            del self._connections[conn.id]
            self.closed += 1
            if task is not None:
                self._tasks.discard(task)

    def _dispatch(self, stream: H2Stream) -> None:
        async def run() -> None:
            try:
                await self.script(stream)
            except asyncio.CancelledError:
                pass
            except (ConnectionError, OSError):
                pass
            except Exception as exc:  # h2 refusing a frame on a reset stream is a script's business
                self.errors.append(exc)
            finally:
                stream.connection.tasks.pop(stream.stream_id, None)

        task = asyncio.ensure_future(run())
        stream.connection.tasks[stream.stream_id] = task


def _text_headers(headers: Iterable[tuple[bytes | str, bytes | str]]) -> list[tuple[str, str]]:
    return [
        (k.decode("latin-1") if isinstance(k, bytes) else k, v.decode("latin-1") if isinstance(v, bytes) else v)
        for k, v in headers
    ]


def h2_ok(body: bytes = b"ok", *, delay: float = 0.0) -> H2Script:
    """200 with ``body`` (after ``delay`` seconds)."""

    async def script(stream: H2Stream) -> None:
        if delay:
            await asyncio.sleep(delay)
        await stream.respond(200, body)

    return script


def h2_rst_stream(error_code: int = 2) -> H2Script:
    """RST_STREAM instead of a response."""

    async def script(stream: H2Stream) -> None:
        stream.reset(error_code)

    return script


def h2_goaway_mid_response(sent: bytes = b"partial", *, error_code: int = 2) -> H2Script:
    """Headers and part of the body, then GOAWAY (last stream 0: nothing was processed) and close."""

    async def script(stream: H2Stream) -> None:
        await stream.send_headers(200, [("content-length", "1000")])
        await stream.send_data(sent)
        await asyncio.sleep(0.05)
        stream.connection.goaway(last_stream_id=0, error_code=error_code)
        stream.connection.close()

    return script


def h2_lower_max_streams(limit: int = 1, *, at_stream: int = 0, delay: float = 0.05, body: bytes = b"ok") -> H2Script:
    """When the server-wide stream number ``at_stream`` arrives, lower MAX_CONCURRENT_STREAMS to
    ``limit`` on its connection; answer every stream after ``delay`` seconds (so the streams already
    opened are still in flight when the limit drops)."""

    async def script(stream: H2Stream) -> None:
        if stream.number == at_stream:
            stream.connection.update_settings(max_concurrent_streams=limit)
        await asyncio.sleep(delay)
        await stream.respond(200, body)

    return script


def h2_sequence(*scripts: H2Script, then: H2Script | None = None) -> H2Script:
    """The n-th stream (server-wide, 0-based) gets ``scripts[n]``; later ones get ``then`` (``h2_ok()``)."""
    rest = then if then is not None else h2_ok()

    async def script(stream: H2Stream) -> None:
        await (scripts[stream.number] if stream.number < len(scripts) else rest)(stream)

    return script
