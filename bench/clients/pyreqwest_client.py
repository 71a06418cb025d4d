"""pyreqwest (Rust reqwest behind a Python async API), configured as its documentation shows.

``ClientBuilder().build()``; ``await client.get(url).build().send()``, ``await resp.json()``.
pyreqwest may crash at interpreter exit: the client is closed in ``close()``, inside the
measured process but outside the timed part (the driver times batches only).
"""

from __future__ import annotations

from typing import Any

from .base import Adapter as BaseAdapter
from .base import ClientSpec

_LABEL = "pyreqwest ClientBuilder().build() defaults; `await client.get(url).build().send()`, `await resp.json()`"

CLIENTS = (
    ClientSpec(name="pyreqwest", adapter=__name__.rpartition(".")[2], label=_LABEL, default=False),
    ClientSpec(
        name="pyreqwest-uvloop", adapter=__name__.rpartition(".")[2], label="same, on uvloop", loop="uvloop",
        default=False,
    ),
)


class Adapter(BaseAdapter):
    def __init__(self) -> None:
        self._client: Any = None

    async def open(self, base_url: str) -> None:
        from pyreqwest.client import ClientBuilder

        self._client = ClientBuilder().build()
        await self._client.__aenter__()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.__aexit__(None, None, None)

    async def get_json(self, url: str) -> Any:
        resp = await self._client.get(url).build().send()
        if resp.status != 200:
            raise RuntimeError(f"GET {url} returned {resp.status}")
        return await resp.json()

    async def get_bytes(self, url: str) -> bytes:
        resp = await self._client.get(url).build().send()
        if resp.status != 200:
            raise RuntimeError(f"GET {url} returned {resp.status}")
        return bytes(await resp.bytes())

    async def stream(self, url: str, chunk_size: int) -> int:
        total = 0
        async with self._client.get(url).build_streamed() as resp:
            if resp.status != 200:
                raise RuntimeError(f"GET {url} returned {resp.status}")
            while (chunk := await resp.body_reader.read(chunk_size)) is not None:
                total += len(chunk)
        return total

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"pyreqwest": version("pyreqwest")}
