"""Authentication: objects that add credentials to a request, and may answer a challenge.

An auth is any object with ``async def __call__(self, request, send) -> Response``,
where ``send(request)`` sends one request through the rest of the pipeline
(middleware, security, transport). The session calls it for every hop whose origin
is the one the request started with, so credentials never follow a redirect to
another origin. ``auth=`` accepts None, a ``(user, password)`` tuple (Basic), or
an auth object.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from .middleware.base import CallNext as Send

if TYPE_CHECKING:
    from .models import Request
    from .response import Response

__all__ = ["Auth", "AuthTypes", "BasicAuth", "coerce_auth"]

@runtime_checkable
class Auth(Protocol):
    """Adds credentials to ``request`` and sends it with ``send``."""

    async def __call__(self, request: Request, send: Send) -> Response: ...


AuthTypes: TypeAlias = "Auth | tuple[str, str] | None"


class BasicAuth:
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(user:password)``."""

    __slots__ = ("_header", "username")

    def __init__(self, username: str, password: str) -> None:
        if not isinstance(username, str) or not isinstance(password, str):
            raise TypeError("BasicAuth(username, password) takes two strings.")
        if ":" in username:
            raise ValueError("BasicAuth username cannot contain ':' (RFC 7617 section 2).")
        self.username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._header = f"Basic {token}"

    async def __call__(self, request: Request, send: Send) -> Response:
        request.headers["Authorization"] = self._header
        return await send(request)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=[REDACTED])"


def coerce_auth(auth: Any) -> Auth | None:
    """``auth=`` values -> an Auth object (or None)."""
    if auth is None:
        return None
    if isinstance(auth, tuple):
        if len(auth) != 2 or not all(isinstance(part, str) for part in auth):
            raise TypeError("auth= as a tuple must be (username, password), both strings.")
        return BasicAuth(auth[0], auth[1])
    if isinstance(auth, type):
        raise TypeError(f"auth= got the class {auth.__name__}; pass an instance, e.g. {auth.__name__}(...).")
    if not callable(auth):
        raise TypeError(
            "auth= must be a (username, password) tuple or an auth object such as BasicAuth, "
            f"BearerAuth or DigestAuth; got {type(auth).__name__}."
        )
    result: Auth = auth
    return result
