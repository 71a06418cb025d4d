"""fasthttp's declarative ``FastHTTP`` app: N ``@app.get(path)`` routes sent by ``app.run()``.

Only for the ``app`` workload (issue 4). ``FastHTTP(base_url=..., concurrency=100)``, one
``async def handler(resp): return resp.json()`` per route (each route declared with its own
``name=``, as a generated app would), otherwise defaults. Logging goes to a file, as in a
real unattended run: the ``fasthttp`` logger gets a ``FileHandler`` before the first run,
so ``run()`` does not install its console handler; the per-route INFO lines are written.
``app.run()`` uses uvloop when it is installed (the bench environment has it), so
*fasthttp-app* is compared with *fasthttp-script-uvloop*; *fasthttp-app-asyncio* sets
``FASTHTTP_UVLOOP=0`` and is compared with *fasthttp-script* (asyncio's loop).
The client process gets ``FASTHTTP_ALLOW_HOSTS=127.0.0.1``, as ``fasthttp`` does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..snapshot import tree_digest
from .base import Adapter as BaseAdapter
from .base import AppRunner, ClientSpec

CLIENTS = (
    ClientSpec(
        name="fasthttp-app",
        adapter=__name__.rpartition(".")[2],
        label="FastHTTP(base_url=..., concurrency=100); N × @app.get(path, name=...) on "
        "`async def handler(resp): return resp.json()`; `app.run()`; `fasthttp` logger → FileHandler (INFO)",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
    ClientSpec(
        name="fasthttp-app-asyncio",
        adapter=__name__.rpartition(".")[2],
        label="same, with FASTHTTP_UVLOOP=0: `app.run()` on asyncio's own loop",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"), ("FASTHTTP_UVLOOP", "0")),
        default=False,
    ),
)


class Adapter(BaseAdapter):
    def __init__(self) -> None:
        self._handler: logging.Handler | None = None

    def prepare_app(self, base_url: str, path: str, routes: int, concurrency: int, log_file: str) -> AppRunner:
        from fasthttp import FastHTTP

        if self._handler is None:
            self._handler = logging.FileHandler(log_file)
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
            log = logging.getLogger("fasthttp")
            log.addHandler(self._handler)
            log.setLevel(logging.INFO)
        app = FastHTTP(base_url=base_url, concurrency=concurrency)

        async def handler(resp: Any) -> bool:
            if "slideshow" not in resp.json():
                raise RuntimeError(f"unexpected JSON document {resp.content!r:.80}")
            return True

        for i in range(routes):
            app.get(path, name=f"r{i}")(handler)

        def run() -> int:
            results = app.run()
            return sum(1 for value in results.values() if value is True)

        return run

    # The app opens and closes its own session in run(); there is nothing else to open.
    async def open(self, base_url: str) -> None:
        raise NotImplementedError("fasthttp-app runs only the app workload")

    async def close(self) -> None:
        return None

    async def get_json(self, url: str) -> Any:
        raise NotImplementedError

    async def get_bytes(self, url: str) -> bytes:
        raise NotImplementedError

    async def stream(self, url: str, chunk_size: int) -> int:
        raise NotImplementedError

    def unsupported(self, kind: str) -> str | None:
        return None if kind == "app" else "n/a (app workload only)"

    def versions(self) -> dict[str, str]:
        import fasthttp

        return {"fasthttp": fasthttp.__version__, "fasthttp source": tree_digest(Path(fasthttp.__file__).parent)}
