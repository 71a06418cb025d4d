"""The middleware chain: one general form, composed once per session.

A middleware is any object with ``async def __call__(self, request, call_next) -> Response``.
``BaseMiddleware`` offers the seed's simple hooks on top of it:
``before_request(request)`` (return a modified Request, a Response to answer
without sending, or None to go on unchanged), ``after_response(request, response)``
(return a Response, or None to keep it) and ``on_error(request, error)``
(return a Response to recover, or None to let the error propagate).
The first middleware in the list is the outermost: it sees the request first
and the response last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..exceptions import FastHTTPError, MiddlewareError

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response

__all__ = ["BaseMiddleware", "CallNext", "Middleware", "compose", "normalize_middleware"]

CallNext = Callable[["Request"], Awaitable["Response"]]


@runtime_checkable
class Middleware(Protocol):
    async def __call__(self, request: Request, call_next: CallNext) -> Response: ...


class BaseMiddleware:
    """Subclass and override any of the three hooks; the defaults change nothing."""

    async def before_request(self, request: Request) -> Request | Response | None:
        return None

    async def after_response(self, request: Request, response: Response) -> Response | None:
        return None

    async def on_error(self, request: Request, error: Exception) -> Response | None:
        return None

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        from ..response import Response

        changed = await self.before_request(request)
        if isinstance(changed, Response):
            return changed
        if changed is not None:
            request = changed
        try:
            response = await call_next(request)
        except Exception as error:
            recovered = await self.on_error(request, error)
            if recovered is None:
                raise
            return recovered
        replaced = await self.after_response(request, response)
        return response if replaced is None else replaced


def normalize_middleware(middleware: Any) -> tuple[Middleware, ...]:
    """``middleware=`` accepts None, one middleware, or a list of them."""
    if middleware is None:
        return ()
    items: Iterable[Any] = middleware if isinstance(middleware, (list, tuple)) else (middleware,)
    result = []
    for item in items:
        if isinstance(item, type):
            raise TypeError(
                f"middleware= got the class {item.__name__}, not an instance: write {item.__name__}()."
            )
        if not callable(item):
            raise TypeError(
                f"middleware= items must be middleware objects (with async __call__(request, call_next)); "
                f"got {type(item).__name__}."
            )
        result.append(item)
    return tuple(result)


def _bind(middleware: Middleware, call_next: CallNext) -> CallNext:
    name = type(middleware).__name__

    async def call(request: Request) -> Response:
        try:
            return await middleware(request, call_next)
        except FastHTTPError:
            raise
        except Exception as exc:
            raise MiddlewareError(
                f"Middleware {name} raised {type(exc).__name__}: {exc}. Fix the middleware, or make it "
                "return a Response from on_error() to recover.",
                request=request,
                middleware=name,
            ) from exc

    return call


def compose(middleware: Sequence[Middleware], endpoint: CallNext) -> CallNext:
    """One callable for the whole chain; with no middleware it is ``endpoint`` itself."""
    handler = endpoint
    for item in reversed(middleware):
        handler = _bind(item, handler)
    return handler
