"""The transport seam: the only layer that touches the wire.

A transport turns a ``Request`` into a ``Response``. Everything above it
(session, middleware, security, the app) is written against this protocol and
never imports aiohttp or httpx; each transport maps its engine's errors onto
``fasthttp.exceptions``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..config import DEFAULT_LIMITS, Limits, SecurityConfig

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response

__all__ = ["Transport", "TransportOptions"]


@runtime_checkable
class Transport(Protocol):
    """What the session needs from a transport."""

    async def handle(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body read."""
        ...

    async def aclose(self) -> None:
        """Close every connection; the transport is not used afterwards."""
        ...


@dataclass(frozen=True)
class TransportOptions:
    """Settings a session hands to the transport it builds (one SSL context, one pool)."""

    limits: Limits = DEFAULT_LIMITS
    ssl_context: ssl.SSLContext | None = None
    proxy: str | None = None
    # Proxy settings from HTTP(S)_PROXY / NO_PROXY: only when SSRF protection is off (a proxy hides the
    # address really dialled) and no explicit proxy is given; the session decides.
    trust_env: bool = False
    security: SecurityConfig | None = None
    default_encoding: str = "utf-8"
