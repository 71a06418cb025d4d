"""The HTTP/2 transport (``AsyncSession(http2=True)``), on httpx2's connection pool.

aiohttp has no HTTP/2, so this transport drives httpx2 (httpcore2 underneath, h2
for the framing). HTTP/2 is negotiated by ALPN on every TLS connection; a server
that only speaks HTTP/1.1 gets HTTP/1.1, and ``Response.http_version`` says which.

Shape and rules:

- httpx2 is imported here only, when the first HTTP/2 transport is built; nothing
  else in fasthttp imports it, so ``import fasthttp`` works without it.
- We drive ``httpx2.AsyncHTTPTransport`` (the pool) directly, not
  ``httpx2.AsyncClient``. The client adds only what the session already owns or
  must not happen here: a cookie jar that stores every Set-Cookie, redirects,
  auth flows, and an INFO log line per request that prints the *unmasked* URL
  (``logging.getLogger("httpx2")``: query-string API keys would reach the logs of
  anyone who set their root logger to INFO). The pool gives the same ALPN
  negotiation, limits and proxy support without any of that.
- One pool and the session's one SSL context per transport; no environment
  proxies or certificate variables (``trust_env=False``); no retries.
- ``Timeout.connect/read/write/pool`` go to the engine; ``Timeout.total`` is
  enforced here around the whole request, body included, ending in ReadTimeout.
- ``max_body_size`` is checked against Content-Length first, then while the
  decoded body is read, exactly as in the aiohttp transport.
- Every engine error becomes a ``fasthttp.exceptions`` error whose message is a
  full sentence with the URL masked; ours is raised ``from None`` because the
  engine's text and its causes may hold the raw URL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import socket
import ssl
import sys
from typing import TYPE_CHECKING, Any

_HINT = "http2=True needs the {} package(s): pip install 'fasthttp-client[http2]'"

_missing = [name for name in ("h2", "httpx2") if importlib.util.find_spec(name) is None]
if _missing:
    raise ImportError(_HINT.format(" and ".join(_missing)))

import httpx2  # noqa: E402  (after the friendly check above)

from ..config import Timeout  # noqa: E402
from ..decoders import SUPPORTED_CODINGS, build_decoder  # noqa: E402
from ..exceptions import (  # noqa: E402
    ConnectError,
    ConnectTimeout,
    DecodingError,
    InvalidHeader,
    InvalidURL,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RequestError,
    ResponseTooLarge,
    TimeoutException,
    TLSError,
    TransportError,
    WriteError,
    WriteTimeout,
)
from ..models import check_header  # noqa: E402
from ..response import Response  # noqa: E402
from ..security.guard import SSRFGuard  # noqa: E402
from ..security.redact import mask_url  # noqa: E402
from ..streaming import StreamResponse  # noqa: E402
from ..tls import build_ssl_context  # noqa: E402
from .base import TransportOptions  # noqa: E402
from .gate import SlotGate  # noqa: E402

if TYPE_CHECKING:
    from ..models import Request

__all__ = ["HTTP2Transport"]


class _DropEngineDebug(logging.Filter):
    """httpcore2's trace lines and hpack's DEBUG lines print raw header values and paths (tokens,
    cookies, query secrets) with no masking, so fasthttp drops them: our own DEBUG lines
    (``fasthttp.session.debug``) say the same with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_ENGINE_LOGGERS = (
    "hpack.hpack",
    "hpack.table",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
)
for _name in _ENGINE_LOGGERS:
    logging.getLogger(_name).addFilter(_DropEngineDebug())

# OpenSSL verify codes that mean "the certificate is fine but names another host".
_X509_HOSTNAME_MISMATCH = 62
_X509_IP_ADDRESS_MISMATCH = 64

# RFC 9110 section 5.6.2 token (a field name); characters no field value may contain.

# Responses that never carry a body, whatever their Content-Length says.
_NO_BODY_STATUSES = frozenset({204, 304})


# The codings fasthttp.decoders can decode (bounded, at most two stacked); httpx2's own decoders
# are not used (they have no size cap).
_ACCEPT_ENCODING = ", ".join(SUPPORTED_CODINGS)
# Sent when the request has none, like the aiohttp transport does.
_DEFAULT_HEADERS = (("accept", "*/*"), ("accept-encoding", _ACCEPT_ENCODING))


