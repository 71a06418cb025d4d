"""AsyncSession: the engine. Every request, from either face, goes through ``send()``.

Pipeline for one request (see DESIGN.md)::

    build_request()  merge session defaults and per-call options, encode the body
    send()           follow redirects; for every hop:
      cookies          add the jar's cookies, store Set-Cookie afterwards
      middleware       the chain composed once at open() (one ending in handle, one in handle_stream)
      security layer   circuit breaker, then signing (SecurityLayer.bind)
      transport        our HTTP/1.1 (http11, the default), aiohttp, or httpx2 (HTTP/2)

The verbs (``get()``, ``post()``, ..., ``request()``) keep the seed's contract:
they return a Response, or None on an error or a 4xx/5xx status, logging one
ERROR line that says why. ``raise_errors=True`` (session or call) raises instead.
``send()`` is the low-level call: it returns the Response whatever its status and
raises on transport errors.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import logging
import os
import warnings
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypedDict, cast

from multidict import CIMultiDict
from yarl import URL

from .calls import RequestCall
from .config import Limits, SecurityConfig, Timeout
from .exceptions import (
    InvalidURL,
    RequestError,
    SessionClosedError,
    SessionNotOpenError,
    StreamError,
    TooManyRedirects,
)
from .logging import install_console_handler, session_logger
from .middleware.base import CallNext, compose, normalize_middleware
from .middleware.hooks import EventHooks, normalize_event_hooks
from .models import (
    Headers,
    HeadersInput,
    ParamsInput,
    Request,
    build_url,
    check_header,
    encode_body,
    join_url,
    to_url,
)
from .redirects import deadline_of, next_hop, origin_of
from .security.redact import mask_headers, mask_url
from .streaming import StreamResponse
from .tls import CertTypes, VerifyTypes, build_ssl_context
from .transport.base import Transport, TransportOptions

if TYPE_CHECKING:
    from typing_extensions import Never, Unpack

    from .auth import Auth, AuthTypes
    from .cookies import CookieJar
    from .middleware.retry import RetryMiddleware
    from .models import FileTypes, RequestContent
    from .response import Response
    from .security.layer import SecurityLayer
    from .sse import ServerSentEvent

__all__ = ["AsyncSession"]

__version__ = "0.1.0"
USER_AGENT: Final = f"fasthttp/{__version__}"

_UNSET: Any = object()
STREAM_EXTENSION: Final = "fasthttp.stream"
AUTH_EXTENSION: Final = "fasthttp.auth"
AUTH_ORIGIN_EXTENSION: Final = "fasthttp.auth_origin"

log = session_logger
debug_log = logging.getLogger("fasthttp.session.debug")


class BuildOptions(TypedDict, total=False):
    """The keyword arguments of ``build_request()``."""

    params: ParamsInput
    headers: HeadersInput
    cookies: Mapping[str, str] | None
    content: RequestContent | None
    data: Mapping[str, Any] | bytes | str | None
    files: Mapping[str, FileTypes] | None
    json: Any
    timeout: Timeout | float | None


class RequestOptions(BuildOptions, total=False):
    """The keyword arguments of ``request()`` and the verbs."""

    auth: AuthTypes
    follow_redirects: bool | None
    raise_errors: bool | None


_BUILD_OPTION_NAMES: Final = frozenset(BuildOptions.__optional_keys__)
# Headers.copy() without its Python frame: multidict's C copy keeps the subclass.
_copy_headers: Final[Callable[[Headers], Headers]] = CIMultiDict.copy


class AsyncSession:
    """An imperative HTTP client, like ``httpx.AsyncClient`` (see the README).

    Use it as ``async with AsyncSession(...) as session:``, or call ``await
    session.open()`` and ``await session.close()`` yourself.
    """

    def __init__(
        self,
        base_url: str | None = None,
        headers: HeadersInput = None,
        timeout: Timeout | float | None = 30.0,
        http2: bool = False,
        proxy: str | None = None,
        security: SecurityConfig | bool = True,
        middleware: Any = None,
        cookie_jar: CookieJar | None = None,
        debug: bool = False,
        secret_key: bytes | None = None,
        *,
        raise_errors: bool = False,
        params: ParamsInput = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        max_redirects: int = 10,
        limits: Limits | None = None,
        verify: VerifyTypes = True,
        cert: CertTypes = None,
        transport: Transport | str | None = None,
        default_encoding: str = "utf-8",
        event_hooks: Mapping[str, Any] | None = None,
        auth: AuthTypes = None,
        retry: Any = None,
        raise_for_status: bool = False,
        json_serialize: Callable[[Any], bytes | str] | None = None,
        trust_env: bool = False,
        **unknown: Never,
    ) -> None:
        from .compat import foreign_value_message, unknown_options_message  # the tables of other clients' names

        if unknown:
            raise TypeError(unknown_options_message("session", unknown))
        for argument, value in (
            ("timeout", timeout),
            ("limits", limits),
            ("auth", auth),
            ("transport", transport),
            ("cookie_jar", cookie_jar),
            ("proxy", proxy),
            ("default_encoding", default_encoding),
            ("raise_for_status", raise_for_status),
        ):
            message = foreign_value_message(argument, value)
            if message is not None:
                raise TypeError(message)
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits= must be a fasthttp.Limits; got {type(limits).__name__}.")
        if not isinstance(default_encoding, str):
            raise TypeError(
                f"default_encoding= must be an encoding name like 'utf-8'; got {type(default_encoding).__name__}."
            )
        self.base_url = to_url(base_url) if base_url else None
        if self.base_url is not None and (self.base_url.query_string or self.base_url.fragment):
            raise InvalidURL(
                f"base_url={mask_url(base_url)!r} has a query or fragment; put query parameters in params= instead."
            )
        default_headers = Headers({"User-Agent": USER_AGENT})
        if headers:
            default_headers.update(_checked_headers(headers))
        self._headers = default_headers
        self.timeout = Timeout.coerce(timeout)
        self.http2 = bool(http2)
        if self.http2 and transport is None:
            missing = [name for name in ("h2", "httpx2") if importlib.util.find_spec(name) is None]
            if missing:
                raise ImportError(
                    f"http2=True needs the {' and '.join(missing)} package(s): pip install 'fasthttp-client[http2]'"
                )
        if proxy is not None and not isinstance(proxy, str):
            raise TypeError(f"proxy= must be a URL string like 'http://127.0.0.1:3128'; got {type(proxy).__name__}.")
        if proxy is not None:
            to_url(proxy)
        self.proxy = proxy
        self.security = SecurityConfig.coerce(security)
        self.middleware = normalize_middleware(middleware)
        self.event_hooks = normalize_event_hooks(event_hooks)
        self.auth = _coerce_auth(auth)
        self.retry = _retry_middleware(retry)
        self.cookie_jar = cookie_jar
        self.debug = bool(debug)
        self.secret_key = secret_key
        self.raise_errors = bool(raise_errors)
        self.raise_for_status = bool(raise_for_status)
        if json_serialize is not None and not callable(json_serialize):
            raise TypeError("json_serialize= must be a function turning an object into JSON bytes or str.")
        self.json_serialize = json_serialize
        self.trust_env = bool(trust_env)
        self.params = params
        self.cookies: dict[str, str] = dict(cookies or {})
        self.follow_redirects = bool(follow_redirects)
        if isinstance(max_redirects, bool) or not isinstance(max_redirects, int) or max_redirects < 0:
            raise ValueError(f"max_redirects={max_redirects!r} must be a whole number >= 0.")
        self.max_redirects = max_redirects
        self.limits = limits if limits is not None else Limits()
        self.verify = verify
        self.cert = cert
        self.default_encoding = default_encoding
        if transport is None or isinstance(transport, str):
            self.transport_kind = _transport_kind(transport)
            transport = None
        else:
            self.transport_kind = type(transport).__name__
        self._transport: Transport | None = transport
        self._own_transport = transport is None
        self._handler: CallNext | None = None  # the whole chain for one hop, composed at open()
        self._stream_handler: CallNext | None = None  # the same, ending in the transport's handle_stream
        self._security_layer: SecurityLayer | None = None
        self._state = "new"
        self._log_debug = False
        self._debug_log = log
        self._url_cache: dict[str, URL] = {}

    @property
    def headers(self) -> Headers:
        """The headers every request sends (a live ``Headers``: change it, or assign any mapping)."""
        return self._headers

    @headers.setter
    def headers(self, value: HeadersInput) -> None:
        self._headers = _checked_headers(value)

    # -- lifecycle --------------------------------------------------------------
    async def open(self) -> AsyncSession:
        """Create the connection pool. Called by ``async with``; safe to call twice."""
        if self._state == "open":
            return self
        if self._state == "closed":
            raise SessionClosedError("This AsyncSession was closed and cannot be reopened; create a new AsyncSession.")
        if self._transport is None:
            self._transport = self._build_transport()
        if self.security.breaker_on or self.secret_key is not None or self.security.sign_hosts:
            from .security import layer  # imported when a session first needs it

            security = layer.SecurityLayer(self.security, self.secret_key)
            self._security_layer = security if security.is_active else None
        layers: list[Any] = [self.retry] if self.retry is not None else []
        layers.extend(self.middleware)
        if self.event_hooks["request"] or self.event_hooks["response"]:
            layers.append(EventHooks(self.event_hooks))  # innermost: sees every hop and attempt
        transport = self._transport
        handle_stream = getattr(transport, "handle_stream", None)
        self._handler = self._chain(layers, transport.handle)
        self._stream_handler = self._chain(layers, handle_stream or _cannot_stream(transport))
        if self.debug:
            # A child logger of its own, so debug=True on one session does not turn on
            # DEBUG lines for every other session in the process.
            install_console_handler(logging.DEBUG)
            debug_log.setLevel(logging.DEBUG)
            self._debug_log = debug_log
        self._log_debug = self._debug_log.isEnabledFor(logging.DEBUG)
        self._state = "open"
        return self

    def _chain(self, layers: list[Any], send: CallNext) -> CallNext:
        """One hop's pipeline, composed once: middleware, then the security layer, then ``send``.

        With no middleware the chain is the security layer's coroutine (or the transport's own
        ``handle``): nothing runs between ``send()`` and the transport, so nothing can find the
        session closed in between. A middleware can await (a retry's back-off) while the session
        closes: the end of its chain checks first."""
        security = self._security_layer
        endpoint = security.bind(send) if security is not None else send
        if not layers:
            return endpoint

        async def dispatch(request: Request) -> Response:
            if self._transport is None:
                self._ensure_open()  # raises SessionClosedError
                raise SessionClosedError("This AsyncSession was closed while the request was in flight.")
            return await endpoint(request)

        return compose(layers, dispatch)

    def _build_transport(self) -> Transport:
        options = TransportOptions(
            limits=self.limits,
            ssl_context=build_ssl_context(self.verify, self.cert, http2=self.http2),
            proxy=self.proxy,
            trust_env=self.trust_env and not self.security.ssrf_on and self.proxy is None,
            security=self.security,
            default_encoding=self.default_encoding,
        )
        if self.http2:
            from .transport.http2 import HTTP2Transport

            return HTTP2Transport(options)
        if self.transport_kind == "aiohttp":
            from .transport.aiohttp import AiohttpTransport

            return AiohttpTransport(options)
        from .transport.http11 import HTTP11Transport

        return HTTP11Transport(options)

    async def close(self) -> None:
        """Close every connection. The session cannot be used afterwards; closing twice is fine."""
        if self._state == "closed":
            return
        self._state = "closed"
        transport, self._transport = self._transport, None
        self._handler = self._stream_handler = None
        try:
            for middleware in (self.retry, *self.middleware):
                aclose = getattr(middleware, "aclose", None)
                if aclose is not None:
                    await aclose()  # e.g. a cache's SQLite storage
        finally:
            if transport is not None and self._own_transport:
                await transport.aclose()

    aclose = close

    @property
    def is_closed(self) -> bool:
        return self._state == "closed"

    async def __aenter__(self) -> AsyncSession:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if getattr(self, "_state", None) == "open":
            _warn(
                f"{self!r} was garbage-collected while open: use 'async with AsyncSession(...)' "
                "or call 'await session.close()'.",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        base = f" base_url={mask_url(self.base_url)!r}" if self.base_url is not None else ""
        return f"<AsyncSession{base} [{self._state}]>"

    def _ensure_open(self) -> CallNext:
        handler = self._handler
        if handler is None:
            if self._state == "closed":
                raise SessionClosedError(
                    "This AsyncSession is closed: requests must be made inside its 'async with' block "
                    "(or before 'await session.close()'). Create a new AsyncSession."
                )
            raise SessionNotOpenError(
                "This AsyncSession is not open yet: use 'async with AsyncSession(...) as session:' "
                "or call 'await session.open()' before making requests."
            )
        return handler

    # -- building requests ----------------------------------------------------------
    def _resolve(self, url: str | URL) -> URL:
        if isinstance(url, str):
            cached = self._url_cache.get(url)
            if cached is not None:
                return cached
            resolved = join_url(self.base_url, url)
            if len(self._url_cache) < 1024:
                self._url_cache[url] = resolved
            return resolved
        return join_url(self.base_url, url)

    def build_request(
        self,
        method: str,
        url: str | URL,
        *,
        params: ParamsInput = None,
        headers: HeadersInput = None,
        cookies: Mapping[str, str] | None = None,
        content: RequestContent | None = None,
        data: Mapping[str, Any] | bytes | str | None = None,
        files: Mapping[str, FileTypes] | None = None,
        json: Any = None,
        timeout: Timeout | float | None = _UNSET,
    ) -> Request:
        """Build the Request a call would send, with the session's defaults merged in."""
        if not isinstance(method, str) or not method:
            raise TypeError(f"method must be an HTTP method name like 'GET'; got {method!r}.")
        full = self._url_cache.get(url) if type(url) is str else None  # _resolve's cache, without its frame
        if full is None:
            full = self._resolve(url)
        if self.params:
            full = build_url(full, _without_keys(self.params, params) if params else self.params)
        if params:
            full = build_url(full, params)
        merged = _copy_headers(self._headers)
        if headers:
            extra = headers if isinstance(headers, Headers) else Headers(headers)
            for name, value in extra.items():
                check_header(name, value)
            merged.update(extra)
        if full.user is not None:
            if "authorization" not in merged:
                token = f"{full.user}:{full.password or ''}".encode()
                merged["Authorization"] = "Basic " + base64.b64encode(token).decode()
            full = full.with_user(None)
        if content is not None or data is not None or json is not None or files:
            body, content_type = encode_body(
                content=content, data=data, files=files, json=json, json_encoder=self.json_serialize
            )
            if content_type is not None and "content-type" not in merged:
                merged["Content-Type"] = content_type
        else:
            body = None
        if cookies or self.cookies:
            jar_cookies = {**self.cookies, **(cookies or {})}
            pairs = "; ".join(f"{k}={v}" for k, v in jar_cookies.items())
            existing = merged.get("cookie")
            merged["Cookie"] = f"{existing}; {pairs}" if existing else pairs
        return Request._trusted(
            method.upper(), full, merged, body, self.timeout if timeout is _UNSET else Timeout.coerce(timeout)
        )

    # -- sending ------------------------------------------------------------------------
    async def send(self, request: Request, *, stream: bool = False, follow_redirects: bool | None = None) -> Response:
        """Send a built request through the whole pipeline; return the final Response,
        whatever its status. Raises RequestError (and subclasses) on failure.

        With ``stream=True`` the response is a ``StreamResponse`` returned at the first
        byte, its body unread: close it (``await resp.aclose()``), or use ``stream()``."""
        handler = self._handler
        if handler is None:
            handler = self._ensure_open()  # raises: not open yet, or closed
        if stream:
            request.extensions[STREAM_EXTENSION] = True
        if request.extensions and request.extensions.get(STREAM_EXTENSION) and self._stream_handler is not None:
            handler = self._stream_handler
        if not isinstance(request.timeout, Timeout):
            request.timeout = self.timeout if request.timeout is None else Timeout.coerce(request.timeout)
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        auth = request.extensions.get(AUTH_EXTENSION, self.auth)
        if auth is not None:
            # Credentials are bound to the first hop's origin: never sent elsewhere after a redirect.
            request.extensions[AUTH_EXTENSION] = auth
            request.extensions[AUTH_ORIGIN_EXTENSION] = origin_of(request.url)
        try:
            if auth is None and self.cookie_jar is None and not self._log_debug:
                response = await handler(request)  # nothing to do around this hop: no _send_hop frame
            else:
                response = await self._send_hop(handler, request)
            if not follow or not response.is_redirect:
                return response
            history: list[Response] = []
            deadline = deadline_of(request.timeout)
            while response.is_redirect:
                if len(history) >= self.max_redirects:
                    raise TooManyRedirects(
                        f"{request.method} {mask_url(history[0].url if history else request.url)} was redirected "
                        f"more than {self.max_redirects} times. Raise max_redirects= or follow_redirects=False "
                        "to inspect the redirect yourself.",
                        request=request,
                    )
                history.append(response)
                if isinstance(response, StreamResponse):
                    await response.aclose()  # the redirect's own body is never needed
                request = next_hop(
                    request, response, deadline=deadline, cookie_jar_in_use=self.cookie_jar is not None
                )
                response = await self._send_hop(handler, request)
        except RequestError as exc:
            if exc.request is None:  # raised below the transport (a resolver, a decoder): say which request
                exc.request = request
            raise
        response.history = history
        return response

    async def _send_hop(self, handler: CallNext, request: Request) -> Response:
        jar = self.cookie_jar
        if jar is not None:
            header = jar.cookie_header(str(request.url))
            if header:
                existing = request.headers.get("cookie")
                request.headers["Cookie"] = f"{existing}; {header}" if existing else header
        if self._log_debug:
            self._debug_request(request)
        auth: Auth | None = request.extensions.get(AUTH_EXTENSION)
        if auth is not None and request.extensions.get(AUTH_ORIGIN_EXTENSION) == origin_of(request.url):
            response = await auth(request, handler)
        else:
            response = await handler(request)
        if jar is not None:
            set_cookies = response.headers.getall("set-cookie", ())
            if set_cookies:
                jar.store(str(request.url), set_cookies)
        if self._log_debug:
            self._debug_response(request, response)
        return response

    def _debug_request(self, request: Request) -> None:
        content = request.content
        size = "streamed" if content is not None and not isinstance(content, bytes) else len(content or b"")
        self._debug_log.debug(
            "→ %s %s headers=%s body=%s bytes",
            request.method,
            mask_url(request.url),
            dict(mask_headers(request.headers.items())),
            size,
        )

    def _debug_response(self, request: Request, response: Response) -> None:
        self._debug_log.debug(
            "← %s %s %d %s in %.2fms headers=%s body=%s bytes",
            request.method,
            mask_url(request.url),
            response.status_code,
            response.reason,
            response.elapsed.total_seconds() * 1000,
            dict(mask_headers(response.headers.items())),
            "streamed" if isinstance(response, StreamResponse) else len(response.content),
        )

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str | URL,
        *,
        headers: HeadersInput = None,
        content: RequestContent | None = None,
        timeout: Timeout | float | None = _UNSET,
        params: ParamsInput = None,
        cookies: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | bytes | str | None = None,
        files: Mapping[str, FileTypes] | None = None,
        json: Any = None,
        follow_redirects: bool | None = None,
        **unknown: Never,
    ) -> AsyncIterator[StreamResponse]:
        """Send a request and yield the response at its first byte, the body unread.

        ``timeout`` as a float is an inactivity timeout between reads (no total
        deadline, so a slow but live stream is not cut); a ``Timeout`` is used as
        given. Any status is yielded (check ``resp.status_code``); transport errors
        raise. Leaving the block closes the stream: early exits close the
        connection, a body read to its end returns it to the pool."""
        if unknown:
            from .compat import unknown_options_message

            raise TypeError(unknown_options_message("stream", unknown))
        stream_timeout = Timeout.for_stream(self.timeout if timeout is _UNSET else timeout)
        request = self.build_request(
            method,
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            content=content,
            data=data,
            files=files,
            json=json,
            timeout=stream_timeout,
        )
        response = await self.send(request, stream=True, follow_redirects=follow_redirects)
        if not isinstance(response, StreamResponse):
            # A middleware answered without the transport (a cached Response): wrap it.
            response = StreamResponse.from_response(response)
        try:
            yield response
        finally:
            await response.aclose()

    def sse(
        self,
        url: str | URL,
        *,
        method: str = "GET",
        headers: HeadersInput = None,
        timeout: Timeout | float | None = _UNSET,
        max_attempts: int | None = 5,
        last_event_id: str | None = None,
    ) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events from ``url``, reconnecting like a browser's EventSource:
        after a drop it waits the server's ``retry:`` time and reconnects with
        ``Last-Event-ID``; HTTP 204 ends it; ``max_attempts`` consecutive failed
        attempts raise ``SSEError``. Use ``async for event in session.sse(url):``."""
        from .sse_client import aiter_sse_reconnecting

        return aiter_sse_reconnecting(
            self,
            method,
            str(url),
            headers=headers,
            timeout=None if timeout is _UNSET else timeout,
            max_attempts=max_attempts,
            last_event_id=last_event_id,
        )

    # -- the verbs (seed semantics: Response, or None on error) -----------------------------
    async def _request(self, method: str, url: str | URL, options: RequestOptions) -> Response | None:
        """The body of every verb (see ``request()``); ``options`` is the verb's own ``**options`` dict."""
        if options:
            raise_errors = options.pop("raise_errors", None)
            follow_redirects = options.pop("follow_redirects", None)
            auth = options.pop("auth", _UNSET)
        else:  # the common call, ``session.get(url)``: no option to look up
            raise_errors = follow_redirects = None
            auth = _UNSET
        try:
            if options:
                request = self.build_request(method, url, **cast("BuildOptions", options))
            else:
                request = self.build_request(method, url)
        except TypeError:
            # An unknown keyword (often another client's habit): name our equivalent.
            from .compat import foreign_value_message, unknown_options_message

            unknown = {k: v for k, v in options.items() if k not in _BUILD_OPTION_NAMES}
            message = unknown_options_message("request", unknown, where=f"session.{method.lower()}()")
            if message is None and "timeout" in options:
                message = foreign_value_message("timeout", options["timeout"])
            if message is not None:
                raise TypeError(message) from None
            raise
        if auth is not _UNSET:
            request.extensions[AUTH_EXTENSION] = _coerce_auth(auth)
        raising = self.raise_errors if raise_errors is None else raise_errors
        try:
            response = await self.send(request, follow_redirects=follow_redirects)
        except (RequestError, StreamError) as exc:  # lifecycle misuse (SessionError) always raises
            if raising:
                raise
            log.error("%s %s failed: %s", request.method, mask_url(request.url), _describe(exc))
            return None
        if response.status_code >= 400:
            if raising or self.raise_for_status:
                response.raise_for_status()
            log.error(
                "%s %s returned %d %s", request.method, mask_url(response.url), response.status_code, response.reason
            )
            return None
        return response

    def request(self, method: str, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """Send one request. Returns the Response, or None (with one ERROR log line)
        on an error or a 4xx/5xx status; with ``raise_errors=True`` it raises instead.

        Options: ``params``, ``headers``, ``cookies``, one body argument (``json``,
        ``data``, ``content``, ``files`` with ``data``), ``timeout``, ``auth``,
        ``follow_redirects``, ``raise_errors``. Await it: ``resp = await session.request(...)``."""
        return RequestCall(self._request(method, url, options), "request")

    def get(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """GET ``url``; see ``request()`` for the options."""
        return RequestCall(self._request("GET", url, options), "get")

    def head(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """HEAD ``url``; see ``request()``."""
        return RequestCall(self._request("HEAD", url, options), "head")

    def options(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """OPTIONS ``url``; see ``request()``."""
        return RequestCall(self._request("OPTIONS", url, options), "options")

    def delete(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """DELETE ``url``; see ``request()``."""
        return RequestCall(self._request("DELETE", url, options), "delete")

    def post(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """POST to ``url``; see ``request()``."""
        return RequestCall(self._request("POST", url, options), "post")

    def put(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """PUT to ``url``; see ``request()``."""
        return RequestCall(self._request("PUT", url, options), "put")

    def patch(self, url: str | URL, **options: Unpack[RequestOptions]) -> RequestCall[Response | None]:
        """PATCH ``url``; see ``request()``."""
        return RequestCall(self._request("PATCH", url, options), "patch")


def _without_keys(session_params: ParamsInput, call_params: ParamsInput) -> ParamsInput:
    """The session's params minus those the call sets itself (the call's value wins, as in httpx)."""
    if isinstance(session_params, str) or isinstance(call_params, str):
        return session_params
    names = {str(k) for k, _ in (call_params.items() if isinstance(call_params, Mapping) else call_params or ())}
    items: Any = session_params.items() if isinstance(session_params, Mapping) else session_params or ()
    kept: list[tuple[str, Any]] = [(k, v) for k, v in items if str(k) not in names]
    return kept


TRANSPORT_ENV: Final = "FASTHTTP_TRANSPORT"
_TRANSPORT_KINDS = ("http11", "aiohttp")


def _transport_kind(name: str | None) -> str:
    """``transport="http11"`` (our own, the default) or ``"aiohttp"``; None reads FASTHTTP_TRANSPORT."""
    chosen = name if name is not None else os.environ.get(TRANSPORT_ENV, "http11")
    kind = chosen.strip().lower()
    if kind not in _TRANSPORT_KINDS:
        where = "transport=" if name is not None else f"the environment variable {TRANSPORT_ENV}"
        raise ValueError(
            f"{where} names the HTTP/1.1 transport {chosen!r}; use 'http11' (fasthttp's own, the default) "
            "or 'aiohttp', or pass a Transport object."
        )
    return kind


def _checked_headers(headers: HeadersInput) -> Headers:
    """``headers`` as ``Headers``, every field checked (``check_header``)."""
    checked = Headers(headers)
    for name, value in checked.items():
        check_header(name, value)
    return checked


def _cannot_stream(transport: Transport) -> CallNext:
    """The end of the stream chain for a transport without ``handle_stream``."""

    async def refuse(request: Request) -> Response:
        raise TypeError(f"The transport {type(transport).__name__} cannot stream responses.")

    return refuse


def _coerce_auth(auth: Any) -> Auth | None:
    if auth is None:
        return None
    from .auth import coerce_auth  # imported on first use: most sessions have no auth

    return coerce_auth(auth)


def _retry_middleware(retry: Any) -> RetryMiddleware | None:
    if retry is None or retry is False:
        return None
    from .middleware.retry import RetryMiddleware

    return RetryMiddleware.from_option(retry)


def _describe(exc: Exception) -> str:
    """The short cause for the ERROR line: the exception's own (masked) sentence."""
    kind = type(exc).__name__
    return f"{kind}: {exc}"
