"""Run the benchmark: ``python -m bench.run`` (``make bench``), see ``bench/README.md``.

Starts one server, then for every round, every workload and every client (order
rotated by one each round) runs ``python -m bench.driver`` in a fresh process and
collects the JSON it prints. Then times the imports, checks the issue's targets and
writes ``bench/RESULTS.md`` (``--quick``: ``bench/out/RESULTS-quick.md``), plus the raw
per-process JSON under ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .clients import ClientSpec, discover
from .importtime import ImportTime, measure_imports
from .report import RunInfo, render
from .server import Server, serve, wrk_ceiling
from .snapshot import snapshot_package
from .stats import ProcessRun, aggregate
from .targets import check_app_targets, check_targets
from .workloads import DEFAULT_WORKLOADS, WORKLOADS, Workload, get

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "bench" / "out"
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
RESULTS_APP = REPO_ROOT / "bench" / "RESULTS-app.md"
# ``--suite app``: the declarative app (issue 4), PyPI's fasthttp-client and the middleware cost (issue 5)
APP_SUITE_WORKLOADS = ("app", "conc")
APP_SUITE_CLIENTS = (
    "fasthttp", "fasthttp-uvloop", "fasthttp-script", "fasthttp-script-uvloop", "fasthttp-app",
    "fasthttp-app-asyncio", "fasthttp-client", "fasthttp-mw3",
)
_CLIENT_TIMEOUT = 900.0
SOURCE_KEY = "fasthttp source"  # reported by the fasthttp adapter: a digest of the code it imported


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None, specs: dict[str, ClientSpec]) -> argparse.Namespace:
    defaults = [s.name for s in specs.values() if s.default]
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--workloads",
        type=_csv,
        default=None,
        help=f"comma-separated, from {','.join(WORKLOADS)} (default: {','.join(DEFAULT_WORKLOADS)})",
    )
    parser.add_argument(
        "--clients",
        type=_csv,
        default=None,
        help=f"comma-separated, from {','.join(specs)} (default: {','.join(defaults)})",
    )
    parser.add_argument(
        "--suite",
        choices=("main", "app"),
        default="main",
        help=f"app: workloads {','.join(APP_SUITE_WORKLOADS)} with clients {','.join(APP_SUITE_CLIENTS)}, "
        "no import times, report bench/RESULTS-app.md (--workloads/--clients still override)",
    )
    parser.add_argument(
        "--server", choices=("auto", "nginx", "embedded"), default="auto", help="auto: nginx when installed"
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke test: 1 round, 1/10 of the requests")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh interpreters per import (0: skip)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the wrk ceiling measurement")
    parser.add_argument(
        "--live", action="store_true", help="measure fasthttp/ as it is in each process, not a snapshot taken at start"
    )
    parser.add_argument("--output", type=Path, help="the Markdown report (default bench/RESULTS.md)")
    args = parser.parse_args(argv)
    app_suite = args.suite == "app"
    if args.workloads is None:
        args.workloads = list(APP_SUITE_WORKLOADS if app_suite else DEFAULT_WORKLOADS)
    if args.clients is None:
        args.clients = list(APP_SUITE_CLIENTS if app_suite else defaults)
    if app_suite and "--import-runs" not in (argv if argv is not None else sys.argv[1:]):
        args.import_runs = 0
    for name in args.clients:
        if name not in specs:
            parser.error(f"unknown client {name!r}; choose from {', '.join(specs)}")
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    if args.quick:
        args.rounds = 1 if args.rounds == 5 else args.rounds
        args.import_runs = min(args.import_runs, 3)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def base_env(snapshot: Path | None) -> dict[str, str]:
    """The environment of a child: bytecode cached under bench/out (never in the tree), and
    the fasthttp snapshot, if any, first on PYTHONPATH."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT_DIR / "pycache")
    if snapshot is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(snapshot), env.get("PYTHONPATH")]))
    return env


def client_python(spec: ClientSpec) -> str:
    """The interpreter for ``spec``: ours, or its own venv's (never installed into ours)."""
    if spec.venv is None:
        return sys.executable
    python = REPO_ROOT / "bench" / ".venvs" / spec.venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"client {spec.name!r} needs its venv: {python} does not exist (see bench/README.md)")
    return str(python)


_VENV_BOOTSTRAP = (
    "import runpy, sys; sys.argv[0] = 'bench.driver'; sys.path.insert(0, {root!r}); "
    "runpy.run_module('bench.driver', run_name='__main__', alter_sys=True)"
)


def run_client(
    spec: ClientSpec, workload: Workload, server: Server, quick: bool, snapshot: Path | None
) -> dict[str, Any]:
    """One client process; the JSON it printed (with ``error`` set if it failed)."""
    cmd = [
        *("-m", "bench.driver", "--client", spec.name, "--workload", workload.name),
        *("--base-url", server.base_url, "--server-pid", str(server.pid)),
        *(["--quick"] if quick else []),
    ]
    cwd = REPO_ROOT
    try:
        # A client with its own venv never sees our fasthttp, snapshot or not.
        env = {**base_env(snapshot if spec.venv is None else None), **dict(spec.env)}
        if spec.venv is not None:
            # Not even through the working directory or PYTHONPATH: it starts outside the repo with
            # no PYTHONPATH, and only the bootstrap puts the repo root on sys.path to find
            # bench.driver, which removes it again before the client's library is imported.
            env.pop("PYTHONPATH", None)
            cwd = OUT_DIR
            cmd[:2] = ["-c", _VENV_BOOTSTRAP.format(root=str(REPO_ROOT))]
        proc = subprocess.run(
            [client_python(spec), *cmd],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_CLIENT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"client": spec.name, "error": f"{type(exc).__name__}: {exc}"}
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"client": spec.name, "error": f"exit {proc.returncode}: {tail[0]}"}
    if proc.returncode != 0 and "error" not in result:
        result["error"] = f"exit {proc.returncode}"
    if "error" in result:
        sys.stderr.write(proc.stderr[-3000:])
    return result


