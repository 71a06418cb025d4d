"""fasthttp: a fast, safe-by-default async HTTP client.

Two faces on one engine: ``AsyncSession`` (imperative, like ``httpx.AsyncClient``)
and ``FastHTTP`` (declarative: decorated routes sent concurrently by ``app.run()``).

``import fasthttp`` stays light: aiohttp is imported when the first session
opens, and the less common names below are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import Limits, SecurityConfig, Timeout
from .exceptions import (
    CircuitOpenError,
    ConnectError,
    ConnectTimeout,
    DecodingError,
    FastHTTPError,
    HTTPStatusError,
    InsecureRedirect,
    InvalidHeader,
    InvalidURL,
    MiddlewareError,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RequestError,
    ResponseTooLarge,
    SecurityError,
    SessionClosedError,
    SessionError,
    SessionNotOpenError,
    SignatureError,
    SSEError,
    SSRFBlocked,
    StreamClosed,
    StreamConsumed,
    StreamError,
    TimeoutException,
    TLSError,
    TooManyRedirects,
    TransportError,
    WriteError,
    WriteTimeout,
)
from .middleware.base import BaseMiddleware
from .models import Headers, Request
from .response import Response
from .session import AsyncSession

if TYPE_CHECKING:
    from .app import FastHTTP
    from .auth import AuthError, BasicAuth, BearerAuth, DigestAuth, OAuth2ClientCredentials
    from .cookies import CookieJar, DummyCookieJar
    from .dependencies import DependencyError, Depends
    from .middleware.cache import CacheMiddleware
    from .middleware.cache_storage import InMemoryCacheStorage, SQLiteCacheStorage
    from .middleware.ratelimit import RateLimitMiddleware
    from .middleware.retry import RetryBudget, RetryMiddleware, RetryPolicy
    from .results import RouteOutcome, RunResults
    from .routing import Route, RouteDefinitionError, Router
    from .security.signing import RequestSigner, verify_signature
    from .security.ssrf import SSRFPolicy
    from .shortcuts import delete, get, head, options, patch, post, put, request
    from .sse import ServerSentEvent
    from .streaming import StreamResponse
    from .transport.mock import MockTransport
    from .validation import RequestValidationError, ResponseValidationError

__version__ = "0.1.0"

# name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    "get": ".shortcuts",
    "post": ".shortcuts",
    "put": ".shortcuts",
    "patch": ".shortcuts",
    "delete": ".shortcuts",
    "head": ".shortcuts",
    "options": ".shortcuts",
    "request": ".shortcuts",
    "RetryMiddleware": ".middleware.retry",
    "RetryPolicy": ".middleware.retry",
    "RetryBudget": ".middleware.retry",
    "RateLimitMiddleware": ".middleware.ratelimit",
    "SQLiteCacheStorage": ".middleware.cache_storage",
    "InMemoryCacheStorage": ".middleware.cache_storage",
    "SSRFPolicy": ".security.ssrf",
    "verify_signature": ".security.signing",
    "RequestSigner": ".security.signing",
    "AuthError": ".auth",
    "BasicAuth": ".auth",
    "BearerAuth": ".auth",
    "DigestAuth": ".auth",
    "OAuth2ClientCredentials": ".auth",
    "CacheMiddleware": ".middleware.cache",
    "CookieJar": ".cookies",
    "DummyCookieJar": ".cookies",
    "MockTransport": ".transport.mock",
    "ServerSentEvent": ".sse",
    "StreamResponse": ".streaming",
    "DependencyError": ".dependencies",
    "Depends": ".dependencies",
    "FastHTTP": ".app",
    "RequestValidationError": ".validation",
    "ResponseValidationError": ".validation",
    "Route": ".routing",
    "RouteDefinitionError": ".routing",
    "RouteOutcome": ".results",
    "Router": ".routing",
    "RunResults": ".results",
}

__all__ = [
    "AsyncSession",
    "AuthError",
    "BaseMiddleware",
    "BasicAuth",
    "BearerAuth",
    "CacheMiddleware",
    "CircuitOpenError",
    "ConnectError",
    "ConnectTimeout",
    "CookieJar",
    "DecodingError",
    "DependencyError",
    "Depends",
    "DigestAuth",
    "DummyCookieJar",
    "FastHTTP",
    "FastHTTPError",
    "HTTPStatusError",
    "Headers",
    "InMemoryCacheStorage",
    "InsecureRedirect",
    "InvalidHeader",
    "InvalidURL",
    "Limits",
    "MiddlewareError",
    "MockTransport",
    "OAuth2ClientCredentials",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "RateLimitMiddleware",
    "ReadError",
    "ReadTimeout",
    "Request",
    "RequestError",
    "RequestSigner",
    "RequestValidationError",
    "Response",
    "ResponseTooLarge",
    "ResponseValidationError",
    "RetryBudget",
    "RetryMiddleware",
    "RetryPolicy",
    "Route",
    "RouteDefinitionError",
    "RouteOutcome",
    "Router",
    "RunResults",
    "SQLiteCacheStorage",
    "SSEError",
    "SSRFBlocked",
    "SSRFPolicy",
    "SecurityConfig",
    "SecurityError",
    "ServerSentEvent",
    "SessionClosedError",
    "SessionError",
    "SessionNotOpenError",
    "SignatureError",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "StreamResponse",
    "TLSError",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WriteError",
    "WriteTimeout",
    "__version__",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "verify_signature",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        from .compat import missing_name_message  # httpx/aiohttp names: say what ours is

        raise AttributeError(missing_name_message("module", name) or f"module 'fasthttp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
