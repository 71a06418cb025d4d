"""The sentences ``HTTP11Transport`` fails with: one function per situation, the same types and words as
the aiohttp transport for the same situation.

Rules:

- every message says what was attempted (``GET https://host/path``, the URL masked
  by ``mask_url``), what went wrong and, where there is one, how to fix it;
- no header value, body byte or proxy credential ever appears in a message;
- every error is created with ``__suppress_context__`` set, the equivalent of
  ``raise ... from None``: the engine's exception (an ``OSError``, an
  ``ssl.SSLError``, an httptools error) may quote the raw URL, so it must not
  be printed as the context of ours;
- ``StaleConnection`` is internal: a reused keep-alive connection that died before
  the first byte of the response. The transport retries idempotent requests once
  on a new connection and raises ``StaleConnection.error`` otherwise.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING, TypeVar

from ..exceptions import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RequestError,
    ResponseTooLarge,
    TLSError,
    WriteError,
    WriteTimeout,
)
from ..security.redact import mask_url
from .h11_states import HEAD, MAX_FIELDS, MAX_LINE, WAITING

if TYPE_CHECKING:
    from ..config import Timeout
    from ..models import Request

__all__ = [
    "StaleConnection",
    "broken",
    "closed_by_session",
    "connect_failed",
    "connect_timeout",
    "cut_short",
    "disconnected",
    "head_bound_broken",
    "head_too_big",
    "invalid_response",
    "lost",
    "pool_timeout",
    "proxy_refused",
    "read_timeout",
    "reset_mid_body",
    "too_large",
    "total_timeout",
    "write_broken",
    "write_timeout",
]

# OpenSSL verify codes that mean "the certificate is fine but names another host / IP address".
_X509_HOSTNAME_MISMATCH = 62
_X509_IP_ADDRESS_MISMATCH = 64

E = TypeVar("E", bound=BaseException)


class StaleConnection(Exception):
    """A reused connection closed before any response byte; ``error`` is what to raise if not retried."""

    def __init__(self, error: RequestError) -> None:
        super().__init__(str(error))
        self.error = error


def quiet(error: E) -> E:
    """``error`` as if raised ``from None``."""
    error.__cause__ = None
    error.__suppress_context__ = True
    return error


def _target(request: Request) -> str:
    return f"{request.method} {mask_url(request.url)}"


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "the connection was closed"
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    text = str(exc).strip().rstrip(".")
    return text if text and "://" not in text else type(exc).__name__


def total_timeout(request: Request, timeout: Timeout) -> ReadTimeout:
    total = timeout.total if timeout.total is not None else 0.0
    return quiet(
        ReadTimeout(
            f"{_target(request)} did not complete within its total deadline of {total:g} s. "
            "Raise timeout= for slow endpoints.",
            request=request,
        )
    )


def read_timeout(request: Request, timeout: Timeout) -> ReadTimeout:
    read = timeout.read if timeout.read is not None else 0.0
    return quiet(
        ReadTimeout(f"{_target(request)}: the server sent nothing for {read:g} s (read timeout).", request=request)
    )


def write_timeout(request: Request, timeout: Timeout) -> WriteTimeout:
    write = timeout.write if timeout.write is not None else 0.0
    return quiet(
        WriteTimeout(
            f"{_target(request)}: the request body could not be written within {write:g} s "
            "(write timeout); the server stopped reading it.",
            request=request,
        )
    )


def connect_timeout(request: Request, limit: float) -> ConnectTimeout:
    return quiet(ConnectTimeout(f"Connecting for {_target(request)} took longer than {limit:g} s.", request=request))


def pool_timeout(request: Request, limit: float, slots: int, per_host: bool) -> PoolTimeout:
    if per_host:
        return quiet(
            PoolTimeout(
                f"No free connection for {_target(request)} within {limit:g} s: all {slots} connections "
                "allowed to this host are busy. Raise Limits(max_per_host=...) or the pool timeout, "
                "or send fewer requests at once.",
                request=request,
            )
        )
    return quiet(
        PoolTimeout(
            f"No free connection for {_target(request)} within {limit:g} s: all {slots} connections are busy. "
            "Raise Limits(max_connections=...) or the pool timeout, or send fewer requests at once.",
            request=request,
        )
    )


def disconnected(request: Request) -> ProtocolError:
    return quiet(
        ProtocolError(
            f"{_target(request)}: the server closed the connection without sending a complete response.",
            request=request,
        )
    )


def cut_short(request: Request, detail: str) -> ProtocolError:
    return quiet(
        ProtocolError(f"{_target(request)}: the response body was malformed or cut short ({detail}).", request=request)
    )


def invalid_response(request: Request, detail: str) -> ProtocolError:
    return quiet(
        ProtocolError(f"{_target(request)}: the server sent an invalid HTTP response ({detail}).", request=request)
    )


def broken(request: Request, exc: BaseException | None) -> ReadError:
    return quiet(ReadError(f"{_target(request)}: the connection broke ({_reason(exc)}).", request=request))


def reset_mid_body(request: Request) -> ReadError:
    return quiet(
        ReadError(f"{_target(request)}: the connection was reset while the body was being read.", request=request)
    )


def write_broken(request: Request, exc: BaseException | None) -> WriteError:
    return quiet(
        WriteError(
            f"{_target(request)}: the connection broke while the request was being sent ({_reason(exc)}).",
            request=request,
        )
    )


def closed_by_session(request: Request) -> ReadError:
    return quiet(
        ReadError(f"{_target(request)}: the session was closed while the response was being read.", request=request)
    )


def too_large(request: Request, cap: int, why: str) -> ResponseTooLarge:
    return quiet(
        ResponseTooLarge(
            f"Refusing the response to {_target(request)}: {why}, over the {cap}-byte limit. "
            "Raise SecurityConfig(max_body_size=...) (None lifts it), or use session.stream() for large downloads.",
            request=request,
        )
    )


def proxy_refused(request: Request, status: int, reason: str | None) -> ProxyError:
    text = f"{status} {reason}" if reason else str(status)
    return quiet(ProxyError(f"The proxy refused {_target(request)} with status {text}.", request=request))


def connect_failed(request: Request, exc: BaseException, *, to_proxy: bool, tls: bool) -> ConnectError | ProxyError:
    """An exception from opening a connection (TCP, TLS, CONNECT) -> ours."""
    target = _target(request)
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        kind = "hostname" if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_ADDRESS_MISMATCH) else "certificate"
        detail = str(exc.verify_message or _reason(exc)).rstrip(".")
        return quiet(
            TLSError(
                f"TLS {kind} check failed for {target}: {detail}. "
                "Pass verify= a CA bundle that signs the server's certificate (verify=False disables checking).",
                request=request,
                kind=kind,
            )
        )
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or _reason(exc)).rstrip(".").lower().replace("_", " ")
        return quiet(
            TLSError(
                f"TLS handshake failed for {target}: {reason}. The server may not speak TLS on this port, may "
                "require a client certificate (pass cert=), or accepts no protocol version we offer.",
                request=request,
                kind="protocol",
            )
        )
    if to_proxy:
        return quiet(ProxyError(f"Could not connect to the proxy for {target}: {_reason(exc)}.", request=request))
    if tls and isinstance(exc, ConnectionResetError):  # as the aiohttp transport words it
        return quiet(
            TLSError(
                f"TLS handshake failed for {target}: the server reset the connection during the handshake "
                "(does it require a client certificate? pass cert=).",
                request=request,
                kind="protocol",
            )
        )
    if isinstance(exc, socket.gaierror):
        return quiet(
            ConnectError(
                f"Could not resolve the host of {target}: {_reason(exc)}. Check the host name.", request=request
            )
        )
    return quiet(ConnectError(f"Could not connect for {target}: {_reason(exc)}.", request=request))


def lost(request: Request, state: int, exc: Exception | None, *, uploading: bool, stale: bool) -> BaseException:
    """The error for a connection lost in ``state`` (WAITING, HEAD or BODY), ``exc`` from ``connection_lost``.

    ``stale``: a reused connection that had not sent a byte of the response (the retry rule)."""
    if state == WAITING:
        if uploading and exc is not None:
            error: RequestError = write_broken(request, exc)
        elif isinstance(exc, OSError):
            error = broken(request, exc)
        else:
            error = disconnected(request)
        return StaleConnection(error) if stale else error
    if state == HEAD:
        return broken(request, exc) if isinstance(exc, OSError) else disconnected(request)
    if isinstance(exc, ConnectionResetError):
        return reset_mid_body(request)
    if isinstance(exc, OSError):
        return broken(request, exc)
    return cut_short(request, "the connection closed before the end of the body")


def head_too_big(raw: bytes) -> bool:
    """Whether a complete head breaks the field-count or line-length bound."""
    if raw.count(b"\r\n") > MAX_FIELDS + 2:
        return True
    return len(raw) > MAX_LINE and max(map(len, raw.split(b"\r\n"))) > MAX_LINE


def head_bound_broken(request: Request, raw: bytes, found_end: bool) -> ProtocolError:
    """The error for a head that breaks a bound (or whose end llhttp saw but we could not find)."""
    if not found_end:
        return invalid_response(request, "the end of the response head was not found")
    if raw.count(b"\r\n") > MAX_FIELDS + 2:
        return invalid_response(request, f"the response has more than {MAX_FIELDS} header fields")
    return invalid_response(request, f"a response header line is longer than {MAX_LINE} bytes")
