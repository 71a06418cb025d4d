"""HTTP Basic authentication (RFC 7617)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from ..models import Request
from ..security.redact import REDACTED
from .base import (
    Send,
)

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["BasicAuth"]


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
        return f"BasicAuth(username={self.username!r}, password={REDACTED})"
