"""httpx's ``AsyncClient`` with ``limits=httpx.Limits(max_connections=100)``.

JSON is parsed with ``resp.json()`` (the stdlib json module), as httpx users do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Adapter as BaseAdapter
from .base import ClientSpec

if TYPE_CHECKING:
    import httpx

CLIENTS = (
    ClientSpec(
        name="httpx",
        adapter=__name__.rpartition(".")[2],
        label="httpx.AsyncClient(limits=httpx.Limits(max_connections=100)); "
        "r.raise_for_status(); r.json() (stdlib json)",
    ),
)


class Adapter(BaseAdapter):
    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def open(self, base_url: str) -> None:
        import httpx

        self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "open() first"
        return self._client

    async def get_json(self, url: str) -> Any:
        r = await self.client.get(url)
        r.raise_for_status()
        return r.json()

    async def get_bytes(self, url: str) -> bytes:
        r = await self.client.get(url)
        r.raise_for_status()
        return r.content

    async def stream(self, url: str, chunk_size: int) -> int:
        total = 0
        async with self.client.stream("GET", url) as r:
            r.raise_for_status()
            async for chunk in r.aiter_bytes(chunk_size):
                total += len(chunk)
        return total

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {name: version(name) for name in ("httpx", "httpcore", "h11")}
