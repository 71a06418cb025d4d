"""fasthttp's ``AsyncSession`` on its own HTTP/1.1 transport (``HTTP11Transport``: asyncio + httptools).

Until the session can select it by name, the adapter hands the session a transport built with
the options ``AsyncSession._build_transport`` uses for its defaults (the session's limits,
security config and the shared default SSL context), so only the transport differs from the
``fasthttp`` client. The client process gets ``FASTHTTP_ALLOW_HOSTS=127.0.0.1``, as ``fasthttp`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ClientSpec
from .fasthttp_session import Adapter as SessionAdapter

if TYPE_CHECKING:
    from fasthttp.transport.http11 import HTTP11Transport

_LABEL = (
    "AsyncSession(base_url=..., transport=HTTP11Transport(<the session's default options>)); "
    "`await session.get(path)`, resp.json() (orjson) / resp.content; `session.stream()` + aiter_bytes(65536)"
)

CLIENTS = (
    ClientSpec(
        name="fasthttp-http11",
        adapter=__name__.rpartition(".")[2],
        label=_LABEL,
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
    ),
    ClientSpec(
        name="fasthttp-http11-uvloop",
        adapter=__name__.rpartition(".")[2],
        label="same, on uvloop",
        loop="uvloop",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
)


class Adapter(SessionAdapter):
    _transport: HTTP11Transport | None = None

    async def open(self, base_url: str) -> None:
        from fasthttp import AsyncSession
        from fasthttp.tls import build_ssl_context
        from fasthttp.transport.base import TransportOptions
        from fasthttp.transport.http11 import HTTP11Transport

        defaults = AsyncSession()  # never opened: only its default settings are read
        self._transport = HTTP11Transport(
            TransportOptions(
                limits=defaults.limits,
                ssl_context=build_ssl_context(defaults.verify, defaults.cert),
                security=defaults.security,
                default_encoding=defaults.default_encoding,
            )
        )
        self._session = AsyncSession(base_url=base_url, transport=self._transport)
        await self._session.open()

    async def close(self) -> None:
        await super().close()
        if self._transport is not None:
            await self._transport.aclose()  # a transport given to a session is closed by its owner

    def versions(self) -> dict[str, str]:
        import httptools
        import orjson

        import fasthttp

        return {"fasthttp": fasthttp.__version__, "httptools": httptools.__version__, "orjson": orjson.__version__}
