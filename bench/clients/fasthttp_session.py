"""fasthttp's ``AsyncSession`` with its defaults; only ``base_url`` points at the server.

The client process gets ``FASTHTTP_ALLOW_HOSTS=127.0.0.1`` (the SSRF allowlist opt-out
for the local server); nothing else is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..snapshot import tree_digest
from .base import Adapter as BaseAdapter
from .base import ClientSpec

if TYPE_CHECKING:
    from fasthttp import AsyncSession, Response

CLIENTS = (
    ClientSpec(
        name="fasthttp",
        adapter=__name__.rpartition(".")[2],
        label="AsyncSession(base_url=...) defaults; `await session.get(path)`, resp.json() "
        "(orjson) / resp.content; `session.stream()` + aiter_bytes(65536)",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
    ),
    ClientSpec(
        name="fasthttp-uvloop",
        adapter=__name__.rpartition(".")[2],
        label="same, on uvloop",
        loop="uvloop",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
)


class Adapter(BaseAdapter):
    transport: str | None = None  # a transport name for AsyncSession(transport=...); None: the default

    def __init__(self) -> None:
        self._session: AsyncSession | None = None
        self._source = ""

    async def open(self, base_url: str) -> None:
        import fasthttp
        from fasthttp import AsyncSession

        # Which code this process runs (bench.run measures a snapshot of fasthttp/).
        self._source = tree_digest(Path(fasthttp.__file__).parent)
        self._session = AsyncSession(base_url=base_url, transport=self.transport)
        await self._session.open()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def target(self, base_url: str, path: str) -> str:
        return path  # relative to base_url, as users of base_url write it

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "open() first"
        return self._session

    async def _get(self, url: str) -> Response:
        resp = await self.session.get(url)
        if resp is None:  # the verbs return None on an error or a 4xx/5xx status
            raise RuntimeError(f"GET {url} failed (see the ERROR log line above)")
        return resp

    async def get_json(self, url: str) -> Any:
        return (await self._get(url)).json()

    async def get_bytes(self, url: str) -> bytes:
        return (await self._get(url)).content

    async def stream(self, url: str, chunk_size: int) -> int:
        total = 0
        stream: Any = self.session.stream  # typed loosely: the API is still being built
        async with stream("GET", url) as r:
            if r.status_code != 200:
                raise RuntimeError(f"GET {url} returned {r.status_code}")
            async for chunk in r.aiter_bytes(chunk_size):
                total += len(chunk)
        return total

    def unsupported(self, kind: str) -> str | None:
        from fasthttp import AsyncSession

        if kind == "stream" and not hasattr(AsyncSession, "stream"):
            return "n/a (not built)"
        return None

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        import orjson

        import fasthttp

        kind = self._session.transport_kind if self._session is not None else "http11"
        engine = "aiohttp" if kind == "aiohttp" else "httptools"
        return {
            "fasthttp": fasthttp.__version__,
            "fasthttp source": self._source or tree_digest(Path(fasthttp.__file__).parent),
            f"fasthttp transport {kind} ({engine})": version(engine),
            "orjson": orjson.__version__,
        }
