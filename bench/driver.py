"""One client process: ``python -m bench.driver --client NAME --workload W --base-url URL``.

It opens the client, runs an untimed warm-up, then the workload's timed batches, and
prints one JSON object on stdout (see ``ProcessResult``). ``bench.run`` starts one of
these per (round, workload, client) and aggregates what they print.

Measured per batch, in this process: wall time (``perf_counter``), this process's CPU
time (``process_time``: user + system, all threads) and, when ``--server-pid`` is given,
the server's CPU time from ``/proc/PID/stat``. At exit: peak RSS (``peak_rss_kib()``).

Standard library only at import time (the client's library is imported by its adapter),
so the same file runs from another venv under ``bench/.venvs/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from .clients import Adapter, ClientSpec, discover, load_adapter
from .snapshot import forget_repo_root
from .workloads import Workload, body_size_of, get

__all__ = ["Op", "main", "make_op", "new_loop", "peak_rss_kib", "run_batch", "run_in_loop", "server_cpu_seconds"]

REPO_ROOT = Path(__file__).resolve().parent.parent
VENVS_DIR = REPO_ROOT / "bench" / ".venvs"

Op = Callable[[str, "int | None"], Awaitable[None]]
T = TypeVar("T")

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB.

    ``/proc/self/status`` VmHWM where available: ``ru_maxrss`` is carried across
    ``execve`` on Linux, so a child started by a big parent reports at least the
    parent's size (measured: a 10 MiB child of a 320 MiB parent said 320 MiB).
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def make_op(adapter: Adapter, workload: Workload) -> Op:
    """One request of ``workload`` through ``adapter``; raises if the body is wrong."""
    if workload.kind in ("json", "app"):  # app: a client without a declarative app sends GETs
        get_json = adapter.get_json

        async def json_op(url: str, expected: int | None) -> None:
            data = await get_json(url)
            if "slideshow" not in data:
                raise RuntimeError(f"GET {url}: unexpected JSON document {data!r:.80}")

        return json_op
    if workload.kind == "bytes":
        get_bytes = adapter.get_bytes

        async def bytes_op(url: str, expected: int | None) -> None:
            body = await get_bytes(url)
            if len(body) != expected:
                raise RuntimeError(f"GET {url}: body of {len(body)} bytes, expected {expected}")

        return bytes_op
    stream, chunk_size = adapter.stream, workload.chunk_size

    async def stream_op(url: str, expected: int | None) -> None:
        size = await stream(url, chunk_size)
        if size != expected:
            raise RuntimeError(f"GET {url}: streamed {size} bytes, expected {expected}")

    return stream_op


async def run_batch(op: Op, url: str, expected: int | None, requests: int, concurrency: int) -> None:
    """``requests`` calls of ``op``: in a loop, or by ``concurrency`` workers sharing a counter."""
    if concurrency <= 1:
        for _ in range(requests):
            await op(url, expected)
        return
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await op(url, expected)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))


def new_loop(name: str) -> asyncio.AbstractEventLoop:
    """A new event loop of kind ``name`` (``asyncio`` or ``uvloop``)."""
    if name == "uvloop":
        uvloop = importlib.import_module("uvloop")  # only the uvloop variants need it installed
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


def run_in_loop(loop_name: str, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh loop of kind ``loop_name`` (like asyncio.run)."""
    loop = new_loop(loop_name)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def measure(adapter: Adapter, workload: Workload, base_url: str, server_pid: int | None) -> dict[str, Any]:
    """Warm up, then run the timed batches; the per-batch measurements."""
    reason = adapter.unsupported(workload.kind)
    if reason is not None:
        return {"unsupported": reason, "batches": []}
    await adapter.open(base_url)
    try:
        op = make_op(adapter, workload)
        url = adapter.target(base_url, workload.path)
        warm_path = workload.warmup_path or workload.path
        warm_url = adapter.target(base_url, warm_path)
        await run_batch(op, warm_url, body_size_of(warm_path), workload.warmup, workload.concurrency)
        batches = []
        for _ in range(workload.batches):
            server0 = server_cpu_seconds(server_pid)
            cpu0 = time.process_time()
            wall0 = time.perf_counter()
            await run_batch(op, url, workload.body_size, workload.requests, workload.concurrency)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            server1 = server_cpu_seconds(server_pid)
            server = None if server0 is None or server1 is None else server1 - server0
            batches.append({"requests": workload.requests, "wall": wall, "cpu": cpu, "server_cpu": server})
    finally:
        await adapter.close()
    return {"unsupported": None, "batches": batches}


