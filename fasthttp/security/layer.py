"""The security layer of the pipeline: what runs between the middleware chain and the transport.

For every attempt (each retry and each redirect hop passes here again):
1. the origin's circuit breaker admits the request or raises ``CircuitOpenError``;
2. the request is signed (RFC 9421 HMAC) when ``should_sign`` says so, last,
   so the signature covers the final bytes (a refused request is not signed);
3. the transport sends it; the outcome (success, failure, neutral) is recorded.

SSRF is not checked here but at connect time, in the transports (``SSRFGuard``),
so DNS rebinding and redirects are covered by the same check.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..config import SecurityConfig
from .breaker import BreakerRegistry, classify_outcome
from .signing import SIGN_EXTENSION, RequestSigner, should_sign

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response

__all__ = ["SecurityLayer"]

log = logging.getLogger("fasthttp.security")

Send = Callable[["Request"], Awaitable["Response"]]


class SecurityLayer:
    """Circuit breaker and request signing for one session (built once, at open)."""

    __slots__ = ("breakers", "key_was_generated", "sign_hosts", "signer")

    def __init__(self, config: SecurityConfig, secret_key: bytes | None) -> None:
        self.breakers = (
            BreakerRegistry(
                failure_threshold=config.failure_threshold,
                open_for=config.open_for,
                max_open_for=config.max_open_for,
            )
            if config.breaker_on
            else None
        )
        self.key_was_generated = secret_key is None
        key = secret_key if secret_key is not None else secrets.token_bytes(32)
        self.sign_hosts = frozenset(config.sign_hosts) if config.sign_hosts is not None else None
        signs_anything = not self.key_was_generated or bool(self.sign_hosts)
        self.signer = RequestSigner(key) if signs_anything else None

    @property
    def is_active(self) -> bool:
        """False when the layer would do nothing (then the session skips it entirely)."""
        return self.breakers is not None or self.signer is not None

    def bind(self, send: Send) -> Send:
        """The layer in front of ``send`` (the transport's ``handle`` or ``handle_stream``): one
        coroutine function the session composes once at open, so a request pays one frame here."""
        signer = self.signer
        sign_hosts = self.sign_hosts
        key_was_generated = self.key_was_generated
        breakers = self.breakers
        for_url = breakers.for_url if breakers is not None else None

        def sign(request: Request) -> None:
            assert signer is not None
            if request.extensions.get(SIGN_EXTENSION, True) and should_sign(
                request.url, sign_hosts, key_was_generated
            ):
                signer.sign(request)

        async def secured(request: Request) -> Response:
            if for_url is None:
                if signer is not None:
                    sign(request)
                return await send(request)
            breaker = for_url(request.url)
            ticket = breaker.before_request()  # a refused request is never signed
            try:
                if signer is not None:
                    sign(request)  # last, so the signature covers the bytes sent
                response = await send(request)
            except BaseException as exc:
                breaker.record(ticket, classify_outcome(exc, None))
                raise
            if response.status_code < 400:
                breaker.record_success(ticket)
            else:
                breaker.record(ticket, classify_outcome(None, response.status_code))
            return response

        return secured
