"""The imperative twin of the declarative app: a script that sends the app's requests itself.

Only for the ``app`` workload (issue 4). Each timed batch is what a user writes instead of
a ``FastHTTP`` app, and what ``app.run()`` does inside: a fresh event loop, ``async with
AsyncSession(base_url=...)``, N GETs by ``concurrency`` workers under ``asyncio.gather``,
each ``resp.json()`` checked, the session closed. So both sides open their own
connections and loop; the warm ``fasthttp`` session client (pool already connected by its
warm-up) is reported next to them. The client process gets ``FASTHTTP_ALLOW_HOSTS=127.0.0.1``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .base import AppRunner, ClientSpec
from .fasthttp_session import Adapter as SessionAdapter

CLIENTS = (
    ClientSpec(
        name="fasthttp-script",
        adapter=__name__.rpartition(".")[2],
        label="per batch: `asyncio.run()` of `async with AsyncSession(base_url=...)` + N `session.get(path)` "
        "by 100 workers (`asyncio.gather`), resp.json(): the same work as `app.run()`",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
    ClientSpec(
        name="fasthttp-script-uvloop",
        adapter=__name__.rpartition(".")[2],
        label="same, on uvloop (as `app.run()` when uvloop is installed)",
        loop="uvloop",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
)


def _loop_factory(loop_name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop_name != "uvloop":
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class Adapter(SessionAdapter):
    def prepare_app(self, base_url: str, path: str, routes: int, concurrency: int, log_file: str) -> AppRunner:
        from fasthttp import AsyncSession

        factory = _loop_factory(self.loop_name)

        async def script() -> int:
            succeeded = 0
            async with AsyncSession(base_url=base_url) as session:
                remaining = routes

                async def worker() -> None:
                    nonlocal remaining, succeeded
                    while remaining > 0:
                        remaining -= 1
                        resp = await session.get(path)
                        data: Any = resp.json() if resp is not None else None
                        if data is None or "slideshow" not in data:
                            raise RuntimeError(f"GET {path}: unexpected response {resp!r}")
                        succeeded += 1

                await asyncio.gather(*(worker() for _ in range(min(concurrency, routes))))
            return succeeded

        def run() -> int:
            with asyncio.Runner(loop_factory=factory) as runner:
                return runner.run(script())

        return run

    def unsupported(self, kind: str) -> str | None:
        return None if kind == "app" else "n/a (app workload only)"
