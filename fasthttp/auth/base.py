"""The Auth protocol, AuthError, and the helpers the auths share (token cache, retries)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from yarl import URL

from ..exceptions import RequestError
from ..middleware.base import CallNext as Send
from ..models import Request

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["Auth", "AuthError", "AuthTypes", "Send", "TokenProvider"]


@runtime_checkable
class Auth(Protocol):
    """Adds credentials to ``request`` and sends it with ``send``."""

    async def __call__(self, request: Request, send: Send) -> Response: ...


AuthTypes: TypeAlias = "Auth | tuple[str, str] | None"
TokenProvider: TypeAlias = "Callable[[], Awaitable[str]] | Callable[[], str]"


class AuthError(RequestError):
    """Authentication could not be carried out: a token endpoint refused or failed,
    a challenge cannot be answered, or a body cannot be sent twice.

    ``status_code`` is the token endpoint's HTTP status and ``error`` its OAuth
    ``error`` code, when there was an answer. The message never contains a secret.
    """

    def __init__(
        self,
        message: str,
        *,
        request: Request | None = None,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.status_code = status_code
        self.error = error


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_token(token: object, source: str) -> str:
    """A token fit for ``Authorization: Bearer <token>``, or AuthError (never showing the value)."""
    if not isinstance(token, str):
        raise AuthError(f"{source} must be a str, got {type(token).__name__}.")
    if not token or token != token.strip() or _CONTROL.search(token):
        raise AuthError(
            f"{source} is empty, has surrounding spaces or a control character (CR, LF, NUL); "
            "it cannot be sent in an Authorization header."
        )
    return token


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return (url.scheme, url.host, url.port)


async def _discard(response: Response) -> None:
    """Release a 401 that is about to be answered (a streamed one holds a connection)."""
    close = getattr(response, "aclose", None)
    if close is not None:
        await close()


def _retry(request: Request, authorization: str) -> Request:
    retry = request.copy_with()
    retry.headers["Authorization"] = authorization
    return retry


def _describe(target: object) -> str:
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return str(name)


class _TokenCache:
    """One cached token with an optional expiry, refreshed single-flight.

    ``get`` returns the cached token or fetches one; ``replace(failed)`` fetches a
    new one unless another task already replaced ``failed``. Fetches run under an
    ``asyncio.Lock`` (one per event loop); a failed fetch is re-raised to the tasks
    that were waiting for it, so they do not each try again.
    """

    __slots__ = ("_clock", "_error", "_expires_at", "_generation", "_lock", "_lock_loop", "_token")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires_at: float | None = None
        self._generation = 0
        self._error: Exception | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def current(self) -> str | None:
        """The cached token if it has not expired."""
        token = self._token
        if token is not None and self._expires_at is not None and self._clock() >= self._expires_at:
            return None
        return token

    def invalidate(self, failed: str) -> None:
        """Forget the token, if it is still ``failed``."""
        if self._token == failed:
            self._token = None
            self._expires_at = None

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def get(self, fetch: Callable[[], Awaitable[tuple[str, float | None]]]) -> str:
        token = self.current()
        if token is not None:
            return token
        return await self.replace(None, fetch)

    async def replace(self, failed: str | None, fetch: Callable[[], Awaitable[tuple[str, float | None]]]) -> str:
        seen = self._generation
        async with self._get_lock():
            if self._generation != seen and self._error is not None:
                raise self._error  # the fetch we waited for failed: share its answer
            token = self.current()
            if token is not None and token != failed:
                return token
            try:
                token, lifetime = await fetch()
            except Exception as exc:
                self._generation += 1
                self._error = exc
                self._token = self._expires_at = None
                raise
            self._generation += 1
            self._error = None
            self._token = token
            self._expires_at = None if lifetime is None else self._clock() + lifetime
            return token
