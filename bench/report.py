"""Render a run as Markdown (``bench/RESULTS.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .clients import ClientSpec
from .importtime import ImportTime
from .server import Server, WrkResult
from .stats import Cell, ratio
from .targets import NOISE, SUBJECT, TargetCheck
from .workloads import MIB, Workload

__all__ = ["BASELINES", "RunInfo", "render"]

BASELINES = ("aiohttp", "httpx")  # the ratio columns
_SERVER_BUSY_PCT = 80.0  # a server this busy (of one core) may be what limits a client


@dataclass(frozen=True)
class RunInfo:
    """Where, when and how the run was made."""

    command: str
    started: str
    duration_s: float
    python: str
    platform: str
    cpu_model: str
    cores: int
    loadavg_start: tuple[float, float, float]
    loadavg_end: tuple[float, float, float]
    rounds: int
    quick: bool
    server: Server
    versions: Mapping[str, str]
    clients: Sequence[ClientSpec]
    workloads: Sequence[Workload]
    subject_source: str = ""
    warnings: Sequence[str] = ()
    suite: str = "main"  # "app": the declarative app / fasthttp-client / middleware report


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if digits == 0 and abs(value) < 100:
        digits = 1
    return f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _workload_table(workload: Workload, specs: Sequence[ClientSpec], cells: Mapping[tuple[str, str], Cell]) -> str:
    per_mib = workload.body_size is not None
    baselines = [b for b in BASELINES if (workload.name, b) in cells]
    head = ["client", f"{workload.unit} (median)", "spread", *(f"×{b}" for b in baselines), "CPU µs/req"]
    if per_mib:
        head.append("CPU µs/MiB")
    head += ["client CPU", "server CPU", "peak RSS MiB", "rounds"]
    lines = [_row(head), _row(["---"] * len(head))]
    for spec in specs:
        cell = cells.get((workload.name, spec.name))
        if cell is None:
            continue
        name = f"**{spec.name}**" if spec.name == SUBJECT else spec.name
        if cell.rate is None:
            status = cell.unsupported or "error: " + "; ".join(dict.fromkeys(cell.errors))[:120]
            lines.append(_row([name, status, *["—"] * (len(head) - 2)]))
            continue
        ratios = [_times(ratio(cell.rate, cells[(workload.name, b)].rate)) for b in baselines]
        cpu = cell.cpu_us_per_req
        row = [name, _num(cell.rate), f"±{cell.spread:.0%}" if cell.spread is not None else "—", *ratios, _num(cpu)]
        if per_mib and workload.body_size:
            row.append(_num(None if cpu is None else cpu * MIB / workload.body_size))
        errors = f" ({len(cell.errors)} failed)" if cell.errors else ""
        row += [
            _pct(cell.client_cpu_pct),
            _pct(cell.server_cpu_pct),
            _num(cell.peak_rss_mib),
            f"{len(cell.ok_runs)}{errors}",
        ]
        lines.append(_row(row))
    return "\n".join(lines)


def _targets_table(checks: Sequence[TargetCheck]) -> str:
    lines = [_row(["target", "measured", "verdict", "note"]), _row(["---"] * 4)]
    lines += [_row([c.target, c.measured, c.verdict, c.note]) for c in checks]
    return "\n".join(lines)


def _server_section(info: RunInfo, cells: Mapping[tuple[str, str], Cell], ceilings: Sequence[WrkResult]) -> list[str]:
    by_workload = {c.workload: c for c in ceilings}
    out = [
        "## Is the server the bottleneck?",
        "",
        f"Server: {info.server.description}. Its CPU time is read from `/proc/PID/stat` by each client "
        "process around its timed batches; 100 % is one core, all of the server's single process.",
        "",
    ]
    head = ["workload", "server CPU: median / max", "fastest client", "wrk (C, one thread)", "verdict"]
    lines = [_row(head), _row(["---"] * len(head))]
    for workload in info.workloads:
        wl_cells = [c for (w, _), c in cells.items() if w == workload.name and c.rate is not None]
        if not wl_cells:
            continue
        typical = max((c.server_cpu_pct or 0.0 for c in wl_cells), default=0.0)
        busiest = max((c.max_server_cpu_pct or 0.0 for c in wl_cells), default=0.0)
        fastest = max(wl_cells, key=lambda c: c.rate or 0.0)
        wrk = by_workload.get(workload.name)
        wrk_text = "not measured (wrk not installed)"
        headroom = None
        if wrk is not None:
            headroom = ratio(wrk.rate, fastest.rate)
            wrk_text = f"{_num(wrk.rate)} {wrk.unit} (`{wrk.command}`) = {_times(headroom)}× the fastest client"
            if workload.body_size is not None:
                wrk_text += "; wrk reads 8 KiB per recv(), so on big bodies this is wrk's limit, not a ceiling"
                headroom = None
        if typical >= _SERVER_BUSY_PCT:
            verdict = f"**server may limit**: {typical:.0f} % of a core for the busiest client"
        elif headroom is not None and headroom < 1.2:
            verdict = "**server may limit**: wrk gets little more than the clients"
        elif busiest >= _SERVER_BUSY_PCT:
            verdict = f"not the bottleneck in a typical round (peaked at {busiest:.0f} % once)"
        else:
            verdict = "not the bottleneck"
        lines.append(
            _row(
                [
                    workload.name,
                    f"{_pct(typical)} / {_pct(busiest)}",
                    f"{fastest.client} {_num(fastest.rate)} {workload.unit}",
                    wrk_text,
                    verdict,
                ]
            )
        )
    out.append("\n".join(lines))
    out += [
        "",
        "Server CPU: the median is that of the client whose runs kept the server busiest; the max is over "
        "every client and round. wrk runs once before the rounds, on the same 2 cores (wrk on one, the "
        "server on the other), so its figure is a lower bound of the server's capacity for small bodies. "
        "A client whose own CPU column is near 100 % is limited by itself, not by the server.",
        "",
    ]
    return out


def _imports_table(imports: Sequence[ImportTime]) -> str:
    lines = [_row(["statement", "median ms", "spread", "runs (ms)"]), _row(["---"] * 4)]
    for t in imports:
        runs = ", ".join(f"{s * 1000:.0f}" for s in t.seconds)
        lines.append(_row([f"`{t.statement}`", f"{t.median_ms:.1f}", f"±{t.spread:.0%}", runs]))
    return "\n".join(lines)


def _per_round(info: RunInfo, cells: Mapping[tuple[str, str], Cell]) -> list[str]:
    out = ["## Per-round rates", "", "Each process's median batch rate, by round (run order rotates every round).", ""]
    for workload in info.workloads:
        rows = []
        for spec in info.clients:
            cell = cells.get((workload.name, spec.name))
            if cell is not None and cell.rates_by_round:
                rates = ", ".join(_num(r) for _, r in sorted(cell.rates_by_round.items()))
                rows.append(f"- {workload.name} / {spec.name} ({workload.unit}): {rates}")
        out += rows
    out.append("")
    return out


_MAIN_INTRO = (
    "Results of `--suite app` (the declarative app, PyPI's fasthttp-client, middleware cost): "
    "[`bench/RESULTS-app.md`](RESULTS-app.md).",
    "",
    "## Targets (issue 2, item 11; issue 9)",
)
_APP_INTRO = (
    "The declarative app (issue 4), PyPI's `fasthttp-client` and the cost of middleware (issue 5); "
    "`--suite app`. The issue 2 comparison with aiohttp and httpx is in [`bench/RESULTS.md`](RESULTS.md).",
    "",
    "## Targets (issues 4 and 5)",
)


def _app_notes(cells: Mapping[tuple[str, str], Cell]) -> list[str]:
    """How the app workload was run, and the build time of the apps (not in the timed figures)."""
    out = [
        "How to read these: on `app`, *fasthttp-app* and *fasthttp-client* time their `app.run()` "
        "(a fresh app per batch; building it is not timed), the session clients time 10,000 GETs by 100 "
        "workers on one `AsyncSession`. A wall-time ratio is the inverse of the rate ratio. On `conc`, "
        "*fasthttp-mw3* is *fasthttp* with three pass-through middlewares; `python -m bench.middleware` "
        "measures the same pair in one process, which is far less noisy.",
        "",
    ]
    for client in ("fasthttp-app", "fasthttp-client"):
        cell = cells.get(("app", client))
        if cell is None or not cell.ok_runs:
            continue
        prepare = [b["prepare"] for r in cell.ok_runs for b in r.raw.get("batches", []) if "prepare" in b]
        logs = [int(r.raw["log_bytes"]) for r in cell.ok_runs if r.raw.get("log_bytes") is not None]
        if prepare:
            prepare.sort()
            text = f"- {client}: building the app (10,000 decorated routes) took {prepare[len(prepare) // 2]:.2f} s"
            if logs:
                text += f"; its log file grew to {max(logs) / MIB:.1f} MiB per process"
            out.append(text + " (median, not part of the timed run).")
    out.append("")
    return out


def render(
    info: RunInfo,
    cells: Mapping[tuple[str, str], Cell],
    imports: Sequence[ImportTime],
    ceilings: Sequence[WrkResult],
    checks: Sequence[TargetCheck],
) -> str:
    """The whole RESULTS.md."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(info.versions.items()))
    load = "/".join(f"{x:.2f}" for x in info.loadavg_start) + " → " + "/".join(f"{x:.2f}" for x in info.loadavg_end)
    out = [
        "# fasthttp benchmark results" + (" (quick smoke run, not representative)" if info.quick else ""),
        "",
        "Generated by `bench/run.py`; do not edit by hand. How to run and read it: `bench/README.md`.",
        "",
        f"- Command: `{info.command}` (from the repository root)",
        f"- Date: {info.started} (took {info.duration_s / 60:.1f} min)",
        f"- Machine: {info.cores} cores ({info.cpu_model}), {info.platform}; "
        f"load average 1/5/15 min {load} (other work was running: numbers are noisy)",
        f"- Python {info.python}; {versions}",
        f"- fasthttp measured: {info.subject_source}",
        f"- Server: {info.server.description}",
        f"- Rounds: {info.rounds}; in every round each workload runs every client once, each in a fresh "
        "process, the client order rotated by one each round. A cell is the median over rounds of each "
        "process's median batch rate; spread is (max − min) / median over rounds. "
        f"Treat differences under {NOISE:.0%} as noise.",
        *(f"- **Warning**: {w}" for w in info.warnings),
        "",
        *(_APP_INTRO if info.suite == "app" else _MAIN_INTRO),
        "",
        _targets_table(checks),
        "",
        "Ratios are of medians; the paired figure is the median over rounds of the two clients' ratio in the "
        "same round, which cancels slow rounds.",
        "",
    ]
    if info.suite == "app":
        out += _app_notes(cells)
    for workload in info.workloads:
        out += [
            f"## {workload.name}: {workload.description}",
            "",
            f"`GET {workload.path}`, {workload.batches} timed batch(es) of {workload.requests} per process after "
            f"{workload.warmup} untimed warm-up request(s).",
            "",
            _workload_table(workload, info.clients, cells),
            "",
        ]
    out += _server_section(info, cells, ceilings)
    out += [
        "## Import time",
        "",
        "A fresh interpreter per run times the statement with `time.perf_counter()` (start-up excluded), from "
        "bytecode caches filled by an untimed first run; runs interleaved, order rotated.",
        "",
        _imports_table(imports) if imports else "Not measured in this run.",
        "",
        "## Clients",
        "",
        *(f"- **{s.name}** ({s.loop}): {s.label}" for s in info.clients),
        "",
        "## Columns",
        "",
        "- **CPU µs/req**: the client process's CPU time (`time.process_time()`, user + system, all threads) "
        "over its timed batches, divided by the requests in them. On `big` and `stream` also per MiB of body.",
        "- **client CPU / server CPU**: CPU time over wall time during the timed batches (100 % = one core).",
        "- **peak RSS**: the client process's high-water resident set (`VmHWM` in `/proc/self/status`), warm-up "
        "included. Not `ru_maxrss`: Linux carries it across `execve`, so every child of the harness would "
        "report at least the harness's own size.",
        "- httpx parses JSON with `r.json()` (stdlib `json`), as its users do; aiohttp and fasthttp with orjson.",
        "",
    ]
    out += _per_round(info, cells)
    return "\n".join(out)