def rss_kib() -> int | None:
    """This process's current resident set size in KiB (``VmRSS``), or None."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def measure_app(adapter: Adapter, workload: Workload, base_url: str, server_pid: int | None) -> dict[str, Any] | None:
    """An ``app`` workload through the adapter's declarative app: a warm-up run of
    ``warmup`` routes, then ``batches`` runs of ``requests`` routes, each a fresh app whose
    ``run()`` (its own event loop, blocking) is timed; building the app is timed apart
    (``prepare``). None when the adapter has no declarative app. Its log goes to a file."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        log_file = str(Path(tmp) / "run.log")
        warm = adapter.prepare_app(base_url, workload.path, workload.warmup, workload.concurrency, log_file)
        if warm is None:
            return None
        warm_ok = warm()
        if warm_ok != workload.warmup:
            raise RuntimeError(f"warm-up: {warm_ok} of {workload.warmup} routes succeeded (log: {log_file})")
        del warm
        batches = []
        rss_before = rss_kib()
        for _ in range(workload.batches):
            prep0 = time.perf_counter()
            runner = adapter.prepare_app(base_url, workload.path, workload.requests, workload.concurrency, log_file)
            assert runner is not None
            prepare = time.perf_counter() - prep0
            server0 = server_cpu_seconds(server_pid)
            cpu0 = time.process_time()
            wall0 = time.perf_counter()
            ok = runner()
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            server1 = server_cpu_seconds(server_pid)
            del runner
            if ok != workload.requests:
                raise RuntimeError(f"{ok} of {workload.requests} routes succeeded (log: {log_file})")
            server = None if server0 is None or server1 is None else server1 - server0
            batches.append(
                {"requests": workload.requests, "wall": wall, "cpu": cpu, "server_cpu": server, "prepare": prepare}
            )
        log_bytes = Path(log_file).stat().st_size if Path(log_file).exists() else 0
    return {
        "unsupported": None,
        "batches": batches,
        "mode": "app.run()",
        "rss_before_kib": rss_before,
        "log_bytes": log_bytes,
    }


def _check_venv(spec: ClientSpec) -> None:
    """A client with its own venv runs from that venv's interpreter and no other."""
    venv = (VENVS_DIR / str(spec.venv)).resolve()
    if Path(sys.prefix).resolve() != venv:
        raise SystemExit(f"client {spec.name!r} must run from {venv}/bin/python, not {sys.executable}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.driver", description=__doc__)
    parser.add_argument("--client", required=True, help="a client name from bench.clients")
    parser.add_argument("--workload", required=True, help="a workload name from bench.workloads")
    parser.add_argument("--base-url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--server-pid", type=int, help="the server process, for its CPU time")
    parser.add_argument("--quick", action="store_true", help="the small smoke-test variant")
    args = parser.parse_args(argv)

    specs = discover()
    if args.client not in specs:
        parser.error(f"unknown client {args.client!r}; choose from {', '.join(specs)}")
    spec = specs[args.client]
    if spec.venv is not None:
        _check_venv(spec)
    # Every bench module this process needs is imported: from here on, ``import fasthttp``
    # must not find the live tree through the repo root (``-m`` put it first on sys.path).
    # It finds the run's snapshot (PYTHONPATH), the editable install, or a venv's own package.
    forget_repo_root()
    workload = get(args.workload, quick=args.quick)
    result: dict[str, Any] = {
        "client": spec.name,
        "workload": workload.name,
        "loop": spec.loop,
        "python": platform.python_version(),
    }
    adapter = load_adapter(spec)
    try:
        app = None
        reason = adapter.unsupported(workload.kind)
        if workload.kind == "app" and reason is None:
            app = measure_app(adapter, workload, args.base_url, args.server_pid)
        if app is not None:
            result.update(app)
        else:
            result.update(run_in_loop(spec.loop, measure(adapter, workload, args.base_url, args.server_pid)))
        result["versions"] = adapter.versions()
    except Exception as exc:
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["peak_rss_kib"] = peak_rss_kib()
    result["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
