"""Names httpx and aiohttp users type, and what to write here instead.

People arrive with habits: ``AsyncClient(app=...)``, ``ClientSession(connector=...)``,
``session.get(url, allow_redirects=False)``, ``timeout=httpx.Timeout(5.0)``,
``async with session.get(url) as resp:``. Python's own answer to those is
"unexpected keyword argument" or "'coroutine' object does not support the
asynchronous context manager protocol", which says what went wrong but not what
to write. This module holds the translations and raises ``TypeError`` with them:

- ``explain_unknown_options(kind, given)``: keyword arguments a call does not take
  (``kind`` is ``"session"``, ``"request"`` or ``"stream"``), each explained by one
  sentence naming our equivalent, or a "did you mean" for a typo;
  ``unknown_options_message()`` returns the sentence instead of raising.
- ``explain_foreign_value(argument, value)``: an httpx or aiohttp object passed
  where we take our own (``httpx.Timeout``, ``aiohttp.ClientTimeout``,
  ``httpx.Limits``, ``aiohttp.BasicAuth``, ...), with the exact equivalent computed
  from its fields, recognised by class name and package without importing either;
  ``foreign_value_message()`` returns the sentence instead of raising.
- ``missing_name_message(kind, name)``: the sentence for an ``AttributeError`` on
  ``fasthttp.<name>`` (``kind="module"``) or ``resp.<name>`` (``kind="response"``).
- ``RequestCall``: what a verb can return so that ``await session.get(url)`` and
  ``asyncio.create_task(session.get(url))`` work as before, while aiohttp's
  ``async with session.get(url) as resp:`` fails with a sentence naming
  ``session.stream()`` instead of a warning about a coroutine never awaited.

The tables and the explanations run only on the error path. ``RequestCall`` is the one
piece on the normal path: one small object per verb call, and ``await`` goes straight to
the wrapped coroutine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Final, TypeVar

from .calls import RequestCall  # moved to its own module (every request uses it); kept importable here

__all__ = [
    "FOREIGN_NAMES",
    "RequestCall",
    "explain_foreign_value",
    "explain_unknown_options",
    "foreign_value_message",
    "known_options",
    "missing_name_message",
    "unknown_options_message",
]

_T = TypeVar("_T")

Hint = str | Callable[[object], str]
"""A table entry: the sentence, or a function of the value given that returns it."""


# -- the tables ----------------------------------------------------------------------------------
def _connector_hint(value: object) -> str:
    sentence = (
        "aiohttp's connector= is limits=Limits(max_connections=..., max_per_host=...) here (its limit= and "
        "limit_per_host=), with verify= and cert= for its ssl=; every AsyncSession owns its pool"
    )
    limit, per_host = getattr(value, "limit", None), getattr(value, "limit_per_host", None)
    if isinstance(limit, int) and isinstance(per_host, int):
        sentence += f": this connector is limits=Limits({_limits_args(limit or None, per_host or None)})"
    return sentence + "."


def _limits_args(max_connections: int | None, max_per_host: int | None) -> str:
    args = [f"max_connections={max_connections if max_connections else 1_000_000}"]
    if max_per_host:
        args.append(f"max_per_host={max_per_host}")
    return ", ".join(args)


_SSL_HINT: Final = (
    "TLS settings belong to the session here: AsyncSession(verify=...) takes True, False, a CA bundle path "
    "or an ssl.SSLContext, and cert= a client certificate"
)
_PARSER_HINT: Final = "the HTTP parser's buffer and header limits are not configurable here (aiohttp's defaults apply)."
_SKIP_AUTO_HEADERS_HINT: Final = (
    "aiohttp's skip_auto_headers= has no equivalent: pass the header yourself in headers= to replace the "
    "default value (User-Agent, Accept, Accept-Encoding)."
)
_DECOMPRESS_HINT: Final = (
    "aiohttp's auto_decompress= has no switch here: bodies are always decoded (gzip, deflate, br, with a size "
    "cap); to get the bytes as sent, use session.stream(...) and resp.aiter_raw()."
)
_TRACE_HINT: Final = (
    "aiohttp's trace_configs= / trace_request_ctx= are event_hooks={'request': [...], 'response': [...]} or "
    "middleware= on the AsyncSession here."
)
_PROXY_AUTH_HINT: Final = (
    "aiohttp's proxy_auth= goes into the proxy URL here: AsyncSession(proxy='http://user:password@host:port')."
)
_REDIRECTS_HINT: Final = (
    "allow_redirects= (aiohttp, old httpx, requests) is follow_redirects= here, and redirects are followed by default."
)
_STREAM_HINT: Final = (
    "stream=True (requests) is session.stream(method, url) here, an async context manager yielding the response "
    "with its body unread; session.send(request, stream=True) is the low-level form."
)

SESSION_OPTIONS: Final[Mapping[str, Hint]] = {
    # httpx.AsyncClient
    "app": (
        "httpx's app= (calling an ASGI/WSGI app in-process) is not supported: serve the app on 127.0.0.1 "
        "(uvicorn, or fasthttp.testing.serve() for tests) and point base_url= at it, or pass "
        "transport=MockTransport(handler) to answer requests with a function."
    ),
    "mounts": (
        "httpx's mounts= (a transport or proxy per URL prefix) is not supported: use one AsyncSession per "
        "destination, each with its own transport= or proxy=."
    ),
    "http1": (
        "httpx's http1= is implied here: HTTP/1.1 is always on and http2=True adds HTTP/2 by ALPN "
        "(HTTP/2 only, http1=False, is not offered)."
    ),
    "proxies": (
        "httpx's old proxies= (a proxy per scheme) is proxy= here: one proxy URL string for every request "
        "(use one AsyncSession per proxy)."
    ),
    "retries": "httpx's AsyncHTTPTransport(retries=...) is retry=N on the AsyncSession here (RetryMiddleware).",
    "local_address": "binding to a local address (httpx's local_address=) is not supported.",
    "uds": "Unix domain sockets (httpx's uds=) are not supported.",
    # aiohttp.ClientSession
    "connector": _connector_hint,
    "connector_owner": (
        "aiohttp's connector_owner= has no equivalent: every AsyncSession owns and closes its own pool; "
        "share one AsyncSession instead of one connector."
    ),
    "limit": "aiohttp's TCPConnector(limit=...) is limits=Limits(max_connections=...) here.",
    "limit_per_host": "aiohttp's TCPConnector(limit_per_host=...) is limits=Limits(max_per_host=...) here.",
    "max_connections": "max_connections= goes in limits=Limits(max_connections=...) here.",
    "skip_auto_headers": _SKIP_AUTO_HEADERS_HINT,
    "request_class": (
        "aiohttp's request_class= / response_class= have no equivalent: use middleware= to change requests "
        "and responses (the classes are fasthttp.Request and fasthttp.Response)."
    ),
    "response_class": (
        "aiohttp's request_class= / response_class= have no equivalent: use middleware= to change requests "
        "and responses (the classes are fasthttp.Request and fasthttp.Response)."
    ),
    "ws_response_class": "WebSockets are not supported by fasthttp: use aiohttp's ClientSession.ws_connect() for them.",
    "version": "aiohttp's version= (the HTTP version) is http2=True or False here; HTTP/1.0 is not offered.",
    "read_timeout": "aiohttp's read_timeout= is timeout=Timeout(read=...) here.",
    "conn_timeout": "aiohttp's conn_timeout= is timeout=Timeout(connect=...) here.",
    "auto_decompress": _DECOMPRESS_HINT,
    "trace_configs": _TRACE_HINT,
    "requote_redirect_url": (
        "aiohttp's requote_redirect_url= has no equivalent: Location URLs are parsed by yarl as sent."
    ),
    "read_bufsize": _PARSER_HINT,
    "max_line_size": _PARSER_HINT,
    "max_field_size": _PARSER_HINT,
    "max_headers": _PARSER_HINT,
    "fallback_charset_resolver": (
        "aiohttp's fallback_charset_resolver= is default_encoding= here: an encoding name used when the "
        "Content-Type has no charset (decode resp.content yourself to detect one)."
    ),
    "json_serialize_bytes": "aiohttp's json_serialize_bytes= is json_serialize= here (it may return bytes or str).",
    "middlewares": "aiohttp's middlewares= is middleware= here (one middleware or a list; the first is the outermost).",
    "proxy_auth": _PROXY_AUTH_HINT,
    "loop": "loop= is not accepted: an AsyncSession uses the running event loop.",
    "ssl_shutdown_timeout": "aiohttp's ssl_shutdown_timeout= has no equivalent.",
    "ssl": _SSL_HINT + ".",
    "verify_ssl": "verify_ssl= is verify= here (True, False, a CA bundle path or an ssl.SSLContext).",
    "ssl_context": "ssl_context= is verify= here: AsyncSession(verify=context) uses the ssl.SSLContext as given.",
    "allow_redirects": _REDIRECTS_HINT + " On the AsyncSession: follow_redirects=False to turn it off.",
}

REQUEST_OPTIONS: Final[Mapping[str, Hint]] = {
    "allow_redirects": _REDIRECTS_HINT,
    "max_redirects": "max_redirects= is an AsyncSession option here: AsyncSession(max_redirects=...).",
    "raise_for_status": (
        "per call, raise_errors=True raises HTTPStatusError for a 4xx/5xx (and the transport errors instead of "
        "returning None); AsyncSession(raise_for_status=True) does it for every call."
    ),
    "ssl": _SSL_HINT + "; use another AsyncSession for other settings.",
    "verify_ssl": _SSL_HINT + "; use another AsyncSession for other settings.",
    "ssl_context": _SSL_HINT + "; use another AsyncSession for other settings.",
    "verify": _SSL_HINT + "; use another AsyncSession for other settings.",
    "cert": _SSL_HINT + "; use another AsyncSession for other settings.",
    "fingerprint": "certificate pinning (aiohttp's fingerprint=) is not supported: pin a private CA with verify=.",
    "server_hostname": "server_hostname= is not supported: the URL's host is used for SNI and certificate checks.",
    "proxy": "proxy= is an AsyncSession option here: AsyncSession(proxy='http://host:port').",
    "proxies": "proxies= is AsyncSession(proxy='http://host:port') here: one proxy for every request of a session.",
    "proxy_auth": _PROXY_AUTH_HINT,
    "proxy_headers": "aiohttp's proxy_headers= has no equivalent.",
    "skip_auto_headers": _SKIP_AUTO_HEADERS_HINT,
    "compress": (
        "aiohttp's compress= has no equivalent: compress the body yourself and send it as content= with a "
        "Content-Encoding header."
    ),
    "chunked": (
        "aiohttp's chunked= is chosen by the transport here: a body of unknown length (content= an async "
        "iterable of bytes) is sent chunked."
    ),
    "expect100": "aiohttp's expect100= (Expect: 100-continue) is not supported.",
    "read_until_eof": "aiohttp's read_until_eof= has no equivalent.",
    "trace_request_ctx": _TRACE_HINT,
    "auto_decompress": _DECOMPRESS_HINT,
    "read_bufsize": _PARSER_HINT,
    "max_line_size": _PARSER_HINT,
    "max_field_size": _PARSER_HINT,
    "max_headers": _PARSER_HINT,
    "middlewares": "per-request middlewares= are middleware= on the AsyncSession here.",
    "upload_tracker": "aiohttp's upload_tracker= has no equivalent.",
    "extensions": (
        "httpx's extensions= has no per-call argument here: a middleware can read and set request.extensions "
        "(build_request() then send() also lets you set them)."
    ),
    "stream": _STREAM_HINT,
    "hooks": "requests' hooks= are AsyncSession(event_hooks={'request': [...], 'response': [...]}) here.",
}

STREAM_OPTIONS: Final[Mapping[str, Hint]] = {
    **REQUEST_OPTIONS,
    "raise_errors": (
        "session.stream() yields the response whatever its status and raises on transport errors: call "
        "resp.raise_for_status() inside the block."
    ),
    "raise_for_status": (
        "session.stream() yields the response whatever its status: call resp.raise_for_status() inside the block."
    ),
    "auth": "session.stream() takes no per-call auth=: set auth= on the AsyncSession, or add the header in headers=.",
    "stream": "session.stream() already streams: read the body with resp.aiter_bytes() or the other aiter_*() methods.",
}

_TABLES: Final[Mapping[str, Mapping[str, Hint]]] = {
    "session": SESSION_OPTIONS,
    "request": REQUEST_OPTIONS,
    "stream": STREAM_OPTIONS,
}
_CALLEES: Final[Mapping[str, str]] = {
    "session": "AsyncSession()",
    "request": "session.request()",
    "stream": "session.stream()",
}

_EXCEPTIONS: Final[Mapping[str, str]] = {
    # httpx
    "HTTPError": "httpx's HTTPError is FastHTTPError here (RequestError and HTTPStatusError derive from it).",
    "NetworkError": "httpx's NetworkError is TransportError here (ConnectError, ReadError, WriteError...).",
    "RemoteProtocolError": "httpx's RemoteProtocolError is ProtocolError here.",
    "LocalProtocolError": "httpx's LocalProtocolError is ProtocolError here (InvalidHeader for a bad header).",
    "UnsupportedProtocol": "httpx's UnsupportedProtocol is InvalidURL here.",
    "ResponseNotRead": "there is no ResponseNotRead here: a streamed body not read raises StreamConsumed/StreamClosed.",
    "CloseError": "httpx's CloseError has no equivalent: errors while closing a connection are not raised.",
    # aiohttp
    "ClientError": "aiohttp's ClientError is FastHTTPError here (RequestError for a failed request).",
    "ClientConnectionError": "aiohttp's ClientConnectionError is TransportError here.",
    "ClientOSError": "aiohttp's ClientOSError is TransportError here (ConnectError, ReadError, WriteError).",
    "ClientConnectorError": "aiohttp's ClientConnectorError is ConnectError here.",
    "ClientConnectorCertificateError": "aiohttp's ClientConnectorCertificateError is TLSError here (.kind says why).",
    "ClientConnectorSSLError": "aiohttp's ClientConnectorSSLError is TLSError here (.kind says why).",
    "ClientSSLError": "aiohttp's ClientSSLError is TLSError here (.kind says why).",
    "ServerFingerprintMismatch": "certificate pinning is not supported; TLSError covers certificate failures.",
    "ClientProxyConnectionError": "aiohttp's ClientProxyConnectionError is ProxyError here.",
    "ClientHttpProxyError": "aiohttp's ClientHttpProxyError is ProxyError here.",
    "ClientResponseError": (
        "aiohttp's ClientResponseError is HTTPStatusError here (exc.response.status_code for its .status)."
    ),
    "ClientPayloadError": "aiohttp's ClientPayloadError is ProtocolError (bad framing) or DecodingError here.",
    "ServerDisconnectedError": "aiohttp's ServerDisconnectedError is ReadError or ProtocolError here.",
    "ServerTimeoutError": "aiohttp's ServerTimeoutError is TimeoutException here (ConnectTimeout, ReadTimeout...).",
    "ConnectionTimeoutError": "aiohttp's ConnectionTimeoutError is ConnectTimeout here.",
    "SocketTimeoutError": "aiohttp's SocketTimeoutError is ReadTimeout here.",
    "ContentTypeError": "resp.json() does not check the Content-Type here; bad JSON raises ValueError.",
}

MODULE_NAMES: Final[Mapping[str, str]] = {
    "AsyncClient": (
        "httpx's AsyncClient is fasthttp.AsyncSession: verbs return None on an error unless raise_errors=True, "
        "redirects are followed, and SSRF protection is on (see docs/migration.md)."
    ),
    "Client": "there is no synchronous client: use fasthttp.AsyncSession inside asyncio.run().",
    "ClientSession": (
        "aiohttp's ClientSession is fasthttp.AsyncSession: resp = await session.get(url) has the body already "
        "read (see docs/migration.md)."
    ),
    "ClientTimeout": "aiohttp's ClientTimeout is fasthttp.Timeout(total=..., connect=..., read=...).",
    "TCPConnector": (
        "aiohttp's TCPConnector is fasthttp.Limits(max_connections=..., max_per_host=...) passed as limits=."
    ),
    "ClientResponse": (
        "aiohttp's ClientResponse is fasthttp.Response (fasthttp.StreamResponse inside session.stream())."
    ),
    "AsyncHTTPTransport": "httpx's AsyncHTTPTransport is the default transport here; pass retry=, limits=, verify=.",
    "ASGITransport": "httpx's ASGITransport is not supported: serve the app on 127.0.0.1, or use MockTransport.",
    "Proxy": "httpx's Proxy is a URL string here: AsyncSession(proxy='http://user:password@host:port').",
    "Cookies": "httpx's Cookies is a dict here (AsyncSession(cookies={...}), session.cookies), or fasthttp.CookieJar.",
    "URL": "URLs are yarl.URL objects here (resp.url); pass str or yarl.URL to the verbs.",
    "QueryParams": "query parameters are a dict or a list of pairs here (params=).",
    "codes": "status codes: use http.HTTPStatus from the standard library.",
    **_EXCEPTIONS,
}

RESPONSE_ATTRIBUTES: Final[Mapping[str, str]] = {
    "reason_phrase": "httpx's reason_phrase is resp.reason here.",
    "charset_encoding": "httpx's charset_encoding is resp.encoding here (the Content-Type charset, else the default).",
    "charset": "aiohttp's resp.charset is resp.encoding here.",
    "get_encoding": "aiohttp's resp.get_encoding() is the resp.encoding property here.",
    "content_type": "aiohttp's resp.content_type is resp.headers.get('content-type') here.",
    "real_url": "aiohttp's resp.real_url is resp.url here.",
    "raw_headers": "aiohttp's resp.raw_headers is resp.headers.items() here (repeated fields kept).",
    "release": "aiohttp's resp.release() is not needed: the body is already read and the connection returned.",
    "close": (
        "the body is already read; inside session.stream() the block closes the response (or await resp.aclose())."
    ),
    "iter_bytes": "httpx's sync iter_bytes() is async here: async for chunk in resp.aiter_bytes() in session.stream().",
    "iter_text": "httpx's sync iter_text() is async here: async for text in resp.aiter_text() in session.stream().",
    "iter_lines": "httpx's sync iter_lines() is async here: async for line in resp.aiter_lines() in session.stream().",
    "iter_raw": "httpx's sync iter_raw() is async here: async for chunk in resp.aiter_raw() in session.stream().",
    "has_redirect_location": "httpx's has_redirect_location is resp.is_redirect here.",
    "next_request": "there is no next_request: follow_redirects=True (the default) follows redirects for you.",
    "num_bytes_downloaded": "num_bytes_downloaded exists on the StreamResponse of session.stream().",
}

_NAME_TABLES: Final[Mapping[str, Mapping[str, str]]] = {"module": MODULE_NAMES, "response": RESPONSE_ATTRIBUTES}

FOREIGN_NAMES: Final[Mapping[str, Mapping[str, Hint]]] = {**_TABLES, **_NAME_TABLES}
"""Every table by kind, for documentation and tests."""


# -- unknown keyword arguments ---------------------------------------------------------------------
def known_options(kind: str) -> frozenset[str]:
    """The keyword arguments we do take for ``kind`` (read from the code, so they never drift)."""
    from .session import AsyncSession, RequestOptions  # on the error path only: no import cycle at load

    if kind == "session":
        target: Callable[..., Any] = AsyncSession.__init__
    elif kind == "stream":
        target = AsyncSession.stream
    elif kind == "request":
        return frozenset(RequestOptions.__required_keys__ | RequestOptions.__optional_keys__)
    else:
        raise ValueError(f"kind={kind!r} must be one of {sorted(_TABLES)}.")
    parameters = inspect.signature(target).parameters.values()
    return frozenset(
        p.name for p in parameters if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def explain_unknown_options(kind: str, given: Mapping[str, object], *, where: str | None = None) -> None:
    """Raise ``TypeError`` explaining keyword arguments that ``kind`` does not take.

    ``kind`` is ``"session"`` (the AsyncSession constructor), ``"request"`` (the
    verbs and ``request()``) or ``"stream"``; ``given`` holds the unknown keywords
    with their values; ``where`` names the call in the message (default:
    ``AsyncSession()``, ``session.request()``, ``session.stream()``). Does nothing
    when ``given`` is empty.
    """
    message = unknown_options_message(kind, given, where=where)
    if message is not None:
        raise TypeError(message)


def unknown_options_message(kind: str, given: Mapping[str, object], *, where: str | None = None) -> str | None:
    """The sentence ``explain_unknown_options`` raises, or None when ``given`` is empty (for callers
    that want to ``raise TypeError(message) from None`` inside an ``except`` block)."""
    table = _TABLES.get(kind)
    if table is None:
        raise ValueError(f"kind={kind!r} must be one of {sorted(_TABLES)}.")
    if not given:
        return None
    names = list(given)
    callee = where or _CALLEES[kind]
    plural = "s" if len(names) > 1 else ""
    quoted = ", ".join(repr(name) for name in names)
    sentences = [f"{callee} got unexpected keyword argument{plural} {quoted}."]
    known = known_options(kind)
    for name in names:
        sentences.append(_explain_one(name, given[name], table, known))
    return " ".join(sentences)


def _explain_one(name: str, value: object, table: Mapping[str, Hint], known: Collection[str]) -> str:
    hint = table.get(name)
    if hint is not None:
        return _render(hint, value)
    import difflib  # the error path only

    close = difflib.get_close_matches(name, [*known, *table], n=1, cutoff=0.75)
    if close:
        match = close[0]
        if match in known:
            return f"{name}=: did you mean {match}=?"
        return f"{name}=: did you mean {match}=? {_render(table[match], value)}"
    return f"{name}= is not an option here; the options are: {', '.join(sorted(known))}."


def _render(hint: Hint, value: object) -> str:
    return hint if isinstance(hint, str) else hint(value)


# -- foreign objects given to our options -----------------------------------------------------------
def _fields(value: object, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(value, name, None) for name in names}


def _call(name: str, args: Mapping[str, object]) -> str:
    shown = ", ".join(f"{key}={value!r}" for key, value in args.items())
    return f"{name}({shown})"


def _httpx_timeout(argument: str, value: object) -> str:
    f = _fields(value, ("connect", "read", "write", "pool"))
    ours = _call("fasthttp.Timeout", {"total": None, **f})
    return (
        f"{argument}= got an httpx.Timeout, whose limits are per operation with no total deadline: the same "
        f"here is {argument}={ours}; {argument}=30.0 is one total deadline for the whole request."
    )


def _aiohttp_timeout(argument: str, value: object) -> str:
    f = _fields(value, ("total", "connect", "sock_connect", "sock_read"))
    args: dict[str, object] = {"total": f["total"]}
    connect = f["sock_connect"] if f["sock_connect"] is not None else f["connect"]
    if connect is not None:
        args["connect"] = connect
    if f["sock_read"] is not None:
        args["read"] = f["sock_read"]
    if f["sock_connect"] is not None and f["connect"] is not None:
        args["pool"] = f["connect"]  # aiohttp's connect= covers the wait for a pool slot as well
    return f"{argument}= got an aiohttp.ClientTimeout: the same here is {argument}={_call('fasthttp.Timeout', args)}."


def _httpx_limits(argument: str, value: object) -> str:
    f = _fields(value, ("max_connections", "max_keepalive_connections", "keepalive_expiry"))
    args: dict[str, object] = {"max_connections": f["max_connections"] or 1_000_000}
    if f["keepalive_expiry"] is not None:
        args["keepalive_expiry"] = f["keepalive_expiry"]
    return (
        f"{argument}= got an httpx.Limits: the same here is {argument}={_call('fasthttp.Limits', args)} "
        "(max_keepalive_connections has no equivalent; max_per_host= limits each origin)."
    )


def _connector_value(argument: str, value: object) -> str:
    return f"{argument}= got an aiohttp connector. " + _connector_hint(value)


def _basic_auth(argument: str, value: object) -> str:
    library = type(value).__module__.split(".")[0]
    return (
        f"{argument}= got an {library}.BasicAuth: use fasthttp.BasicAuth(username, password) "
        "or a (username, password) tuple."
    )


def _digest_auth(argument: str, value: object) -> str:
    return f"{argument}= got an httpx.DigestAuth: use fasthttp.DigestAuth(username, password)."


def _httpx_auth(argument: str, value: object) -> str:
    return (
        f"{argument}= got an httpx.Auth ({type(value).__name__}): auth objects here are async callables, "
        "'async def __call__(self, request, send) -> Response' (see fasthttp.BasicAuth, BearerAuth, DigestAuth)."
    )


def _httpx_mock(argument: str, value: object) -> str:
    return (
        f"{argument}= got an httpx.MockTransport: use fasthttp.MockTransport(handler), whose handler takes a "
        "fasthttp.Request and returns a fasthttp.Response."
    )


def _httpx_transport(argument: str, value: object) -> str:
    if type(value).__name__ in ("ASGITransport", "WSGITransport"):
        return f"{argument}= got an httpx.{type(value).__name__}: " + _render(SESSION_OPTIONS["app"], value)
    return (
        f"{argument}= got an httpx transport ({type(value).__name__}): leave transport= unset for the default "
        "one, and pass limits=, verify=, cert=, proxy= and retry= to the AsyncSession."
    )


def _httpx_proxy(argument: str, value: object) -> str:
    return f"{argument}= got an httpx.Proxy: pass its URL string, e.g. proxy='http://user:password@host:port'."


def _aiohttp_cookie_jar(argument: str, value: object) -> str:
    return (
        f"{argument}= got an aiohttp cookie jar: use cookie_jar=fasthttp.CookieJar() "
        "(or fasthttp.DummyCookieJar() to drop every cookie)."
    )


def _httpx_cookies(argument: str, value: object) -> str | None:
    if argument == "cookies":
        return None  # an httpx.Cookies is a Mapping[str, str]: cookies= takes it as it is
    return (
        f"{argument}= got an httpx.Cookies: pass cookies=dict(...) for fixed cookies, "
        "or cookie_jar=fasthttp.CookieJar() to keep the cookies servers set."
    )


_FOREIGN_TYPES: Final[Mapping[tuple[str, str], Callable[[str, object], str | None]]] = {
    ("httpx", "Timeout"): _httpx_timeout,
    ("aiohttp", "ClientTimeout"): _aiohttp_timeout,
    ("httpx", "Limits"): _httpx_limits,
    ("aiohttp", "BaseConnector"): _connector_value,
    ("httpx", "BasicAuth"): _basic_auth,
    ("aiohttp", "BasicAuth"): _basic_auth,
    ("httpx", "DigestAuth"): _digest_auth,
    ("httpx", "Auth"): _httpx_auth,
    ("httpx", "MockTransport"): _httpx_mock,
    ("httpx", "AsyncBaseTransport"): _httpx_transport,
    ("httpx", "BaseTransport"): _httpx_transport,
    ("httpx", "Proxy"): _httpx_proxy,
    ("aiohttp", "AbstractCookieJar"): _aiohttp_cookie_jar,
    ("httpx", "Cookies"): _httpx_cookies,
}


def explain_foreign_value(argument: str, value: object) -> None:
    """Raise ``TypeError`` if ``value`` is an httpx or aiohttp object we have an equivalent for.

    ``argument`` is the keyword it was given as (``"timeout"``, ``"limits"``,
    ``"auth"``...), used in the message. Returns None for anything else, so callers
    can call it just before raising their own generic ``TypeError``. Also explains
    two aiohttp/httpx *callables* we do not take: ``default_encoding=`` a charset
    detector and ``raise_for_status=`` a coroutine function.
    """
    message = foreign_value_message(argument, value)
    if message is not None:
        raise TypeError(message)


def foreign_value_message(argument: str, value: object) -> str | None:
    """The sentence ``explain_foreign_value`` raises, or None when ``value`` is not a known foreign object."""
    for cls in type(value).__mro__:
        explain = _FOREIGN_TYPES.get((cls.__module__.split(".")[0], cls.__name__))
        if explain is not None:
            return explain(argument, value)
    if argument == "default_encoding" and callable(value):
        return (
            "default_encoding= takes an encoding name such as 'utf-8' or 'latin-1', not a function: charset "
            "detection (httpx's callable default_encoding=, aiohttp's fallback_charset_resolver=) is not "
            "built in; decode resp.content yourself."
        )
    if argument == "raise_for_status" and callable(value):
        return (
            "raise_for_status= takes True or False, not a function (aiohttp's callable form): use "
            "event_hooks={'response': [your_check]} to run your own check on every response."
        )
    return None


# -- missing attributes -----------------------------------------------------------------------------
def missing_name_message(kind: str, name: str) -> str | None:
    """The sentence for ``AttributeError`` on ``fasthttp.<name>`` (kind ``"module"``) or
    ``resp.<name>`` (kind ``"response"``), or None when the name is not a known habit."""
    table = _NAME_TABLES.get(kind)
    if table is None:
        raise ValueError(f"kind={kind!r} must be one of {sorted(_NAME_TABLES)}.")
    sentence = table.get(name)
    if sentence is None:
        return None
    owner = "module 'fasthttp'" if kind == "module" else "'Response' object"
    return f"{owner} has no attribute {name!r}: {sentence}"
