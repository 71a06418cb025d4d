"""Bearer tokens (RFC 6750), static or from a provider refreshed after a 401."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..models import Request
from ..security.redact import REDACTED, mask_url
from .base import (
    AuthError,
    Send,
    _check_token,
    _describe,
    _discard,
    _retry,
    _TokenCache,
)

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["BearerAuth"]

log = logging.getLogger("fasthttp.auth")


class BearerAuth:
    """``Authorization: Bearer <token>`` (RFC 6750).

    ``token`` is a string, or a provider: a function (sync or async) returning one.
    A provider is called for the first request and its token cached until a 401;
    then it is called again (once, for all the requests that got that 401) and the
    request retried once with the new token ("bearer refresh").
    """

    __slots__ = ("_cache", "_header", "_provider")

    def __init__(self, token: str | Callable[[], Awaitable[str]] | Callable[[], str]) -> None:
        self._provider: Callable[[], Any] | None = None
        self._header: str | None = None
        if isinstance(token, str):
            self._header = f"Bearer {_check_token(token, 'BearerAuth token')}"
        elif callable(token):
            self._provider = token
        else:
            raise TypeError(f"BearerAuth(token) takes a str or a function returning one; got {type(token).__name__}.")
        self._cache = _TokenCache(time.monotonic)

    def __repr__(self) -> str:
        if self._provider is not None:
            return f"BearerAuth(provider={_describe(self._provider)})"
        return f"BearerAuth(token={REDACTED})"

    async def _fetch(self) -> tuple[str, float | None]:
        assert self._provider is not None
        name = _describe(self._provider)
        try:
            result = self._provider()
            if inspect.isawaitable(result):
                result = await result
        except AuthError:
            raise
        except Exception as exc:
            # The provider's own message may quote a credential: name the type only, chain the rest.
            raise AuthError(
                f"The BearerAuth token provider {name}() raised {type(exc).__name__}; see the chained exception."
            ) from exc
        log.debug("BearerAuth fetched a token from its provider %s()", name)
        return _check_token(result, f"The result of the BearerAuth token provider {name}()"), None

    async def __call__(self, request: Request, send: Send) -> Response:
        if self._header is not None:
            request.headers["Authorization"] = self._header
            return await send(request)
        token = await self._cache.get(self._fetch)
        request.headers["Authorization"] = f"Bearer {token}"
        response = await send(request)
        if response.status_code != 401:
            return response
        if not request.is_replayable:
            self._cache.invalidate(token)  # the next request fetches a new one
            return response
        await _discard(response)
        log.debug("401 from %s: asking the token provider again", mask_url(request.url))
        fresh = await self._cache.replace(token, self._fetch)
        return await send(_retry(request, f"Bearer {fresh}"))
