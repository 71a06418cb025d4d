"""Raw aiohttp, configured as its documentation shows: ``aiohttp.ClientSession()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Adapter as BaseAdapter
from .base import ClientSpec

if TYPE_CHECKING:
    import aiohttp

CLIENTS = (
    ClientSpec(
        name="aiohttp",
        adapter=__name__.rpartition(".")[2],
        label="aiohttp.ClientSession() defaults; `async with session.get(url) as r`, orjson.loads(await r.read())",
    ),
)


class Adapter(BaseAdapter):
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def open(self, base_url: str) -> None:
        import aiohttp
        import orjson

        self._loads = orjson.loads
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "open() first"
        return self._session

    async def get_json(self, url: str) -> Any:
        async with self.session.get(url) as r:
            if r.status != 200:
                raise RuntimeError(f"GET {url} returned {r.status}")
            return self._loads(await r.read())

    async def get_bytes(self, url: str) -> bytes:
        async with self.session.get(url) as r:
            if r.status != 200:
                raise RuntimeError(f"GET {url} returned {r.status}")
            return await r.read()

    async def stream(self, url: str, chunk_size: int) -> int:
        total = 0
        async with self.session.get(url) as r:
            if r.status != 200:
                raise RuntimeError(f"GET {url} returned {r.status}")
            async for chunk in r.content.iter_chunked(chunk_size):
                total += len(chunk)
        return total

    def versions(self) -> dict[str, str]:
        import aiohttp
        import orjson

        return {"aiohttp": aiohttp.__version__, "orjson": orjson.__version__}