class HTTP2Transport:
    """HTTP/2 (and HTTP/1.1 where the server offers only that) over httpx2: one pool per session."""

    def __init__(self, options: TransportOptions | None = None) -> None:
        self._options = options = options or TransportOptions()
        limits = options.limits
        ssl_context = options.ssl_context
        if ssl_context is None:
            ssl_context = build_ssl_context(True, http2=True)
        security = options.security
        self._max_body = security.max_body_size if security is not None else None
        self._proxy = options.proxy
        self._host_gates: dict[tuple[str, str | None, int | None], SlotGate] | None = (
            {} if limits.max_per_host is not None else None
        )
        self._timeouts: dict[Timeout, dict[str, float | None]] = {}
        self._pool = httpx2.AsyncHTTPTransport(
            verify=ssl_context,
            http1=True,
            http2=True,
            limits=httpx2.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_connections,
                keepalive_expiry=limits.keepalive_expiry,
            ),
            proxy=options.proxy,
            trust_env=False,
            retries=0,
        )
        self._guard = SSRFGuard(security, proxy=self._proxy) if security is not None and security.ssrf_on else None
        if self._guard is not None:
            _install_guard(self._pool, self._guard)
        self._closed = False

    # -- the Transport protocol ------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        timeout = request.timeout if isinstance(request.timeout, Timeout) else Timeout.coerce(request.timeout)
        total = timeout.total
        if total is None:
            return await self._send(request, timeout)
        if sys.version_info >= (3, 11):
            deadline = asyncio.timeout(total)
            try:
                async with deadline:
                    return await self._send(request, timeout)
            except TimeoutError:
                if not deadline.expired():
                    raise
        else:
            try:
                return await asyncio.wait_for(self._send(request, timeout), total)
            except asyncio.TimeoutError as exc:
                if isinstance(exc, TimeoutException):  # ours (mapped in _send) are already precise
                    raise
        raise ReadTimeout(
            f"{request.method} {mask_url(request.url)} did not complete within its total "
            f"deadline of {total:g} s. Raise timeout= for slow endpoints.",
            request=request,
        ) from None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pool.aclose()

    # -- one request --------------------------------------------------------------------
    async def _start(self, request: Request, timeout: Timeout) -> tuple[httpx2.Response, SlotGate | None]:
        """Send the request; return the engine's response with its body unread (and the host slot held)."""
        if self._guard is not None:
            self._guard.check_target(request.url)
        host_gate = await self._acquire_host(request, timeout)
        try:
            engine_request = httpx2.Request(
                request.method,
                str(request.url),
                headers=self._headers(request),
                content=request.content,
                extensions={"timeout": self._engine_timeout(timeout)},
            )
            return await self._pool.handle_async_request(engine_request), host_gate
        except BaseException as exc:
            if host_gate is not None:
                host_gate.release()
            if isinstance(exc, httpx2.HTTPError):
                raise _map_error(exc, request, timeout, self._proxy, self._options) from None
            if isinstance(exc, httpx2.InvalidURL):
                raise InvalidURL(
                    f"{request.method} {mask_url(request.url)} cannot be sent: the URL is not "
                    f"valid ({_safe_text(exc)}).",
                    request=request,
                ) from None
            raise

    async def _send(self, request: Request, timeout: Timeout) -> Response:
        loop = asyncio.get_running_loop()
        started = loop.time()
        resp, host_gate = await self._start(request, timeout)
        try:
            try:
                body = await self._read_body(resp, request)
            finally:
                await resp.aclose()
        except httpx2.HTTPError as exc:
            raise _map_error(exc, request, timeout, self._proxy, self._options) from None
        finally:
            if host_gate is not None:
                host_gate.release()
        return Response(
            resp.status_code,
            headers=resp.headers.multi_items(),
            content=body,
            reason=resp.reason_phrase or None,
            http_version=resp.http_version,
            url=request.url,
            request=request,
            elapsed=loop.time() - started,
            default_encoding=self._options.default_encoding,
        )

    async def handle_stream(self, request: Request) -> StreamResponse:
        """Send ``request`` and return at the first byte of the response, the body unread."""
        timeout = request.timeout if isinstance(request.timeout, Timeout) else Timeout.coerce(request.timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        if timeout.total is None:
            resp, host_gate = await self._start(request, timeout)
        else:
            try:
                resp, host_gate = await asyncio.wait_for(self._start(request, timeout), timeout.total)
            except asyncio.TimeoutError as exc:
                if isinstance(exc, TimeoutException):
                    raise
                raise ReadTimeout(
                    f"{request.method} {mask_url(request.url)} got no response within its total "
                    f"deadline of {timeout.total:g} s.",
                    request=request,
                ) from None

        def release() -> None:
            if host_gate is not None:
                host_gate.release()

        return StreamResponse(
            resp.status_code,
            stream=_Http2ByteStream(resp, request, timeout, self),
            headers=resp.headers.multi_items(),
            reason=resp.reason_phrase or None,
            http_version=resp.http_version,
            url=request.url,
            request=request,
            elapsed=loop.time() - started,
            default_encoding=self._options.default_encoding,
            max_decoded_size=self._max_body,
            max_body_size=self._max_body,
            on_close=release,
        )

    @staticmethod
    def _headers(request: Request) -> list[tuple[bytes, bytes]]:
        """The request's header fields as byte pairs (repeats kept), plus Accept defaults.

        Checked here because the engine is not strict enough: h2 would send a CR or LF
        inside a value (the server then kills the whole connection, and a proxy that
        downgrades to HTTP/1.1 could be tricked into splitting the request). Values are
        sent as UTF-8, as aiohttp does.
        """
        headers = request.headers
        pairs: list[tuple[bytes, bytes]] = []
        for name, value in headers.items():
            try:
                check_header(name, value)  # again here: middleware may have added headers after build_request
            except InvalidHeader as exc:
                raise _bad_header(request, str(exc).rstrip(".")) from None
            try:
                pairs.append((name.encode("ascii"), value.encode("utf-8")))
            except UnicodeEncodeError:
                raise _bad_header(request, f"the value of header {name!r} cannot be encoded as UTF-8") from None
        for name, value in _DEFAULT_HEADERS:
            if name not in headers:
                pairs.append((name.encode("ascii"), value.encode("ascii")))
        return pairs

    def _engine_timeout(self, timeout: Timeout) -> dict[str, float | None]:
        cached = self._timeouts.get(timeout)
        if cached is None:
            cached = {
                "connect": timeout.connect,
                "read": timeout.read,
                "write": timeout.write,
                "pool": timeout.pool,
            }
            if len(self._timeouts) < 256:
                self._timeouts[timeout] = cached
        return cached

    async def _acquire_host(self, request: Request, timeout: Timeout) -> SlotGate | None:
        """Limits(max_per_host=n): at most n requests in flight per origin (as with aiohttp).

        The pool itself enforces max_connections; an HTTP/2 connection carries many
        requests, so the per-origin limit is counted in requests, not connections.
        """
        if self._host_gates is None:
            return None
        url = request.url
        key = (url.scheme, url.host, url.port)
        gate = self._host_gates.get(key)
        if gate is None:
            gate = self._host_gates[key] = SlotGate(self._options.limits.max_per_host or 1)
        if gate.try_acquire():
            return gate
        limit = timeout.pool
        if not await gate.acquire(limit):
            raise PoolTimeout(
                f"No free slot for {request.method} {mask_url(request.url)} within {_seconds(limit)}: "
                f"all {gate.limit} requests allowed to this host are in flight. Raise "
                "Limits(max_per_host=...) or the pool timeout, or send fewer requests at once.",
                request=request,
            )
        return gate

    async def _read_body(self, resp: httpx2.Response, request: Request) -> bytes:
        cap = self._max_body
        if (
            cap is not None
            and request.method != "HEAD"
            and resp.status_code not in _NO_BODY_STATUSES
            and resp.status_code >= 200
        ):
            length = _content_length(resp)
            if length is not None and length > cap:
                raise _too_large(request, cap, f"its Content-Length is {length} bytes")
        encoding = resp.headers.get("content-encoding")
        chunks: list[bytes] = []
        size = 0
        try:
            decoder = build_decoder(encoding, max_decoded_size=cap) if encoding else None
            async for raw in resp.aiter_raw():
                for chunk in decoder.decode_iter(raw) if decoder is not None else (raw,):
                    size += len(chunk)
                    if cap is not None and size > cap:
                        raise _too_large(request, cap, "the decoded body grew past it")
                    chunks.append(chunk)
            if decoder is not None:
                chunks.extend(decoder.flush_iter())
        except (ResponseTooLarge, DecodingError) as exc:
            exc.request = request
            raise
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Http2ByteStream:
    """httpx2's raw response body as a ByteStream, errors mapped onto our tree."""

    __slots__ = ("_done", "_iterator", "_request", "_resp", "_timeout", "_transport")

    def __init__(self, resp: httpx2.Response, request: Request, timeout: Timeout, transport: HTTP2Transport) -> None:
        self._resp = resp
        self._iterator = resp.aiter_raw().__aiter__()
        self._request = request
        self._timeout = timeout
        self._transport = transport
        self._done = False

    async def read(self) -> bytes:
        if self._done:
            return b""
        try:
            chunk: bytes = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._done = True
            return b""
        except httpx2.HTTPError as exc:
            transport = self._transport
            raise _map_error(exc, self._request, self._timeout, transport._proxy, transport._options) from None
        return chunk

    async def aclose(self) -> None:
        await self._resp.aclose()

    def abort(self) -> None:
        # httpx2 can only close a response asynchronously: its connection is dropped with the pool,
        # or reclaimed by the engine when the stream is collected.
        return None


class _GuardedBackend:
    """httpcore2's network backend with the SSRF check: dial only an approved address.

    TLS is started afterwards by httpcore2 with the original host name (SNI and the
    certificate check), so only the address changes."""

    def __init__(self, inner: Any, guard: SSRFGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> Any:
        approved = await self._guard.resolve(host, port)
        return await self._inner.connect_tcp(
            approved[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _install_guard(pool_transport: httpx2.AsyncHTTPTransport, guard: SSRFGuard) -> None:
    """Put the SSRF check into httpx2's connection pool (its network backend).

    httpx2 offers no public hook for this, so we replace the pool's backend; if a
    future httpx2 moves that attribute we fail loudly rather than run unprotected."""
    pool = getattr(pool_transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is None or backend is None:
        raise RuntimeError(
            "This httpx2 version hides its network backend, so SSRF protection cannot be installed for "
            "http2=True. Pin httpx2 to a tested version, or pass security=SecurityConfig(ssrf=False)."
        )
    pool._network_backend = _GuardedBackend(backend, guard)


def _bad_header(request: Request, why: str) -> ProtocolError:
    # Never quote the value: it may be a credential.
    return ProtocolError(
        f"{request.method} {mask_url(request.url)} was not sent: {why}. Header names are "
        "ASCII tokens like 'X-Request-Id'; values may not contain line breaks or NUL.",
        request=request,
    )


def _content_length(resp: httpx2.Response) -> int | None:
    raw = resp.headers.get("content-length")
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


def _too_large(request: Request, cap: int, why: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"Refusing the response to {request.method} {mask_url(request.url)}: {why}, over the "
        f"{cap}-byte limit. Raise SecurityConfig(max_body_size=...) (None lifts it), or use "
        "session.stream() for large downloads.",
        request=request,
    )


# -- error mapping ----------------------------------------------------------------------
def _seconds(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g} s"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (the engine wraps OSError/SSLError twice)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _safe_text(exc: BaseException) -> str:
    """The engine's message when it cannot hold a URL; else just the error's type."""
    text = str(exc).strip().rstrip(".")
    if not text or "://" in text or len(text) > 300:
        return type(exc).__name__
    return text


def _os_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, OSError) and not isinstance(cause, ssl.SSLError):
            return str(cause.strerror or cause)
    return _safe_text(exc)


def _tls_error(exc: BaseException, request: Request, target: str) -> TLSError | None:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            code = cause.verify_code
            message = (cause.verify_message or _safe_text(cause)).rstrip(".")
            kind = "hostname" if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_ADDRESS_MISMATCH) else "certificate"
            return TLSError(
                f"TLS {kind} check failed for {target}: {message}. Pass verify= a CA bundle that "
                "signs the server's certificate (verify=False disables checking).",
                request=request,
                kind=kind,
            )
        if isinstance(cause, ssl.SSLError):
            reason = (cause.reason or _safe_text(cause)).rstrip(".")
            return TLSError(
                f"TLS handshake failed for {target}: {reason}. The server may not speak TLS on "
                "this port, or accepts no protocol version or cipher we offer.",
                request=request,
                kind="protocol",
            )
    return None


def _map_error(
    exc: httpx2.HTTPError,
    request: Request,
    timeout: Timeout,
    proxy: str | None,
    options: TransportOptions,
) -> RequestError:
    """httpx2's exception -> ours, with a sentence that says what happened."""
    target = f"{request.method} {mask_url(request.url)}"
    via = f" through the proxy {mask_url(proxy)}" if proxy else ""
    if isinstance(exc, httpx2.ConnectTimeout):
        return ConnectTimeout(
            f"Connecting for {target}{via} took longer than {_seconds(timeout.connect)}.",
            request=request,
        )
    if isinstance(exc, httpx2.ReadTimeout):
        return ReadTimeout(
            f"{target}: the server sent nothing for {_seconds(timeout.read)} (read timeout).",
            request=request,
        )
    if isinstance(exc, httpx2.WriteTimeout):
        return WriteTimeout(
            f"{target}: the request body could not be written within {_seconds(timeout.write)} "
            "(write timeout); the server stopped reading it.",
            request=request,
        )
    if isinstance(exc, httpx2.PoolTimeout):
        return PoolTimeout(
            f"No free connection for {target} within {_seconds(timeout.pool)}: all "
            f"{options.limits.max_connections} connections are busy. Raise "
            "Limits(max_connections=...) or the pool timeout, or send fewer requests at once.",
            request=request,
        )
    if isinstance(exc, httpx2.TimeoutException):
        return ReadTimeout(f"{target} timed out waiting for the server.", request=request)
    if isinstance(exc, httpx2.ProxyError):
        return ProxyError(
            f"The proxy {mask_url(proxy)} refused or failed {target}: {_safe_text(exc)}.",
            request=request,
        )
    if isinstance(exc, httpx2.ConnectError):
        tls = _tls_error(exc, request, target)
        if tls is not None:
            return tls
        if any(isinstance(cause, socket.gaierror) for cause in _causes(exc)):
            return ConnectError(
                f"Could not resolve the host of {target}: {_os_reason(exc)}. Check the host name.",
                request=request,
            )
        if proxy:
            return ProxyError(
                f"Could not connect to the proxy {mask_url(proxy)} for {target}: {_os_reason(exc)}.",
                request=request,
            )
        return ConnectError(f"Could not connect for {target}: {_os_reason(exc)}.", request=request)
    if isinstance(exc, httpx2.LocalProtocolError):
        # The engine's text can quote a header value (a credential): never include it.
        return ProtocolError(
            f"{target} could not be sent: the request is not valid HTTP (a header name or "
            "value with forbidden characters, or a body that does not match its length).",
            request=request,
        )
    if isinstance(exc, httpx2.RemoteProtocolError):
        return ProtocolError(
            f"{target}: the server broke the HTTP protocol or closed the connection before a "
            f"complete response ({_safe_text(exc)}).",
            request=request,
        )
    if isinstance(exc, httpx2.ProtocolError):
        return ProtocolError(f"{target}: HTTP protocol error ({_safe_text(exc)}).", request=request)
    if isinstance(exc, httpx2.WriteError):
        return WriteError(
            f"{target}: the connection broke while the request was being sent ({_os_reason(exc)}).",
            request=request,
        )
    if isinstance(exc, httpx2.NetworkError):  # ReadError, CloseError
        return ReadError(
            f"{target}: the connection broke while the response was being read ({_os_reason(exc)}).",
            request=request,
        )
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return InvalidURL(
            f"{target} cannot be sent: fasthttp sends only http:// and https:// URLs.",
            request=request,
        )
    if isinstance(exc, httpx2.DecodingError):
        return DecodingError(
            f"{target}: the response body could not be decoded ({_safe_text(exc)}).",
            request=request,
        )
    return TransportError(f"{target} failed: {type(exc).__name__}: {_safe_text(exc)}.", request=request)
