"""RequestCall: what the verbs return, so aiohttp's ``async with session.get(...)`` explains itself.

Kept apart from ``fasthttp.compat`` (the tables of other clients' names, needed only when
something goes wrong) because every request creates one.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any, NoReturn, TypeVar

__all__ = ["RequestCall"]

_T = TypeVar("_T")


class RequestCall(Coroutine[Any, Any, _T]):
    """The coroutine of a verb, wrapped so that aiohttp's ``async with`` form explains itself.

    It *is* a coroutine (``collections.abc.Coroutine``, the way aiohttp's own
    request context manager is), so ``await``, ``asyncio.create_task()``,
    ``gather()`` and ``wait_for()`` accept it; ``await`` goes straight to the
    wrapped coroutine. ``async with`` closes the wrapped coroutine unsent (no
    "never awaited" warning) and raises ``TypeError`` naming ``session.stream()``.
    """

    __slots__ = ("_coro", "_verb")

    def __init__(self, coro: Coroutine[Any, Any, _T], verb: str) -> None:
        self._coro = coro
        self._verb = verb

    def __await__(self) -> Generator[Any, None, _T]:
        return self._coro.__await__()

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: TracebackType | None = None) -> Any:
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._coro.close()

    async def __aenter__(self) -> NoReturn:
        self._coro.close()
        verb = self._verb.lower()
        method = verb.upper() if verb != "request" else "GET"
        raise TypeError(
            f"session.{verb}() is not an async context manager (aiohttp's 'async with session.{verb}(url) as "
            f"resp:'): write 'resp = await session.{verb}(...)', which returns the response with its body "
            f"already read (None on an error unless raise_errors=True), or 'async with "
            f'session.stream("{method}", url) as resp:\' to read the body as it arrives.'
        )

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"<RequestCall session.{self._verb.lower()}() {self._coro!r}>"
