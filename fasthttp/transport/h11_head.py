"""HTTP/1.1 message heads for ``HTTP11Transport``: request heads built once, response heads read lazily.

Rules:

- A request head depends on the method, the URL, the header set and the route
  (direct, or through an HTTP proxy). ``RouteCache`` builds it once per
  ``(method, URL)`` and keeps a snapshot of the headers it was built from; a
  request whose headers equal the snapshot (one C-level multidict comparison)
  reuses the bytes, anything else rebuilds the entry. The cache is bounded: it is
  emptied when it reaches ``MAX_ROUTES`` entries.
- The cached head ends just before the framing headers, which depend on the body:
  ``Content-Length: n`` for a bytes body, ``Transfer-Encoding: chunked`` for an
  async iterable, ``Content-Length: 0`` for a bodiless POST/PUT/PATCH, nothing
  otherwise. ``Content-Length`` and ``Transfer-Encoding`` headers given by the
  caller are not copied; a caller's ``Content-Length`` with an async iterable body
  asks for that exact length instead of chunked coding (as aiohttp does).
- ``Host`` comes from the URL (``host[:port]``, brackets for IPv6, the port only
  when it is not the scheme's default) unless the caller set one; ``Accept: */*``
  and an ``Accept-Encoding`` listing the codings ``fasthttp.decoders`` can undo
  are added when absent. Names and values are checked again here (middleware may
  have added headers after ``build_request``); values are sent as UTF-8, as
  aiohttp does.
- Through an HTTP proxy an ``http://`` URL is sent in absolute form, with
  ``Proxy-Authorization`` from the proxy URL's userinfo; an ``https://`` URL goes
  through a CONNECT tunnel and is sent in origin form, without the proxy's
  credentials (they travel on the CONNECT only).
- A response head is kept as the raw bytes llhttp accepted. The status line is
  looked up in a bounded cache (``HTTP/1.1 200 OK`` is parsed once per process);
  the header fields are decoded only when someone reads ``response.headers``
  (``RawHead``), as UTF-8 with ``surrogateescape`` like aiohttp, with obsolete
  line folding joined by a space.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from multidict import CIMultiDict

from ..decoders import SUPPORTED_CODINGS
from ..exceptions import InvalidHeader
from ..models import check_header
from ..security.redact import mask_url

if TYPE_CHECKING:
    from yarl import URL

    from ..models import Request

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_ROUTES",
    "STATUS_LINES",
    "ProxySpec",
    "RawHead",
    "Route",
    "RouteCache",
    "content_coding",
    "content_length",
    "has_framing",
    "head_keeps_alive",
    "parse_status_line",
]

MAX_ROUTES: Final = 1024
ACCEPT_ENCODING: Final = ", ".join(SUPPORTED_CODINGS)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Methods that carry a body by convention: without one they still say Content-Length: 0
# (RFC 9110 section 8.6), so a server never waits for a body that is not coming.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_SKIPPED = frozenset({"host", "content-length", "transfer-encoding"})

OriginKey = tuple[str, str, int]


@dataclass(frozen=True)
class ProxySpec:
    """An HTTP proxy: where to dial and what to say to it."""

    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from the proxy URL's userinfo
    url: str  # for error messages (masked when shown)

    @classmethod
    def parse(cls, url: URL) -> ProxySpec:
        if url.scheme != "http" or not url.raw_host:
            raise ValueError(
                f"proxy={mask_url(url)!r} is not supported: give an http:// proxy URL such as "
                "'http://127.0.0.1:3128' (https:// targets are tunnelled through it with CONNECT)."
            )
        authorization = None
        if url.user is not None:
            token = f"{url.user}:{url.password or ''}".encode()
            authorization = "Basic " + base64.b64encode(token).decode("ascii")
        return cls(url.raw_host, url.port or 80, authorization, str(url))


class Route:
    """Everything about sending one (method, URL, header set) that does not change between requests."""

    __slots__ = (
        "dial_host",
        "dial_port",
        "head",
        "head_nobody",
        "head_only",
        "headers",
        "host_key",
        "idempotent",
        "keep_alive",
        "key",
        "length",
        "method",
        "proxy",
        "sni",
        "tls",
        "tunnel",
        "url",
    )

    url: URL  # the URL object it was built for (the transport's identity-keyed lookup checks it)
    headers: CIMultiDict[str]  # snapshot the head was built from
    head: bytes  # request line + fields, without framing headers and the final CRLF
    head_nobody: bytes  # the complete head for a request without a body
    key: tuple[str, str, int, str]  # pool key: where the connection goes, and what it is for
    host_key: OriginKey  # the origin, for Limits(max_per_host)
    dial_host: str  # the host dialled (the origin, or the proxy)
    dial_port: int
    tls: bool  # TLS to the origin (directly, or inside a CONNECT tunnel)
    sni: str  # server_hostname for TLS: the URL's host, whatever address is dialled
    proxy: ProxySpec | None
    tunnel: bool  # https through the proxy: CONNECT first
    keep_alive: bool  # False when the caller asked for Connection: close
    length: int | None  # a caller's Content-Length, honoured for streamed bodies
    head_only: bool  # HEAD: the response has no body whatever its framing says
    idempotent: bool
    method: str

    def tunnel_head(self) -> bytes:
        """The CONNECT request that opens the tunnel to this route's origin."""
        authority = f"{_bracket(self.sni)}:{self.host_key[2]}"
        lines = [f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"]
        if self.proxy is not None and self.proxy.authorization is not None:
            lines.append(f"Proxy-Authorization: {self.proxy.authorization}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("ascii")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _bad_request(request: Request, why: str) -> InvalidHeader:
    error = InvalidHeader(f"{request.method} {mask_url(request.url)} was not sent: {why}")
    error.__suppress_context__ = True
    return error


def build_route(request: Request, proxy: ProxySpec | None) -> Route:
    """Build the head and the connection facts for ``request`` (the cache-miss path)."""
    method = request.method
    if not _TOKEN.match(method):
        raise _bad_request(request, f"the method {method!r} is not a valid HTTP token.")
    url = request.url
    scheme = url.scheme
    host = url.raw_host or ""
    port = url.port or (443 if scheme == "https" else 80)
    headers = request.headers
    route = Route()
    route.url = url
    route.method = method
    route.headers = CIMultiDict(headers)
    route.host_key = (scheme, host, port)
    route.tls = scheme == "https"
    route.sni = host
    route.proxy = proxy
    route.tunnel = proxy is not None and route.tls
    route.head_only = method == "HEAD"
    route.idempotent = method in _IDEMPOTENT
    if proxy is not None and not route.tunnel:
        # Plain http:// through the proxy: one pool of connections to the proxy serves every origin.
        route.key = ("proxy", proxy.host, proxy.port, "")
        route.dial_host, route.dial_port = proxy.host, proxy.port
        target = f"{scheme}://{url.host_port_subcomponent}{url.raw_path_qs}"
    else:
        route.key = (scheme, host, port, "tunnel" if route.tunnel else "")
        if proxy is not None:
            route.dial_host, route.dial_port = proxy.host, proxy.port
        else:
            route.dial_host, route.dial_port = host, port
        target = url.raw_path_qs or "/"
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    host_value = headers.get("host")
    lines.append(f"Host: {host_value if host_value is not None else url.host_port_subcomponent}\r\n")
    keep_alive = True
    length: int | None = None
    for name, value in headers.items():
        try:
            check_header(name, value)
        except InvalidHeader as exc:
            raise _bad_request(request, str(exc)) from None
        lowered = name.lower()
        if lowered in _SKIPPED:
            if lowered == "content-length" and value.strip().isdigit():
                length = int(value.strip())
            continue
        if lowered == "connection" and "close" in value.lower():
            keep_alive = False
        lines.append(f"{name}: {value}\r\n")
    if "accept" not in headers:
        lines.append("Accept: */*\r\n")
    if "accept-encoding" not in headers:
        lines.append(f"Accept-Encoding: {ACCEPT_ENCODING}\r\n")
    if proxy is not None and not route.tunnel and proxy.authorization and "proxy-authorization" not in headers:
        lines.append(f"Proxy-Authorization: {proxy.authorization}\r\n")
    try:
        head = "".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_request(request, "a header value cannot be encoded as UTF-8.") from None
    route.head = head
    route.head_nobody = head + (b"Content-Length: 0\r\n\r\n" if method in _BODY_METHODS else b"\r\n")
    route.keep_alive = keep_alive
    route.length = length
    return route


class RouteCache:
    """``(method, URL) -> Route``, checked against the request's headers (see the module rules)."""

    __slots__ = ("_proxy", "_routes")

    def __init__(self, proxy: ProxySpec | None) -> None:
        self._routes: dict[tuple[str, URL], Route] = {}
        self._proxy = proxy

    def get(self, request: Request, proxy: ProxySpec | None) -> Route:
        key = (request.method, request.url)
        route = self._routes.get(key)
        if route is not None and route.headers == request.headers and route.proxy is proxy:
            return route
        route = build_route(request, proxy)
        routes = self._routes
        if len(routes) >= MAX_ROUTES:
            routes.clear()
        routes[key] = route
        return route


# -- response heads --------------------------------------------------------------------------------

STATUS_LINES: dict[bytes, tuple[int, str, str | None]] = {}
"""Status lines seen (``b"HTTP/1.1 200 OK"``) -> (status, version, reason); read inline by the protocol."""
_MAXSTATUS_LINES: Final = 256


def parse_status_line(head: bytes) -> tuple[int, str, str | None]:
    """``(status, "HTTP/x.y", reason or None)`` of a head llhttp accepted."""
    line = head[: head.find(b"\r\n")]
    info = STATUS_LINES.get(line)
    if info is None:
        version, _, rest = line.partition(b" ")
        code, _, reason = rest.partition(b" ")
        text = reason.decode("latin-1").strip()
        info = (int(code), version.decode("ascii", "replace"), text or None)
        if len(STATUS_LINES) < _MAXSTATUS_LINES:
            STATUS_LINES[line] = info
    return info


def _field_value(head: bytes, name: bytes) -> str | None:
    """The comma-joined values of field ``name`` (lower-case, with the colon) in a raw head."""
    lowered = head.lower()
    needle = b"\r\n" + name
    start = lowered.find(needle)
    if start < 0:
        return None
    values: list[str] = []
    while start >= 0:
        begin = start + len(needle)
        end = head.find(b"\r\n", begin)
        values.append(head[begin:end].decode("latin-1").strip(" \t"))
        start = lowered.find(needle, end)
    return ", ".join(values)


def content_coding(head: bytes) -> str | None:
    """The Content-Encoding of a raw response head, or None (cheap when the head has none)."""
    if b"ncoding" not in head and b"NCODING" not in head:
        return None
    value = _field_value(head, b"content-encoding:")
    return value or None


def content_length(head: bytes) -> int | None:
    """The Content-Length of a raw response head (llhttp already refused bad or conflicting ones)."""
    value = _field_value(head, b"content-length:")
    if value is None:
        return None
    first = value.split(",")[0].strip()
    return int(first) if first.isdigit() else None


def has_framing(head: bytes) -> bool:
    """Whether the head says how long its body is (else the body runs until the connection closes)."""
    lowered = head.lower()
    return b"\r\ncontent-length:" in lowered or b"\r\ntransfer-encoding:" in lowered


def head_keeps_alive(head: bytes) -> bool:
    """Keep-alive by the version and the Connection header alone (for heads with no body after them)."""
    connection = (_field_value(head, b"connection:") or "").lower()
    if head.startswith(b"HTTP/1.0"):
        return "keep-alive" in connection
    return "close" not in connection


class RawHead(bytes):
    """A raw response head (status line, fields, blank line) as llhttp accepted it.

    It is ``bytes`` (the transport searches it) whose iteration yields the decoded
    ``(name, value)`` fields, so ``Response(headers=raw_head)`` decodes them only when
    ``response.headers`` is first read, and building one costs no Python call."""

    __slots__ = ()

    def __iter__(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        text = self.decode("utf-8", "surrogateescape")
        fields: list[list[str]] = []
        for line in text.split("\r\n")[1:]:
            if not line:
                continue
            if line[0] in " \t" and fields:  # obsolete line folding (RFC 9112 section 5.2)
                fields[-1][1] = fields[-1][1] + " " + line.strip(" \t")
                continue
            name, _, value = line.partition(":")
            fields.append([name, value.strip(" \t")])
        return iter([(name, value) for name, value in fields])

    def __repr__(self) -> str:
        return f"<RawHead {len(self)} bytes>"
