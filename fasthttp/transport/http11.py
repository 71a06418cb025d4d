"""Our own HTTP/1.1 transport: asyncio + httptools, a LIFO keep-alive pool, request heads built once.

``HTTP11Transport(options)`` implements the ``Transport`` protocol (``handle``,
``handle_stream``, ``aclose``) with the behaviour of ``AiohttpTransport``: the same
exceptions with the same sentences for the same situations, the same caps and the
same SSRF enforcement, several times less CPU per request (see bench/).

The rules of one request:

1. ``guard.check_target(url)`` (SSRF checks that need no DNS), when SSRF protection is on; a URL
   object that already passed it (same object, same route) is not checked twice.
2. The route (``h11_head.RouteCache``): the request head as bytes, built once per
   method, URL and header set; where to connect; through which proxy.
3. A slot (``h11_pool``): ``SlotGate.try_acquire()`` inline, else a FIFO wait bounded
   by ``Timeout.pool`` (and the total deadline) ending in ``PoolTimeout``; then the
   per-host slot when ``Limits.max_per_host`` is set.
4. A connection: the most recent idle one for the route (inline, no coroutine),
   else a new one: ``guard.resolve(host, port)`` gives the approved addresses, the
   first that accepts is dialled, with ``server_hostname`` = the URL's host for
   SNI and the certificate check, and the ``Host`` header from the URL. Through a
   proxy: the proxy is dialled; ``https://`` then goes through ``CONNECT`` (a
   non-2xx answer is ``ProxyError``) and TLS is started inside the tunnel with
   ``loop.start_tls``. TCP, CONNECT and TLS together are bounded by
   ``Timeout.connect`` (``ConnectTimeout``) and the total deadline, with one
   ``call_at`` timer that cancels the opening task.
5. The request is written: head and a small bytes body in one ``write()``; a
   large bytes body in 256 KiB pieces and an async iterable with chunked coding,
   both waiting for the socket to drain (``Timeout.write`` -> ``WriteTimeout``)
   and stopping early if the server answers before reading it all (a 413 is
   returned, not a write error). ``Expect: 100-continue`` is not used: it costs a
   round trip on every upload to save bandwidth only on refused ones, and the
   early-answer rule above already returns those refusals.
6. The response is read by the connection's protocol (``h11_protocol``), under
   one timer per connection for the total deadline and the read-inactivity
   timeout. A buffered body is decoded as it arrives (at most two codings, every
   step bounded) and capped at ``SecurityConfig.max_body_size``; a streamed body
   is handed to ``StreamResponse`` raw, with reading paused while more than
   256 KiB wait unread.
7. One transparent retry: a *reused* idle connection that closed before the first
   byte of the response (the server's keep-alive timer won the race) is replaced
   by a new connection and the request sent again, for idempotent methods with a
   replayable body only. Otherwise that is ``ProtocolError`` ("closed the
   connection without sending a complete response").
8. After the response: a clean keep-alive connection goes back on its stack, any
   other is closed; the slot is released. Any failure or cancellation at any
   stage (waiting for a slot, connecting, writing, reading, a stream abandoned)
   closes the connection it was using (never reused half-read) and releases the
   slot. A streamed response dropped without ``aclose()`` warns
   ``ResourceWarning`` and releases both when collected.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
import urllib.request
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Final

from yarl import URL

from ..config import Timeout
from ..exceptions import ProtocolError, ReadTimeout, RequestError, TransportError
from ..response import Response
from ..security.guard import SSRFGuard
from ..security.redact import mask_url
from ..streaming import StreamResponse
from ..tls import build_ssl_context
from . import h11_errors as errors
from .base import TransportOptions
from .h11_head import MAX_ROUTES, ProxySpec, Route, RouteCache
from .h11_pool import ConnectionPool
from .h11_protocol import COMPLETE, IDLE, SMALL_BODY, H11Connection
from .h11_stream import H11ByteStream

if TYPE_CHECKING:
    from ..models import Request
    from .gate import SlotGate

__all__ = ["HTTP11Transport"]

INF: Final = float("inf")
_NO_TIMEOUT: Final = Timeout(total=None)
_get_running_loop = asyncio.get_running_loop


class HTTP11Transport:
    """HTTP/1.1 on asyncio and httptools: one pool and one SSL context per fasthttp session."""

    def __init__(self, options: TransportOptions | None = None) -> None:
        self._options = options = options or TransportOptions()
        security = options.security
        self._max_body = security.max_body_size if security is not None else None
        self._pool = ConnectionPool(options.limits, self._max_body)
        self._gate = self._pool.gate  # read by the fault tests (waiting count)
        self._idle_stacks = self._pool.idle_stacks
        self._expiry = options.limits.keepalive_expiry
        self._proxy = ProxySpec.parse(URL(options.proxy)) if options.proxy else None
        self._guard = SSRFGuard(security, proxy=options.proxy) if security is not None and security.ssrf_on else None
        self._routes = RouteCache(self._proxy)
        # The route of each URL object last sent, by id(): one int-keyed lookup on the hot path
        # (yarl's URL.__hash__ is Python code). The entry holds the URL, so its id stays unique.
        self._recent: dict[int, Route] = {}
        self._ssl: ssl.SSLContext | None = options.ssl_context
        self._encoding = options.default_encoding
        # HTTP(S)_PROXY / NO_PROXY, read once; only when the session allows it (SSRF off, no proxy=).
        self._env_proxies: dict[str, str] | None = (
            urllib.request.getproxies_environment() if options.trust_env and self._proxy is None else None
        )
        self._env_routes: dict[tuple[str, str, int | None], ProxySpec | None] = {}
        self._closed = False
        self._per_host = self._pool.host_gates is not None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: Callable[[], float] = time.monotonic

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the running loop and its clock: ``time.monotonic`` itself (a C call) when the loop's
        ``time()`` is asyncio's own, which returns exactly that; the loop's method otherwise (uvloop)."""
        self._loop = loop
        stock = type(loop).time is asyncio.BaseEventLoop.time
        self._clock = time.monotonic if stock else loop.time

    # -- counts for tests and diagnostics ---------------------------------------------------------
    @property
    def pool_free(self) -> int:
        """Free request slots (``Limits.max_connections`` minus requests in flight)."""
        return self._gate.free

    @property
    def connections_open(self) -> int:
        """Open connections, busy or idle."""
        return self._pool.connections

    @property
    def connections_idle(self) -> int:
        """Idle keep-alive connections in the pool."""
        return self._pool.idle

    # -- the Transport protocol ---------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body read."""
        # The common case (an idle connection, a body of at most 64 KiB, no retry) runs inline
        # here without another coroutine; everything else goes through the helpers below.
        timeout = request.timeout
        if type(timeout) is not Timeout:
            timeout = Timeout.coerce(timeout)
        url = request.url
        proxy = self._proxy if self._env_proxies is None else self._env_proxy(request)
        route = self._recent.get(id(url))
        if (
            route is None
            or route.url is not url
            or route.method != request.method
            or route.headers != request.headers
            or route.proxy is not proxy
        ):
            route = self._route(request, proxy)  # runs guard.check_target(url) first
        loop = _get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        clock = self._clock
        started = clock()
        total = timeout.total
        deadline = started + total if total is not None else INF
        gate = self._gate
        if not gate.try_acquire():
            await self._wait_slot(gate, request, timeout, deadline, False)
        host_gate: SlotGate | None = None
        if self._per_host:
            host_gate = await self._host_slot(gate, route, request, timeout, deadline)
        conn: H11Connection | None = None
        try:
            stack = self._idle_stacks.get(route.key)
            if stack:
                conn = stack.pop()
                if conn.state == IDLE and started - conn.idle_since < self._expiry:
                    conn.reused = True
                else:
                    self._pool.discard(conn)
                    conn = self._pool.pop_idle(route.key, started)
            body = request.content
            if conn is not None and (body is None or (type(body) is bytes and len(body) <= SMALL_BODY)):
                data = (
                    route.head_nobody
                    if body is None
                    else b"%sContent-Length: %d\r\n\r\n%s" % (route.head, len(body), body)
                )
                try:
                    await conn.start(request, timeout, deadline, started, route, data, False)
                except errors.StaleConnection as stale:
                    conn = await self._retry(conn, stale, route, request, timeout, deadline, started, False)
            else:
                if conn is None:
                    conn = await self._connect(route, request, timeout, deadline)
                conn = await self._exchange(conn, route, request, timeout, deadline, started, False)
            if conn.decoder is None:
                chunks = conn.chunks
                conn.chunks = []  # the body is the Response's now: an idle connection must not pin it
                content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            else:
                content = conn.take_body()
        except BaseException:
            if conn is not None:
                self._pool.discard(conn)
            gate.release()
            if host_gate is not None:
                host_gate.release()
            raise
        now = clock()
        if conn.keep_alive and conn.state == COMPLETE and not conn.stopped:
            # Clean and keep-alive: back on its stack (the inline form of ConnectionPool.release).
            conn.state = IDLE
            conn.request = None
            conn.idle_since = now
            conn.stack.append(conn)  # no timer work: the connection's heartbeat checks its expiry
        else:
            self._pool.release(conn, now)
        gate.release()
        if host_gate is not None:
            host_gate.release()
        return Response._received(
            conn.status,
            conn.raw_head,  # a RawHead iterates as (name, value) fields, decoded on first use
            content,
            conn.reason,
            conn.version,
            url,
            request,
            now - started,
            self._encoding,
        )

    async def handle_stream(self, request: Request) -> StreamResponse:
        """Send ``request`` and return at the end of the response head, the body unread."""
        timeout = request.timeout
        if type(timeout) is not Timeout:
            timeout = Timeout.coerce(timeout)
        route = self._route(request, self._proxy if self._env_proxies is None else self._env_proxy(request))
        loop = _get_running_loop()
        started = loop.time()
        total = timeout.total
        deadline = started + total if total is not None else INF
        gate = self._gate
        if not gate.try_acquire():
            await self._wait_slot(gate, request, timeout, deadline, False)
        host_gate: SlotGate | None = None
        if self._per_host:
            host_gate = await self._host_slot(gate, route, request, timeout, deadline)
        conn: H11Connection | None = None
        try:
            conn = self._pool.pop_idle(route.key, started)
            if conn is None:
                conn = await self._connect(route, request, timeout, deadline)
            conn = await self._exchange(conn, route, request, timeout, deadline, started, True)
        except BaseException:
            if conn is not None:
                self._pool.discard(conn)
            gate.release()
            if host_gate is not None:
                host_gate.release()
            raise
        return StreamResponse(
            conn.status,
            stream=H11ByteStream(conn, self, host_gate),
            headers=conn.raw_head,  # a RawHead: its fields are decoded on first use
            reason=conn.reason,
            http_version=conn.version,
            url=request.url,
            request=request,
            elapsed=loop.time() - started,
            default_encoding=self._encoding,
            max_decoded_size=self._max_body,
            max_body_size=self._max_body,
        )

    async def aclose(self) -> None:
        """Close every connection; requests in flight fail with ReadError."""
        if self._closed:
            return
        self._closed = True
        await self._pool.aclose(errors.closed_by_session)

    def _route(self, request: Request, proxy: ProxySpec | None) -> Route:
        """Rules 1 and 2: the SSRF checks that need no DNS, then the cached route.

        ``handle`` skips this when the identity-keyed entry proves this very URL object passed here
        before: ``check_target`` is a pure function of the URL's scheme, host and port and of the
        transport's fixed policy (the guard caches it per origin anyway), so the check is not weaker,
        just not repeated."""
        if self._guard is not None:
            self._guard.check_target(request.url)
        route = self._routes.get(request, proxy)
        recent = self._recent
        if len(recent) >= MAX_ROUTES:
            recent.clear()
        recent[id(request.url)] = route
        return route

    # -- one exchange ---------------------------------------------------------------------------------
    async def _exchange(self, conn: H11Connection, route: Route, request: Request, timeout: Timeout,
                        deadline: float, started: float, stream: bool) -> H11Connection:  # fmt: skip
        """Write the request on ``conn`` and wait for its response (its head only when ``stream``);
        a stale reused connection is replaced once (rule 7). Returns the connection that answered."""
        try:
            await self._send(conn, route, request, timeout, deadline, started, stream)
        except errors.StaleConnection as stale:
            return await self._retry(conn, stale, route, request, timeout, deadline, started, stream)
        return conn

    async def _retry(self, conn: H11Connection, stale: errors.StaleConnection, route: Route, request: Request,
                     timeout: Timeout, deadline: float, started: float, stream: bool) -> H11Connection:  # fmt: skip
        """Rule 7: a reused connection died before answering; send once more on a new one if allowed."""
        body = request.content
        if not route.idempotent or not (body is None or isinstance(body, bytes)):
            raise stale.error from None
        self._pool.discard(conn)
        conn = await self._connect(route, request, timeout, deadline)
        try:
            await self._send(conn, route, request, timeout, deadline, started, stream)
        except errors.StaleConnection as again:  # cannot happen on a new connection; never loop
            raise again.error from None
        return conn

    async def _send(self, conn: H11Connection, route: Route, request: Request, timeout: Timeout,
                    deadline: float, started: float, stream: bool) -> None:  # fmt: skip
        body = request.content
        waiter: asyncio.Future[None] | None
        if body is None:
            waiter = conn.start(request, timeout, deadline, started, route, route.head_nobody, stream)
        elif type(body) is bytes and len(body) <= SMALL_BODY:
            data = b"%sContent-Length: %d\r\n\r\n%s" % (route.head, len(body), body)
            waiter = conn.start(request, timeout, deadline, started, route, data, stream)
        else:
            conn.begin(request, timeout, deadline, started, route, stream)
            head, chunked = self._framing(route, body)
            await conn.send_body(head, body, chunked)
            waiter = conn.response_waiter()
        if waiter is not None:
            await waiter

    @staticmethod
    def _framing(route: Route, body: bytes | AsyncIterable[bytes]) -> tuple[bytes, bool]:
        if isinstance(body, (bytes, bytearray, memoryview)):
            return b"%sContent-Length: %d\r\n\r\n" % (route.head, len(body)), False
        if route.length is not None:  # the caller announced the length of its stream: no chunked coding
            return b"%sContent-Length: %d\r\n\r\n" % (route.head, route.length), False
        return route.head + b"Transfer-Encoding: chunked\r\n\r\n", True

    def finish_stream(self, conn: H11Connection, host_gate: SlotGate | None) -> None:
        """A streamed response was closed: pool or close its connection, release its slots."""
        self._pool.release(conn, conn.loop.time())
        self._gate.release()
        if host_gate is not None:
            host_gate.release()

    # -- slots ----------------------------------------------------------------------------------------
    async def _wait_slot(self, gate: SlotGate, request: Request, timeout: Timeout, deadline: float,
                         per_host: bool) -> None:  # fmt: skip
        loop = _get_running_loop()
        now = loop.time()
        limit = timeout.pool
        remaining = deadline - now
        if remaining < INF and (limit is None or remaining < limit):
            limit = max(remaining, 0.0)
        if not await gate.acquire(limit):
            raise errors.pool_timeout(request, limit or 0.0, gate.limit, per_host)
        if loop.time() >= deadline:
            gate.release()
            total = timeout.total or 0.0
            raise errors.quiet(
                ReadTimeout(
                    f"{request.method} {mask_url(request.url)} used its whole {total:g} s deadline "
                    "waiting for a connection.",
                    request=request,
                )
            )

    async def _host_slot(self, gate: SlotGate, route: Route, request: Request, timeout: Timeout,
                         deadline: float) -> SlotGate:  # fmt: skip
        host_gate = self._pool.host_gate(route.host_key)
        if not host_gate.try_acquire():
            try:
                await self._wait_slot(host_gate, request, timeout, deadline, True)
            except BaseException:
                gate.release()
                raise
        return host_gate

    # -- opening connections --------------------------------------------------------------------------
    async def _connect(self, route: Route, request: Request, timeout: Timeout, deadline: float) -> H11Connection:
        """A new connection for ``route`` (TCP, CONNECT tunnel, TLS), under the connect timeout."""
        if self._closed:
            raise errors.quiet(
                TransportError(
                    f"{request.method} {mask_url(request.url)} was not sent: the session is closed.", request=request
                )
            )
        loop = _get_running_loop()
        now = loop.time()
        at = deadline
        connect = timeout.connect
        if connect is not None and now + connect < at:
            at = now + connect
        conn = self._pool.new_connection(route.key, loop)
        timer = _TaskTimer(loop, at) if at < INF else None
        stage = [route.proxy is not None]  # True while the failure would be the proxy's
        try:
            await self._dial(conn, route, request, stage)
        except asyncio.CancelledError:
            self._pool.discard(conn)
            if timer is not None and timer.expired():
                if at < deadline and connect is not None:
                    raise errors.connect_timeout(request, connect) from None
                raise errors.total_timeout(request, timeout) from None
            raise
        except RequestError as exc:  # SSRFBlocked / ConnectError from the guard, ProxyError from CONNECT
            self._pool.discard(conn)
            if exc.request is None:
                exc.request = request
            raise
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (ssl.SSLError)
            self._pool.discard(conn)
            raise errors.connect_failed(request, exc, to_proxy=stage[0], tls=route.tls) from None
        except BaseException:
            self._pool.discard(conn)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return conn

    async def _dial(self, conn: H11Connection, route: Route, request: Request, stage: list[bool]) -> None:
        loop = conn.loop
        host, port = route.dial_host, route.dial_port
        addresses = await self._guard.resolve(host, port) if self._guard is not None else [host]
        tls = self._ssl_context() if route.tls and not route.tunnel else None
        last = len(addresses) - 1
        for index, address in enumerate(addresses):
            try:
                await loop.create_connection(
                    lambda: conn, address, port, ssl=tls, server_hostname=route.sni if tls is not None else None
                )
                break
            except OSError as exc:
                # The next approved address may answer; a TLS failure would fail on every address alike.
                if isinstance(exc, ssl.SSLError) or index == last:
                    raise
        if route.tunnel:
            await self._open_tunnel(conn, route, request)
            stage[0] = False
            transport = conn.transport
            assert transport is not None
            tls_transport = await loop.start_tls(transport, conn, self._ssl_context(), server_hostname=route.sni)
            if tls_transport is None:  # pragma: no cover - only when the loop has no TLS support
                raise OSError("TLS could not be started inside the proxy tunnel")
            conn.connection_made(tls_transport)

    async def _open_tunnel(self, conn: H11Connection, route: Route, request: Request) -> None:
        """CONNECT through the proxy; returns when the tunnel is open (2xx), else ProxyError."""
        now = conn.loop.time()
        await conn.start(request, _NO_TIMEOUT, INF, now, None, route.tunnel_head(), False)
        if not 200 <= conn.status < 300:
            raise errors.proxy_refused(request, conn.status, conn.reason)
        if conn.state != COMPLETE or conn.trailing:
            raise errors.quiet(
                ProtocolError(
                    f"{request.method} {mask_url(request.url)}: the proxy accepted CONNECT but then broke the "
                    "tunnel (it sent bytes before TLS started, or closed it).",
                    request=request,
                )
            )

    def _ssl_context(self) -> ssl.SSLContext:
        context = self._ssl
        if context is None:
            context = self._ssl = build_ssl_context(True)
        return context

    def _env_proxy(self, request: Request) -> ProxySpec | None:
        url = request.url
        key = (url.scheme, url.raw_host or "", url.port)
        if key in self._env_routes:
            return self._env_routes[key]
        proxies = self._env_proxies or {}
        spec: ProxySpec | None = None
        value = proxies.get(url.scheme) or proxies.get("all")
        if value and not urllib.request.proxy_bypass(url.raw_host or ""):
            try:
                spec = ProxySpec.parse(URL(value if "://" in value else f"http://{value}"))
            except ValueError:
                spec = None  # an https:// or socks proxy in the environment: not supported, go direct
        if len(self._env_routes) < 1024:
            self._env_routes[key] = spec
        return spec


class _TaskTimer:
    """A deadline that cancels the current task when it passes (opening a connection only).

    ``expired()`` says whether a CancelledError came from this timer rather than
    from outside; on Python 3.11+ it also takes its cancellation request back
    (``Task.uncancel``), as ``asyncio.timeout()`` does."""

    __slots__ = ("_handle", "_task", "fired")

    def __init__(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        self._task = asyncio.current_task()
        self.fired = False
        self._handle = loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self.fired = True
        if self._task is not None:
            self._task.cancel()

    def cancel(self) -> None:
        self._handle.cancel()

    def expired(self) -> bool:
        if not self.fired:
            return False
        if sys.version_info >= (3, 11) and self._task is not None:
            return self._task.uncancel() == 0
        return True
