"""PyPI's ``fasthttp-client`` (an older, unrelated project that is also imported as ``fasthttp``).

Only for the ``app`` workload: its own declarative ``FastHTTP`` app and ``app.run()`` (httpx
underneath). It runs from its own venv, ``bench/.venvs/fasthttp-client`` (never ours: it would
replace our editable install), started with the working directory outside the repository and no
``PYTHONPATH``; ``prepare_app`` refuses to run if ``fasthttp`` resolves anywhere but that venv.

Configuration: ``FastHTTP(base_url=..., concurrency=100, security=False)``, N ×
``@app.get(path)`` on ``async def handler(resp) -> bool`` (``resp.json()``). ``security=False``
is required: its SSRF guard rejects 127.0.0.1 and has no allowlist, so with its defaults every
route fails before any request. Its logger writes to ``sys.stdout`` (captured when the app is
built), so the app is built, and run, with ``sys.stdout`` redirected to the log file.
``run()`` returns None: successes are counted by the handler.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import IO, Any

from .base import Adapter as BaseAdapter
from .base import AppRunner, ClientSpec

VENV = "fasthttp-client"

CLIENTS = (
    ClientSpec(
        name="fasthttp-client",
        adapter=__name__.rpartition(".")[2],
        label="PyPI fasthttp-client: FastHTTP(base_url=..., concurrency=100, security=False) (its SSRF guard "
        "blocks 127.0.0.1); N × @app.get(path) on `async def handler(resp) -> bool` (resp.json()); "
        "`app.run()`; its stdout logger → a file",
        venv=VENV,
        default=False,
    ),
)


class Adapter(BaseAdapter):
    def __init__(self) -> None:
        self._log: IO[str] | None = None

    def prepare_app(self, base_url: str, path: str, routes: int, concurrency: int, log_file: str) -> AppRunner:
        import fasthttp

        where = Path(fasthttp.__file__).resolve()
        if Path(sys.prefix).resolve() not in where.parents or "site-packages" not in where.parts:
            raise RuntimeError(f"`fasthttp` resolved to {where}, not to fasthttp-client in {sys.prefix}")
        from fasthttp import FastHTTP
        from fasthttp.response import Response

        if self._log is None:
            self._log = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 - open for the process
        log = self._log
        done = [0]
        with contextlib.redirect_stdout(log):
            app = FastHTTP(base_url=base_url, concurrency=concurrency, security=False)

        async def handler(resp: Response) -> bool:
            if "slideshow" not in resp.json():
                raise RuntimeError(f"unexpected JSON document {resp.text!r:.80}")
            done[0] += 1
            return True

        for _ in range(routes):
            app.get(path)(handler)

        def run() -> int:
            with contextlib.redirect_stdout(log):
                app.run()
            log.flush()
            return done[0]

        return run

    async def open(self, base_url: str) -> None:
        raise NotImplementedError("fasthttp-client runs only the app workload")

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
        from importlib.metadata import version

        return {name: version(name) for name in ("fasthttp-client", "httpx", "httpcore")}
