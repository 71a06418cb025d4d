"""fasthttp's ``AsyncSession`` with three pass-through middlewares (issue 5): what the chain costs.

``AsyncSession(base_url=..., middleware=[Pass(), Pass(), Pass()])``, where ``Pass`` is
``async def __call__(self, request, call_next): return await call_next(request)``; otherwise
exactly the ``fasthttp`` client. Compare with ``fasthttp`` on ``conc``; ``python -m
bench.middleware`` does the same comparison paired in one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..snapshot import tree_digest
from .base import ClientSpec
from .fasthttp_session import Adapter as SessionAdapter

CLIENTS = (
    ClientSpec(
        name="fasthttp-mw3",
        adapter=__name__.rpartition(".")[2],
        label="AsyncSession(base_url=..., middleware=[Pass(), Pass(), Pass()]) (pass-through "
        "`async def __call__(self, request, call_next)`); otherwise as fasthttp",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
)


class Pass:
    """A pass-through middleware: the least a middleware can be."""

    async def __call__(self, request: Any, call_next: Any) -> Any:
        return await call_next(request)


class Adapter(SessionAdapter):
    async def open(self, base_url: str) -> None:
        import fasthttp
        from fasthttp import AsyncSession

        self._source = tree_digest(Path(fasthttp.__file__).parent)
        self._session = AsyncSession(base_url=base_url, middleware=[Pass(), Pass(), Pass()])
        await self._session.open()
