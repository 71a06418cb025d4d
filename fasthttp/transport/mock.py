"""MockTransport: answer requests with a function, for users' own tests.

fasthttp's own test suite never uses it for the network paths (those run
against real servers on 127.0.0.1); it exists so that applications built on
fasthttp can unit-test their logic without a server, as with httpx.MockTransport.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response

__all__ = ["MockTransport"]

Handler = Callable[["Request"], "Response | Awaitable[Response]"]


class MockTransport:
    """A transport whose responses come from ``handler(request)`` (sync or async)."""

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError(
                f"MockTransport(handler) needs a function taking a Request and returning a Response; "
                f"got {type(handler).__name__}."
            )
        self._handler = handler

    async def handle(self, request: Request) -> Response:
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        from ..response import Response

        if not isinstance(result, Response):
            raise TypeError(
                f"MockTransport handler returned {type(result).__name__}; it must return a fasthttp.Response."
            )
        if result.request is None:
            result.request = request
        if result.url is None:
            result.url = request.url
        return result

    async def aclose(self) -> None:
        return None
