"""The exception tree of fasthttp.

Every transport maps its engine's errors onto this tree, so user code never has
to catch aiohttp or httpx exceptions::

    FastHTTPError
    ├── RequestError                 a request could not be completed (has .request)
    │   ├── TransportError           something went wrong on the wire
    │   │   ├── ConnectError         refused, DNS failure, unreachable, TLS failure
    │   │   │   └── TLSError         certificate, hostname or protocol failure
    │   │   ├── TimeoutException
    │   │   │   ├── ConnectTimeout   connecting (TCP + TLS) took too long
    │   │   │   ├── ReadTimeout      the server went quiet, or the total deadline passed
    │   │   │   ├── WriteTimeout     the server stopped reading our request body
    │   │   │   └── PoolTimeout      no free connection slot in time
    │   │   ├── ProtocolError        the server broke HTTP (garbage, truncated body)
    │   │   ├── ReadError            the connection broke while reading
    │   │   ├── WriteError           the connection broke while writing
    │   │   └── ProxyError           the proxy refused or failed
    │   ├── DecodingError            the body could not be decoded (bad gzip, bad charset)
    │   ├── TooManyRedirects
    │   ├── InvalidURL               (also a ValueError) the URL cannot be sent
    │   ├── MiddlewareError          a middleware raised (names the middleware)
    │   ├── SSEError                 an event stream cannot go on (wrong status or type, attempts used up)
    │   └── SecurityError            blocked by the security layer
    │       ├── InsecureRedirect     https -> http downgrade refused
    │       ├── SSRFBlocked          the target address is internal
    │       ├── CircuitOpenError     the origin's circuit breaker is open
    │       ├── SignatureError       a signature could not be made, or was refused by verify_signature
    │       └── ResponseTooLarge     the body passed its size cap
    ├── HTTPStatusError              a 4xx/5xx response, with .request and .response
    ├── InvalidHeader                (also a ValueError) a header name or value that cannot be sent
    ├── StreamError                  misuse of a streamed body
    │   ├── StreamConsumed           the body was already read
    │   └── StreamClosed             the stream's block has exited
    ├── SessionError                 (also a RuntimeError) session lifecycle misuse
    │   ├── SessionNotOpenError
    │   └── SessionClosedError
    └── the declarative app's own (defined next to the code that raises them):
        RouteDefinitionError (also TypeError, fasthttp.routing), DependencyError (fasthttp.dependencies),
        RequestValidationError / ResponseValidationError (also ValueError, fasthttp.validation),
        AuthError (a RequestError, fasthttp.auth)

Messages are full sentences (what was attempted, why it failed, how to fix it)
and never contain secrets: URLs in them are masked.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Request
    from .response import Response

__all__ = [
    "CircuitOpenError",
    "ConnectError",
    "ConnectTimeout",
    "DecodingError",
    "FastHTTPError",
    "HTTPStatusError",
    "InsecureRedirect",
    "InvalidHeader",
    "InvalidURL",
    "MiddlewareError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RequestError",
    "ResponseTooLarge",
    "SSEError",
    "SSRFBlocked",
    "SecurityError",
    "SessionClosedError",
    "SessionError",
    "SessionNotOpenError",
    "SignatureError",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TLSError",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WriteError",
    "WriteTimeout",
]


class FastHTTPError(Exception):
    """Base class of every error fasthttp raises on purpose."""


class RequestError(FastHTTPError):
    """A request could not be completed; ``.request`` is the request that failed."""

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class TransportError(RequestError):
    """Something failed on the wire."""


class ConnectError(TransportError):
    """The connection could not be opened (refused, DNS, unreachable)."""


class TLSError(ConnectError):
    """The TLS handshake failed; ``kind`` is "certificate", "hostname" or "protocol"."""

    def __init__(self, message: str, *, request: Request | None = None, kind: str = "protocol") -> None:
        super().__init__(message, request=request)
        self.kind = kind


class TimeoutException(TransportError, asyncio.TimeoutError):
    """A deadline passed. Also an ``asyncio.TimeoutError`` (the builtin ``TimeoutError``), so code
    written for aiohttp that catches that still catches our timeouts."""


class ConnectTimeout(TimeoutException):
    """Opening the connection (TCP and TLS) took longer than the connect timeout."""


class ReadTimeout(TimeoutException):
    """The server sent nothing for longer than the read timeout, or the total deadline passed."""


class WriteTimeout(TimeoutException):
    """The request body could not be written within the write timeout."""


class PoolTimeout(TimeoutException):
    """No connection slot became free within the pool timeout."""


class ProtocolError(TransportError):
    """The server's bytes broke HTTP: garbage status line, truncated body, bad framing."""


class ReadError(TransportError):
    """The connection broke while the response was being read."""


class WriteError(TransportError):
    """The connection broke while the request was being written."""


class ProxyError(TransportError):
    """The proxy could not be reached or refused the request."""


class DecodingError(RequestError):
    """The response body could not be decoded (content coding or charset)."""


class TooManyRedirects(RequestError):
    """More redirects than ``max_redirects`` were returned."""


class InvalidURL(RequestError, ValueError):
    """The URL is malformed or uses a scheme fasthttp does not send."""


class MiddlewareError(RequestError):
    """A middleware raised an unexpected exception; ``.middleware`` names it."""

    def __init__(self, message: str, *, request: Request | None = None, middleware: str = "") -> None:
        super().__init__(message, request=request)
        self.middleware = middleware


class SSEError(RequestError):
    """A Server-Sent Events stream cannot go on: wrong status or content type, or no attempts left."""


class SecurityError(RequestError):
    """The security layer refused the request; the message says what, why and how to allow it."""


class InsecureRedirect(SecurityError):
    """A redirect from https to http was refused."""


class SSRFBlocked(SecurityError):
    """The target resolves to an address that is not on the public internet."""


class CircuitOpenError(SecurityError):
    """The origin failed repeatedly; requests are refused until ``retry_after`` seconds pass."""

    def __init__(self, message: str, *, request: Request | None = None, retry_after: float = 0.0) -> None:
        super().__init__(message, request=request)
        self.retry_after = retry_after


class SignatureError(SecurityError):
    """A signature could not be made or was refused; ``reason`` says why in a few words
    ("expired", "replayed nonce", "digest mismatch", "bad signature", "missing component @path")."""

    def __init__(self, message: str, *, request: Request | None = None, reason: str = "") -> None:
        super().__init__(message, request=request)
        self.reason = reason


class ResponseTooLarge(SecurityError):
    """The response body grew past its size cap."""


class HTTPStatusError(FastHTTPError):
    """The server answered with a 4xx or 5xx status. The response stays readable."""

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class InvalidHeader(FastHTTPError, ValueError):
    """A header name is not a token, or a value holds CR, LF or NUL."""


class StreamError(FastHTTPError):
    """A streamed body was used in a way that cannot work."""


class StreamConsumed(StreamError):
    """The body has already been read once; it cannot be read again."""


class StreamClosed(StreamError):
    """The stream's ``async with`` block has exited; its connection is gone."""


class SessionError(FastHTTPError, RuntimeError):
    """An AsyncSession was used outside its open lifetime."""


class SessionNotOpenError(SessionError):
    """The session has not been opened yet."""


class SessionClosedError(SessionError):
    """The session has been closed."""
