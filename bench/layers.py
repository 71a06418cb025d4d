"""Where fasthttp's extra CPU per request goes: ``python -m bench.layers --workload conc``.

A diagnostic, not part of ``bench.run``. All variants run in ONE process, each on its
own session, in paired batches whose order rotates each round, as the knob A/B in
``shared/perf/LIMIT.md``. That cancels most of the noise that other work on the machine
adds between processes. Each variant's "extra" is the median over rounds of its CPU
µs/request minus raw aiohttp's in the same round:

- raw aiohttp: the documented defaults, like the ``aiohttp`` client of ``bench.run``;
- aiohttp called exactly as fasthttp's transport calls it: its session configuration and
  ``request()`` arguments, with and without the per-request ``ClientTimeout(total=30)``;
- fasthttp's transport alone (``transport.handle()`` on a prebuilt Request);
- the whole ``AsyncSession.get()``, with the default timeout and with ``timeout=None``.

Reaches into ``AsyncSession._transport`` on purpose, to time the layers separately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .server import serve
from .snapshot import forget_repo_root
from .workloads import Workload, get

Op = Callable[[], Awaitable[None]]


async def _batch(op: Op, requests: int, concurrency: int) -> float:
    """CPU µs per request for one batch."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await op()

    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    return (time.process_time() - cpu0) / requests * 1e6


async def _variants(base_url: str, workload: Workload, closers: list[Callable[[], Awaitable[None]]]) -> dict[str, Op]:
    import aiohttp
    import orjson
    from yarl import URL

    from fasthttp import AsyncSession, Headers

    url = base_url + workload.path
    size = workload.body_size
    is_json = size is None

    def check(body: bytes) -> None:
        if is_json:
            orjson.loads(body)
        elif len(body) != size:
            raise RuntimeError(f"body of {len(body)} bytes, expected {size}")

    raw = aiohttp.ClientSession()
    like_fasthttp = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, limit_per_host=0, keepalive_timeout=15, enable_cleanup_closed=False),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )
    defaults = AsyncSession(base_url=base_url)
    no_timeout = AsyncSession(base_url=base_url, timeout=None)
    for session in (defaults, no_timeout):
        await session.open()
    closers += [raw.close, like_fasthttp.close, defaults.close, no_timeout.close]
    headers = Headers({"User-Agent": "fasthttp/0.1.0"})
    target = URL(url)
    timeout30 = aiohttp.ClientTimeout(total=30)
    transport: Any = getattr(defaults, "_transport")  # noqa: B009 - the layer under test
    request = defaults.build_request("GET", workload.path)

    async def raw_op() -> None:
        async with raw.get(url) as r:
            check(await r.read())

    def as_fasthttp_calls(timeout: aiohttp.ClientTimeout | None) -> Op:
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}

        async def op() -> None:
            r = await like_fasthttp.request(
                "GET", target, headers=headers, data=None, allow_redirects=False, proxy=None,
                auto_decompress=False, **extra,
            )  # fmt: skip
            try:
                check(await r.read())
            finally:
                r.release()

        return op

    async def transport_op() -> None:
        check((await transport.handle(request)).content)

    def session_op(session: AsyncSession) -> Op:
        async def op() -> None:
            resp = await session.get(workload.path)
            if resp is None:
                raise RuntimeError(f"GET {workload.path} failed")
            check(resp.content)

        return op

    return {
        "raw aiohttp (defaults)": raw_op,
        "aiohttp as fasthttp calls it (timeout 30 s)": as_fasthttp_calls(timeout30),
        "aiohttp as fasthttp calls it (no timeout)": as_fasthttp_calls(None),
        "fasthttp transport.handle()": transport_op,
        "fasthttp session.get() (defaults)": session_op(defaults),
        "fasthttp session.get() (timeout=None)": session_op(no_timeout),
    }


async def measure(base_url: str, workload: Workload, rounds: int) -> dict[str, list[float]]:
    """CPU µs/request of every variant, per round."""
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        ops = await _variants(base_url, workload, closers)
        for op in ops.values():  # warm-up
            await _batch(op, workload.warmup, workload.concurrency)
        results: dict[str, list[float]] = {name: [] for name in ops}
        names = list(ops)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].append(await _batch(ops[name], workload.requests, workload.concurrency))
        return results
    finally:
        for close in closers:
            await close()


def render(results: dict[str, list[float]]) -> str:
    base = next(iter(results.values()))
    lines = [f"{'variant':<46} {'CPU µs/req':>10} {'paired extra vs raw aiohttp':>28}"]
    for name, values in results.items():
        extra = statistics.median(v - b for v, b in zip(values, base, strict=True))
        lines.append(f"{name:<46} {statistics.median(values):>10.1f} {extra:>+28.1f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("conc", "big"), default="conc")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--server", choices=("auto", "nginx", "embedded"), default="auto")
    args = parser.parse_args(argv)
    os.environ.setdefault("FASTHTTP_ALLOW_HOSTS", "127.0.0.1")
    forget_repo_root()
    workload = get(args.workload)
    with serve(args.server) as server:
        results = asyncio.run(measure(server.base_url, workload, args.rounds))
    size = f"{workload.requests} requests at concurrency {workload.concurrency}"
    print(f"{workload.name}: {args.rounds} rounds of {size}")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
