"""The default HTTP/1.1 transport, on aiohttp's C parser and connection pool.

aiohttp is imported when the first transport is built (``AsyncSession.open()``),
not by ``import fasthttp``. aiohttp is configured for a client library, not for a
script: no cookie jar (the session owns cookies), no redirects (the session
follows them, so every hop passes the security checks), no environment proxies,
one SSL context and one pool per session. Connection slots are handed out by our
own ``SlotGate`` so that waiting for a slot ends in ``PoolTimeout``, not in a
connect timeout.
"""

from __future__ import annotations

import asyncio
import io
import socket
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import client_exceptions as aex
from aiohttp.abc import AbstractResolver, ResolveResult

from ..config import Timeout
from ..decoders import build_decoder
from ..exceptions import (
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
    TLSError,
    TransportError,
)
from ..response import Response
from ..security.guard import SSRFGuard
from ..security.redact import mask_url
from ..streaming import StreamResponse
from .base import TransportOptions
from .deadline import DeadlineWatch
from .gate import SlotGate

if TYPE_CHECKING:
    from ..models import Request

__all__ = ["AiohttpTransport"]

_READ_CHUNK = 64 * 1024


class AiohttpTransport:
    """HTTP/1.1 over aiohttp: one ``aiohttp.ClientSession`` and one pool per fasthttp session."""

    def __init__(self, options: TransportOptions | None = None) -> None:
        self._options = options or TransportOptions()
        limits = self._options.limits
        self._gate = SlotGate(limits.max_connections)
        self._host_gates: dict[tuple[str, str | None, int | None], SlotGate] | None = (
            {} if limits.max_per_host is not None else None
        )
        self._timeouts: dict[tuple[Timeout, float | None], aiohttp.ClientTimeout] = {}
        self._last_timeout: Timeout | None = None
        self._last_client_timeout = aiohttp.ClientTimeout(total=None)
        self._live_streams: set[_AiohttpByteStream] = set()
        self._deadlines = DeadlineWatch()
        security = self._options.security
        self._max_body = security.max_body_size if security is not None else None
        self._proxy = self._options.proxy
        self._guard = SSRFGuard(security, proxy=self._proxy) if security is not None and security.ssrf_on else None
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections,
            limit_per_host=limits.max_per_host or 0,
            ssl=self._options.ssl_context if self._options.ssl_context is not None else True,
            keepalive_timeout=limits.keepalive_expiry,
            enable_cleanup_closed=False,
            resolver=_GuardedResolver(self._guard) if self._guard is not None else None,
            # Resolve once per connection: the address approved is the address dialled.
            use_dns_cache=self._guard is None,
        )
        self._client = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=self._options.trust_env,
            auto_decompress=True,
            # Header bounds (RESEARCH.md section 6): at most 100 fields of at most 8 KiB each.
            max_headers=100,
            max_field_size=8190,
            max_line_size=8190,
            raise_for_status=False,
        )

    @property
    def pool_free(self) -> int:
        """Free connection slots (for tests and diagnostics)."""
        return self._gate.free

    def _client_timeout(self, timeout: Timeout, total: float | None) -> aiohttp.ClientTimeout:
        if timeout is self._last_timeout and total is None:
            return self._last_client_timeout  # the session's own Timeout: no hashing on the hot path
        if total is not timeout.total and total is not None:
            return aiohttp.ClientTimeout(total=total, sock_connect=timeout.connect, sock_read=timeout.read)
        key = (timeout, total)
        cached = self._timeouts.get(key)
        if cached is None:
            cached = aiohttp.ClientTimeout(total=total, sock_connect=timeout.connect, sock_read=timeout.read)
            if len(self._timeouts) < 256:
                self._timeouts[key] = cached
        if total is None:
            self._last_timeout, self._last_client_timeout = timeout, cached
        return cached

    async def _acquire(self, request: Request, timeout: Timeout) -> tuple[float | None, SlotGate | None]:
        """Take a global slot (and a per-host one); return the total deadline left."""
        total = timeout.total
        host_gate: SlotGate | None = None
        if self._host_gates is not None:
            url = request.url
            key = (url.scheme, url.host, url.port)
            host_gate = self._host_gates.get(key)
            if host_gate is None:
                host_gate = self._host_gates[key] = SlotGate(self._options.limits.max_per_host or 1)
            if not host_gate.try_acquire():
                total = await self._wait_slot(host_gate, request, timeout, total)
        if not self._gate.try_acquire():
            try:
                total = await self._wait_slot(self._gate, request, timeout, total)
            except BaseException:
                if host_gate is not None:
                    host_gate.release()
                raise
        return total, host_gate

    async def _wait_slot(self, gate: SlotGate, request: Request, timeout: Timeout, total: float | None) -> float | None:
        limit = timeout.pool if timeout.pool is not None else total
        if total is not None and limit is not None:
            limit = min(limit, total)
        loop = asyncio.get_running_loop()
        started = loop.time()
        if not await gate.acquire(limit):
            raise PoolTimeout(
                f"No free connection for {request.method} {mask_url(request.url)} within {limit:g} s: "
                f"all {gate.limit} connections are busy. Raise Limits(max_connections=...) "
                "or the pool timeout, or send fewer requests at once.",
                request=request,
            )
        if total is None:
            return None
        remaining = total - (loop.time() - started)
        if remaining <= 0:
            gate.release()
            raise ReadTimeout(
                f"{request.method} {mask_url(request.url)} used its whole {total:g} s deadline "
                "waiting for a connection.",
                request=request,
            )
        return remaining

    async def _send(self, request: Request, timeout: Timeout, total: float | None) -> aiohttp.ClientResponse:
        try:
            return await self._client.request(
                request.method,
                request.url,
                headers=request.headers,
                data=_body(request.content),
                allow_redirects=False,
                timeout=self._client_timeout(timeout, total),
                proxy=self._proxy,
                auto_decompress=False,  # fasthttp.decoders: bounded steps, at most 2 codings
            )
        except aiohttp.ClientError as exc:
            # `from None`: the engine's text may hold the unmasked URL (it stays in __context__).
            raise _map_error(exc, request, timeout) from None
        except asyncio.TimeoutError:
            raise _total_timeout(request, timeout) from None
        except OSError as exc:
            raise _broken(request, exc) from None
        except ValueError as exc:  # aiohttp refuses a header a middleware added after build_request
            raise InvalidHeader(
                f"{request.method} {mask_url(request.url)} was not sent: aiohttp refused a header ({exc})."
            ) from None

    def _release_slots(self, host_gate: SlotGate | None) -> None:
        self._gate.release()
        if host_gate is not None:
            host_gate.release()

    async def _begin(self, request: Request) -> tuple[Timeout, float | None, SlotGate | None]:
        """What every request does first: its Timeout, the DNS-free SSRF check, then its pool slots."""
        timeout = request.timeout if isinstance(request.timeout, Timeout) else Timeout.coerce(request.timeout)
        if self._guard is not None:
            self._guard.check_target(request.url)
        total, host_gate = await self._acquire(request, timeout)
        return timeout, total, host_gate

    async def handle(self, request: Request) -> Response:
        timeout, total, host_gate = await self._begin(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # The total deadline is kept by our DeadlineWatch (one timer for all requests; aiohttp's own
        # per-request timer costs ~10 us more); aiohttp only gets the connect and read phases.
        deadline = self._deadlines.start(loop, started + total) if total is not None else None
        try:
            resp = await self._send(request, timeout, None)
            try:
                body = await self._read_body(resp, request)
            except aiohttp.ClientError as exc:
                raise _map_error(exc, request, timeout) from None
            except asyncio.TimeoutError:
                raise _total_timeout(request, timeout) from None
            except OSError as exc:
                raise _broken(request, exc) from None
            finally:
                resp.release()
        except asyncio.CancelledError:
            if deadline is not None and deadline.expired():
                raise _total_timeout(request, timeout) from None
            raise
        finally:
            if deadline is not None:
                deadline.cancel()
            self._release_slots(host_gate)
        version = resp.version
        return Response(
            resp.status,
            headers=resp.headers,
            content=body,
            reason=resp.reason,
            http_version=_http_version(version),
            url=request.url,
            request=request,
            elapsed=loop.time() - started,
            default_encoding=self._options.default_encoding,
        )

    async def handle_stream(self, request: Request) -> StreamResponse:
        """Send ``request`` and return at the first byte of the response, the body unread."""
        timeout, total, host_gate = await self._begin(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            resp = await self._send(request, timeout, total)
        except BaseException:
            self._release_slots(host_gate)
            raise
        released = False
        stream = _AiohttpByteStream(resp, request, timeout)
        self._live_streams.add(stream)

        def release() -> None:
            nonlocal released
            self._live_streams.discard(stream)
            if not released:
                released = True
                self._release_slots(host_gate)

        version = resp.version
        return StreamResponse(
            resp.status,
            stream=stream,
            headers=resp.headers,
            reason=resp.reason,
            http_version=_http_version(version),
            url=request.url,
            request=request,
            elapsed=loop.time() - started,
            default_encoding=self._options.default_encoding,
            max_decoded_size=self._max_body,
            max_body_size=self._max_body,
            on_close=release,
        )

    async def _read_body(self, resp: aiohttp.ClientResponse, request: Request) -> bytes:
        cap = self._max_body
        encoding = resp.headers.get("Content-Encoding")
        if request.method == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            return await resp.read()  # no body by definition, whatever Content-Length says
        if encoding is None:
            if cap is None:
                return await resp.read()
            length = resp.content_length
            if length is not None and length > cap:
                raise _too_large(request, cap, f"its Content-Length is {length} bytes")
            if length is not None:
                return await resp.read()
        chunks: list[bytes] = []
        size = 0
        try:
            decoder = build_decoder(encoding, max_decoded_size=cap) if encoding else None
            async for chunk in resp.content.iter_chunked(_READ_CHUNK):
                pieces = decoder.decode_iter(chunk) if decoder is not None else (chunk,)
                for piece in pieces:
                    size += len(piece)
                    if cap is not None and size > cap:
                        raise _too_large(request, cap, "the decoded body grew past it")
                    chunks.append(piece)
            if decoder is not None:
                chunks.extend(decoder.flush_iter())
        except (ResponseTooLarge, DecodingError) as exc:
            resp.close()  # do not drain the rest of a refused body
            exc.request = request
            raise
        return b"".join(chunks)

    async def aclose(self) -> None:
        # Wake every read still in flight first: aiohttp drops a closed connection's payload without
        # failing it, and the reader would wait for ever.
        for stream in list(self._live_streams):
            stream.fail("the session was closed while the response was being read")
        self._deadlines.close()
        await self._client.close()


_LARGE_BODY = 1024 * 1024
_VERSIONS = {aiohttp.HttpVersion(1, 1): "HTTP/1.1", aiohttp.HttpVersion(1, 0): "HTTP/1.0"}


def _http_version(version: aiohttp.HttpVersion | None) -> str:
    if version is None:
        return "HTTP/1.1"
    return _VERSIONS.get(version) or f"HTTP/{version.major}.{version.minor}"


def _body(content: Any) -> Any:
    """aiohttp writes a bytes body in one piece and warns above 1 MiB; hand it a file-like instead."""
    if isinstance(content, bytes) and len(content) > _LARGE_BODY:
        return io.BytesIO(content)
    return content


class _GuardedResolver(AbstractResolver):
    """aiohttp's resolver hook running the SSRF check: only approved addresses come back."""

    def __init__(self, guard: SSRFGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results: list[ResolveResult] = []
        for ip in await self._guard.resolve(host, port):
            ip_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            if family not in (socket.AF_UNSPEC, ip_family):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": ip,
                    "port": port,
                    "family": ip_family,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not results:
            raise OSError(f"no approved {family.name} address for {host}")
        return results

    async def close(self) -> None:
        return None


class _AiohttpByteStream:
    """aiohttp's response body as a ByteStream; errors mapped onto our tree."""

    __slots__ = ("_done", "_request", "_resp", "_timeout")

    def __init__(self, resp: aiohttp.ClientResponse, request: Request, timeout: Timeout) -> None:
        self._resp = resp
        self._request = request
        self._timeout = timeout
        self._done = False

    async def read(self) -> bytes:
        try:
            chunk = await self._resp.content.readany()
        except ReadError:
            raise  # ours, set by fail()
        except aiohttp.ClientError as exc:
            raise _map_error(exc, self._request, self._timeout) from None
        except asyncio.TimeoutError:
            raise _total_timeout(self._request, self._timeout) from None
        except OSError as exc:
            raise _broken(self._request, exc) from None
        if not chunk:
            self._done = True
        return chunk

    async def aclose(self) -> None:
        if self._done:
            self._resp.release()  # read to the end: the connection goes back to the pool
        else:
            self._resp.close()  # left early: close rather than drain an unknown rest

    def abort(self) -> None:
        self._resp.close()

    def fail(self, why: str) -> None:
        """Make a pending or later read raise ReadError, then close the connection."""
        error = ReadError(f"{self._request.method} {mask_url(self._request.url)}: {why}.", request=self._request)
        self._resp.content.set_exception(error)
        self._resp.close()


def _total_timeout(request: Request, timeout: Timeout) -> ReadTimeout:
    return ReadTimeout(
        f"{request.method} {mask_url(request.url)} did not complete within its total deadline "
        f"of {timeout.total:g} s. Raise timeout= for slow endpoints.",
        request=request,
    )


def _broken(request: Request, exc: OSError) -> ReadError:
    return ReadError(
        f"{request.method} {mask_url(request.url)} failed: the connection broke ({exc.strerror or exc}).",
        request=request,
    )


def _too_large(request: Request, cap: int, why: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"Refusing the response to {request.method} {mask_url(request.url)}: {why}, over the "
        f"{cap}-byte limit. Raise SecurityConfig(max_body_size=...) (None lifts it), or use "
        "session.stream() for large downloads.",
        request=request,
    )


def _map_error(exc: aiohttp.ClientError, request: Request, timeout: Timeout) -> RequestError:
    """aiohttp's exception -> ours, with a sentence that says what happened."""
    target = f"{request.method} {mask_url(request.url)}"
    if isinstance(exc, aex.ConnectionTimeoutError):
        limit = timeout.connect if timeout.connect is not None else timeout.total
        return ConnectTimeout(f"Connecting for {target} took longer than {limit:g} s.", request=request)
    if isinstance(exc, aex.SocketTimeoutError):
        return ReadTimeout(f"{target}: the server sent nothing for {timeout.read:g} s (read timeout).", request=request)
    if isinstance(exc, aex.ServerTimeoutError):
        return ReadTimeout(f"{target} timed out waiting for the server.", request=request)
    if isinstance(exc, aex.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        verify_code = getattr(cert_error, "verify_code", None)
        # OpenSSL verify codes 62/64: the certificate is valid but not for this host name / IP address.
        kind = "hostname" if verify_code in (62, 64) or "hostname" in str(cert_error).lower() else "certificate"
        detail = str(getattr(cert_error, "verify_message", cert_error)).rstrip(".")
        return TLSError(
            f"TLS {kind} check failed for {target}: {detail}. "
            "Pass verify= a CA bundle that signs the server's certificate (verify=False disables checking).",
            request=request,
            kind=kind,
        )
    if isinstance(exc, (aex.ClientConnectorSSLError, aex.ClientSSLError)) or isinstance(
        getattr(exc, "os_error", None), ssl.SSLError
    ):
        return TLSError(f"TLS handshake failed for {target}: {_reason(exc)}.", request=request, kind="protocol")
    if isinstance(exc, aex.ClientProxyConnectionError):
        return ProxyError(f"Could not connect to the proxy for {target}: {_reason(exc)}.", request=request)
    if isinstance(exc, aex.ClientHttpProxyError):
        return ProxyError(f"The proxy refused {target} with status {exc.status} {exc.message}.", request=request)
    if isinstance(exc, aex.ClientConnectorDNSError):
        return ConnectError(
            f"Could not resolve the host of {target}: {_reason(exc)}. Check the host name.", request=request
        )
    if isinstance(exc, aex.ClientConnectorError):
        if request.url.scheme == "https" and isinstance(getattr(exc, "os_error", None), ConnectionResetError):
            return TLSError(
                f"TLS handshake failed for {target}: the server reset the connection during the handshake "
                "(does it require a client certificate? pass cert=).",
                request=request,
                kind="protocol",
            )
        return ConnectError(f"Could not connect for {target}: {_reason(exc)}.", request=request)
    if isinstance(exc, aex.InvalidURL):
        return InvalidURL(f"Invalid URL for {target}: {exc}.", request=request)
    if isinstance(exc, aex.ServerDisconnectedError):
        return ProtocolError(
            f"{target}: the server closed the connection without sending a complete response.", request=request
        )
    if isinstance(exc, aex.ClientPayloadError):
        text = str(exc)
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ConnectionResetError) or "ConnectionResetError" in text:
            return ReadError(f"{target}: the connection was reset while the body was being read.", request=request)
        if "decode" in text.lower() or "compress" in text.lower():
            return DecodingError(f"{target}: the response body could not be decoded ({text}).", request=request)
        return ProtocolError(f"{target}: the response body was malformed or cut short ({text}).", request=request)
    if isinstance(exc, aex.ClientResponseError):
        return ProtocolError(f"{target}: the server sent an invalid HTTP response ({exc.message}).", request=request)
    if isinstance(exc, aex.ClientOSError):
        return ReadError(f"{target}: the connection broke ({_reason(exc)}).", request=request)
    return TransportError(f"{target} failed: {type(exc).__name__}: {exc}.", request=request)


def _reason(exc: BaseException) -> str:
    os_error: Any = getattr(exc, "os_error", None)
    if os_error is not None:
        return str(os_error.strerror or os_error) or type(os_error).__name__
    return str(exc) or type(exc).__name__
