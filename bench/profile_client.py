"""Where a client's time goes: ``python -m bench.profile_client --client fasthttp --workload conc``.

Starts the server like ``bench.run``, warms the client up in this process, then runs one
timed batch under ``cProfile`` and prints: Python calls per request, self time grouped
by package (fasthttp, aiohttp, asyncio, ...), and the top functions by self and by
cumulative time. ``--against aiohttp`` also profiles that client and lists the functions
whose calls per request differ: what the first client does on top of the second.
cProfile inflates call-heavy code; use the grouping and the call counts to compare
clients, not the absolute times. To profile the code a run measured, put its snapshot
first: ``PYTHONPATH=bench/out/snapshots/DIGEST python -m bench.profile_client ...``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .clients import discover, load_adapter
from .driver import make_op, run_batch, run_in_loop
from .server import serve
from .snapshot import forget_repo_root
from .workloads import WORKLOADS, Workload, body_size_of, get

_GROUPS = (
    ("/fasthttp/", "fasthttp"),
    ("/aiohttp/", "aiohttp"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpcore"),
    ("/h11/", "h11"),
    ("/anyio/", "anyio"),
    ("/yarl/", "yarl"),
    ("/multidict/", "multidict"),
    ("/asyncio/", "asyncio (Python)"),
    ("selectors.py", "selectors"),
    ("/bench/", "bench harness"),
)


def _group(filename: str, name: str) -> str:
    for needle, group in _GROUPS:
        if needle in filename:
            return group
    if filename == "~":  # a C function: name is like "<method 'send' of '_socket.socket' objects>"
        return f"C: {name}" if any(k in name for k in ("send", "recv", "poll", "select")) else "C: other builtins"
    return "other Python"


def _raw(stats: pstats.Stats) -> dict[tuple[str, int, str], Any]:
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    return raw


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for marker in ("site-packages/", "/lib/python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker != "site-packages/":
                filename = filename.split("/", 1)[-1]
    filename = filename.replace(str(Path(__file__).resolve().parent.parent) + "/", "")
    return name if filename == "~" else f"{filename}:{line}({name})"


def call_diff(ours: pstats.Stats, theirs: pstats.Stats, requests: int, limit: int) -> str:
    """Functions whose calls per request differ by at least 0.5, biggest difference first."""
    a, b = _raw(ours), _raw(theirs)
    rows = []
    for key in a.keys() | b.keys():
        calls_a = a[key][1] / requests if key in a else 0.0
        calls_b = b[key][1] / requests if key in b else 0.0
        if abs(calls_a - calls_b) >= 0.5:
            self_us = a[key][2] / requests * 1e6 if key in a else 0.0
            rows.append((calls_a - calls_b, calls_a, calls_b, self_us, _where(key)))
    rows.sort(key=lambda r: (-abs(r[0]), r[4]))
    out = [f"{'Δ calls/req':>11} {'ours':>6} {'theirs':>6} {'our self µs/req':>15}  function"]
    out += [f"{d:>+11.2f} {x:>6.2f} {y:>6.2f} {us:>15.2f}  {where}" for d, x, y, us, where in rows[:limit]]
    total_a = sum(v[1] for v in a.values()) / requests
    total_b = sum(v[1] for v in b.values()) / requests
    out.append(f"total Python-level calls per request: ours {total_a:.0f}, theirs {total_b:.0f}")
    return "\n".join(out) + "\n"


def summarize(profile: cProfile.Profile, requests: int, top: int) -> str:
    """Calls per request, self time by group, top functions."""
    stats = pstats.Stats(profile)
    raw = _raw(stats)
    total_calls = sum(v[1] for v in raw.values())  # primitive + recursive calls
    total_time = sum(v[2] for v in raw.values())
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_group[_group(filename, name)] += tottime
    out = io.StringIO()
    out.write(f"{requests} requests, {total_calls / requests:.0f} Python-level calls per request, ")
    out.write(f"{total_time / requests * 1e6:.1f} µs profiled self time per request\n\n")
    out.write("self time by group:\n")
    for group, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        out.write(f"  {100 * seconds / total_time:5.1f} %  {seconds / requests * 1e6:7.2f} µs/req  {group}\n")
    for key in ("tottime", "cumulative"):
        out.write(f"\ntop {top} by {key}:\n")
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(key).print_stats(top)
    return out.getvalue()


async def _profiled(client: str, workload: Workload, base_url: str) -> tuple[cProfile.Profile, float, dict[str, str]]:
    adapter = load_adapter(discover()[client])
    await adapter.open(base_url)
    try:
        op = make_op(adapter, workload)
        warm_path = workload.warmup_path or workload.path
        warm = adapter.target(base_url, warm_path)
        await run_batch(op, warm, body_size_of(warm_path), workload.warmup, workload.concurrency)
        url = adapter.target(base_url, workload.path)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        await run_batch(op, url, workload.body_size, workload.requests, workload.concurrency)
        profile.disable()
        wall = time.perf_counter() - started
    finally:
        await adapter.close()
    return profile, wall, adapter.versions()


def _report(client: str, workload: Workload, result: tuple[cProfile.Profile, float, dict[str, str]], top: int) -> str:
    profile, wall, versions = result
    rate = workload.rate(workload.requests, wall)
    shown = ", ".join(f"{k} {v}" for k, v in versions.items())
    head = f"{client} / {workload.name} ({shown}): {rate:,.1f} {workload.unit} under cProfile\n"
    return head + summarize(profile, workload.requests, top)


def main(argv: Sequence[str] | None = None) -> int:
    specs = discover()
    parser = argparse.ArgumentParser(prog="python -m bench.profile_client", description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", default="fasthttp", choices=list(specs))
    parser.add_argument("--workload", default="conc", choices=list(WORKLOADS))
    parser.add_argument("--server", choices=("auto", "nginx", "embedded"), default="auto")
    parser.add_argument("--top", type=int, default=25, help="functions listed per table")
    parser.add_argument("--against", choices=list(specs), help="also profile this client and diff the calls")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    names = [args.client] + ([args.against] if args.against else [])
    for name in names:
        spec = specs[name]
        if spec.venv is not None:
            parser.error(f"{spec.name} runs from its own venv; profile it with that venv's python")
        os.environ.update(dict(spec.env))
    workload = get(args.workload)
    # Like bench.driver: not the live tree via the repo root on sys.path; PYTHONPATH (a run's
    # snapshot, bench/out/snapshots/DIGEST) or else the editable install decides.
    forget_repo_root()
    profiles: list[tuple[cProfile.Profile, float, dict[str, str]]] = []
    with serve(args.server) as server:
        for name in names:
            profiles.append(run_in_loop(specs[name].loop, _profiled(name, workload, server.base_url)))
    report = "\n".join(_report(n, workload, r, args.top) for n, r in zip(names, profiles, strict=True))
    if args.against:
        report += f"\n{args.client} (ours) against {args.against} (theirs), per request:\n"
        report += call_diff(pstats.Stats(profiles[0][0]), pstats.Stats(profiles[1][0]), workload.requests, 60)
    print(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