def _progress(round_: int, rounds: int, run: ProcessRun, workload: Workload, width: int) -> None:
    if run.error is not None:
        text = f"ERROR {run.error}"
    elif run.unsupported is not None:
        text = run.unsupported
    else:
        text = (
            f"{run.rate:>10,.1f} {workload.unit}  cpu {run.cpu_us_per_req:,.1f} µs/req  "
            f"client {run.client_cpu_pct or 0:.0f}%  server {run.server_cpu_pct or 0:.0f}%  "
            f"rss {run.peak_rss_mib or 0:.0f} MiB"
        )
    print(f"round {round_ + 1}/{rounds}  {workload.name:<6} {run.client:<{width}} {text}", flush=True)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _command(argv: Sequence[str] | None) -> str:
    python = Path(sys.executable)
    shown = str(python.relative_to(REPO_ROOT)) if python.is_relative_to(REPO_ROOT) else str(python)
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join([shown, "-m", "bench.run", *(shlex.quote(a) for a in args)])


def _source_warnings(runs: list[ProcessRun], digest: str | None) -> list[str]:
    seen = {str(r.raw.get("versions", {}).get(SOURCE_KEY)) for r in runs if SOURCE_KEY in r.raw.get("versions", {})}
    if digest is not None and seen - {digest}:
        return [f"some fasthttp processes ran other code than the snapshot {digest}: {', '.join(sorted(seen))}"]
    if digest is None and len(seen) > 1:
        return [f"fasthttp/ changed during this --live run: {len(seen)} versions ({', '.join(sorted(seen))})"]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    specs = discover()
    args = parse_args(argv, specs)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    snapshot: Path | None = None
    digest: str | None = None
    if args.live:
        source = "the live working tree (`--live`): each process imports fasthttp/ as it is then"
    else:
        snapshot, digest = snapshot_package(REPO_ROOT / "fasthttp", OUT_DIR / "snapshots")
        source = f"snapshot `{digest}` of fasthttp/ taken at the start (`bench/out/snapshots/{digest}`)"
    print(f"fasthttp source: {source}", flush=True)
    clients = [specs[name] for name in args.clients]
    workloads = [get(name, quick=args.quick) for name in args.workloads]
    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()
    t0 = time.monotonic()
    runs: list[ProcessRun] = []
    with serve(args.server) as server:
        print(f"server: {server.description} at {server.base_url} (pid {server.pid})", flush=True)
        ceilings = [] if args.no_ceiling else wrk_ceiling(server, workloads, seconds=2 if args.quick else 3)
        for c in ceilings:
            print(f"ceiling: {c.command}: {c.rate:,.1f} {c.unit}", flush=True)
        for round_ in range(args.rounds):
            shift = round_ % len(clients)
            order = clients[shift:] + clients[:shift]
            for workload in workloads:
                for spec in order:
                    run = ProcessRun.parse(round_, workload, run_client(spec, workload, server, args.quick, snapshot))
                    runs.append(run)
                    _progress(round_, args.rounds, run, workload, max(len(c.name) for c in clients))
    imports: list[ImportTime] = []
    if args.import_runs > 0:
        imports = measure_imports(sys.executable, base_env(snapshot), runs=args.import_runs, cwd=OUT_DIR)
    cells = aggregate(runs)
    versions: dict[str, str] = {"nginx" if server.kind == "nginx" else "server": server.version}
    for run in runs:
        versions.update(run.raw.get("versions") or {})
    versions.pop(SOURCE_KEY, None)
    info = RunInfo(
        command=_command(argv),
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        duration_s=time.monotonic() - t0,
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.release()}",
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 0,
        loadavg_start=load_start,
        loadavg_end=os.getloadavg(),
        rounds=args.rounds,
        quick=args.quick,
        server=server,
        versions=versions,
        clients=clients,
        workloads=workloads,
        subject_source=source,
        warnings=_source_warnings(runs, digest),
        suite=args.suite,
    )
    checks = check_app_targets(cells) if args.suite == "app" else check_targets(cells, imports)
    text = render(info, cells, imports, ceilings, checks)
    default_output = RESULTS_APP if args.suite == "app" else RESULTS
    output = args.output or (OUT_DIR / "RESULTS-quick.md" if args.quick else default_output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    raw = OUT_DIR / f"raw-{started.strftime('%Y%m%d-%H%M%S')}.json"
    raw.write_text(
        json.dumps(
            {
                "info": asdict(info),
                "runs": [{**r.raw, "round": r.round} for r in runs],
                "imports": [asdict(t) for t in imports],
                "ceilings": [asdict(c) for c in ceilings],
            },
            indent=1,
            default=str,
        )
    )
    print()
    print(text)
    print(f"wrote {output} and {raw}")
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
