"""What a middleware chain costs (issue 5): ``python -m bench.middleware --rounds 10``.

A diagnostic like ``bench.layers``: in ONE process, workload ``conc`` (5000 GETs of the
small JSON document, 100 worker tasks) through ``AsyncSession(base_url=...)`` and through
``AsyncSession(base_url=..., middleware=[Pass(), Pass(), Pass()])`` (pass-through
``async def __call__(self, request, call_next)``), in paired batches whose order alternates.
Prints each variant's median CPU µs/request and wall req/s, and the chain's paired cost: the
median over rounds of (with / without - 1), for CPU per request and for wall time.
Target: under 5 %.
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

from .clients.fasthttp_middleware import Pass
from .server import serve
from .snapshot import forget_repo_root
from .workloads import get

Op = Callable[[], Awaitable[None]]


async def _batch(op: Op, requests: int, concurrency: int) -> tuple[float, float]:
    """(CPU µs per request, wall seconds) of one batch."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await op()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    return (time.process_time() - cpu0) / requests * 1e6, time.perf_counter() - wall0


async def measure(base_url: str, rounds: int, requests: int) -> dict[str, list[tuple[float, float]]]:
    from fasthttp import AsyncSession

    workload = get("conc")
    sessions = {
        "AsyncSession()": AsyncSession(base_url=base_url),
        "AsyncSession(middleware=[Pass()] * 3)": AsyncSession(base_url=base_url, middleware=[Pass(), Pass(), Pass()]),
    }

    def op_for(session: Any) -> Op:
        async def op() -> None:
            resp = await session.get(workload.path)
            if resp is None or "slideshow" not in resp.json():
                raise RuntimeError(f"GET {workload.path} failed")

        return op

    try:
        for s in sessions.values():
            await s.open()
        ops = {name: op_for(s) for name, s in sessions.items()}
        for op in ops.values():
            await _batch(op, workload.warmup, workload.concurrency)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ops}
        names = list(ops)
        for round_ in range(rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                results[name].append(await _batch(ops[name], requests, workload.concurrency))
        return results
    finally:
        for s in sessions.values():
            await s.close()


def render(results: dict[str, list[tuple[float, float]]], requests: int) -> str:
    (base_name, base), (mw_name, mw) = results.items()
    lines = [f"{'variant':<40} {'CPU µs/req':>10} {'req/s':>9}"]
    for name, values in results.items():
        cpu = statistics.median(c for c, _ in values)
        rate = statistics.median(requests / w for _, w in values)
        lines.append(f"{name:<40} {cpu:>10.1f} {rate:>9,.0f}")
    cpu_cost = statistics.median(m[0] / b[0] - 1 for m, b in zip(mw, base, strict=True))
    wall_cost = statistics.median(m[1] / b[1] - 1 for m, b in zip(mw, base, strict=True))
    extra = statistics.median(m[0] - b[0] for m, b in zip(mw, base, strict=True))
    lines.append(
        f"paired cost of the chain ({mw_name} vs {base_name}): CPU/req {cpu_cost:+.1%} ({extra:+.1f} µs), "
        f"wall {wall_cost:+.1%}; target < 5 %: {'met' if max(cpu_cost, wall_cost) < 0.05 else 'missed'}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.middleware", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=get("conc").requests, help="per batch (default 5000)")
    parser.add_argument("--server", choices=("auto", "nginx", "embedded"), default="auto")
    args = parser.parse_args(argv)
    os.environ.setdefault("FASTHTTP_ALLOW_HOSTS", "127.0.0.1")
    forget_repo_root()
    with serve(args.server) as server:
        results = asyncio.run(measure(server.base_url, args.rounds, args.requests))
    print(f"conc: {args.rounds} paired rounds of {args.requests} requests at concurrency 100, one process")
    print(render(results, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
