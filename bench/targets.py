"""The issues' targets for fasthttp, checked against a run's cells: issue 2 item 11 and issue 9
(the main suite), issues 4 and 5 (``--suite app``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .importtime import ImportTime
from .stats import Cell, paired_ratio, ratio

__all__ = ["SUBJECT", "TargetCheck", "check_app_targets", "check_targets"]

SUBJECT = "fasthttp"
NOISE = 0.10  # LIMIT.md: differences under 10% are noise on these shared machines

# (workload, baseline, minimum ratio of fasthttp's rate to the baseline's)
_RATE_TARGETS: tuple[tuple[str, str, float], ...] = (
    ("conc", "aiohttp", 0.9),
    ("conc", "httpx", 10.0),
    ("seq", "aiohttp", 0.9),
    ("big", "aiohttp", 0.9),
)
_RSS_LIMIT = 1.2  # peak RSS at most this times aiohttp's, on every workload

# Issue 9 (the HTTP/1.1 transport): (workload, subject, baseline, minimum ratio of rates).
_TRANSPORT_TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("conc", SUBJECT, "aiohttp", 4.0),
    ("conc", SUBJECT, "pyreqwest", 1.0),
    ("conc", "fasthttp-uvloop", "pyreqwest-uvloop", 1.0),
    ("seq", SUBJECT, "aiohttp", 1.3),
    ("big", SUBJECT, "aiohttp", 1.0),
    ("stream", SUBJECT, "aiohttp", 1.0),
)


@dataclass(frozen=True)
class TargetCheck:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run (or, with info, no target to meet)
    note: str = ""
    info: bool = False  # a figure reported for context, with no target

    @property
    def verdict(self) -> str:
        if self.info:
            return "no target"
        return {True: "**met**", False: "**missed**", None: "not measured"}[self.met]


def _noise_note(value: float, threshold: float) -> str:
    return f"within {NOISE:.0%} of the threshold: noise-level" if abs(value / threshold - 1) < NOISE else ""


def _missing(cells: Mapping[tuple[str, str], Cell], *keys: tuple[str, str]) -> str | None:
    for key in keys:
        cell = cells.get(key)
        if cell is None:
            return f"{key[1]} did not run {key[0]}"
        if cell.rate is None:
            return f"{key[1]} on {key[0]}: {cell.unsupported or '; '.join(cell.errors) or 'no result'}"
    return None


def _rate_check(
    cells: Mapping[tuple[str, str], Cell], workload: str, name: str, baseline: str, minimum: float, issue: str = ""
) -> TargetCheck:
    """``name``'s rate on ``workload`` must be at least ``minimum`` times ``baseline``'s."""
    target = f"{workload}: {name} ≥ {minimum:g}× {baseline}{issue}"
    why = _missing(cells, (workload, name), (workload, baseline))
    if why is not None:
        return TargetCheck(target, why, None)
    subject, base = cells[(workload, name)], cells[(workload, baseline)]
    value = ratio(subject.rate, base.rate)
    paired = paired_ratio(subject, base)
    assert value is not None
    measured = f"{value:.2f}× (paired per round: {paired:.2f}×)" if paired else f"{value:.2f}×"
    cpu_ratio = ratio(base.cpu_us_per_req, subject.cpu_us_per_req)
    if cpu_ratio is not None:
        measured += (
            f"; CPU/req {subject.cpu_us_per_req:,.1f} vs {base.cpu_us_per_req:,.1f} µs"
            f", {cpu_ratio:.2f}× as efficient"
        )
    return TargetCheck(target, measured, value >= minimum, _noise_note(value, minimum))


def _rate_checks(cells: Mapping[tuple[str, str], Cell]) -> list[TargetCheck]:
    return [_rate_check(cells, workload, SUBJECT, baseline, minimum) for workload, baseline, minimum in _RATE_TARGETS]


def _transport_checks(cells: Mapping[tuple[str, str], Cell]) -> list[TargetCheck]:
    """Issue 9's rate targets, for the workloads that ran (a run without pyreqwest skips its rows)."""
    return [
        _rate_check(cells, workload, name, baseline, minimum, " (issue 9)")
        for workload, name, baseline, minimum in _TRANSPORT_TARGETS
        if (workload, baseline) in cells or baseline == "aiohttp"
    ]


def _rss_checks(cells: Mapping[tuple[str, str], Cell]) -> list[TargetCheck]:
    checks = []
    for workload in dict.fromkeys(w for w, _ in cells):
        target = f"{workload}: {SUBJECT} peak RSS ≤ {_RSS_LIMIT:g}× aiohttp's"
        why = _missing(cells, (workload, SUBJECT), (workload, "aiohttp"))
        if why is not None:
            checks.append(TargetCheck(target, why, None))
            continue
        subject = cells[(workload, SUBJECT)].peak_rss_mib
        base = cells[(workload, "aiohttp")].peak_rss_mib
        value = ratio(subject, base)
        if value is None or subject is None or base is None:
            checks.append(TargetCheck(target, "no RSS reported", None))
            continue
        measured = f"{subject:.1f} MiB vs {base:.1f} MiB = {value:.2f}×"
        checks.append(TargetCheck(target, measured, value <= _RSS_LIMIT, _noise_note(value, _RSS_LIMIT)))
    return checks


def _import_check(imports: Sequence[ImportTime]) -> TargetCheck:
    target = f"`import {SUBJECT}` no slower than `import aiohttp`"
    by_label = {t.label: t for t in imports}
    if SUBJECT not in by_label or "aiohttp" not in by_label:
        return TargetCheck(target, "import times not measured", None)
    ours, theirs = by_label[SUBJECT].median_ms, by_label["aiohttp"].median_ms
    note = ""
    full = by_label.get(f"{SUBJECT} + transport")
    if full is not None:
        note = (
            f"aiohttp is imported lazily, when the first session opens: `import {SUBJECT}` plus its "
            f"transport takes {full.median_ms:.0f} ms"
        )
    return TargetCheck(target, f"{ours:.0f} ms vs {theirs:.0f} ms = {ours / theirs:.2f}×", ours <= theirs, note)


def check_targets(cells: Mapping[tuple[str, str], Cell], imports: Sequence[ImportTime]) -> list[TargetCheck]:
    """Every target of the issue, in the issue's order."""
    return [*_rate_checks(cells), *_rss_checks(cells), _import_check(imports), *_transport_checks(cells)]


# ``--suite app`` (issues 4 and 5): the clients its targets compare.
_APP = "fasthttp-app"
_APP_ASYNCIO = "fasthttp-app-asyncio"
_SESSION = SUBJECT
_SESSION_UVLOOP = "fasthttp-uvloop"
_SCRIPT = "fasthttp-script"
_SCRIPT_UVLOOP = "fasthttp-script-uvloop"
_PYPI = "fasthttp-client"
_MW = "fasthttp-mw3"


def _wall_ratio_check(
    cells: Mapping[tuple[str, str], Cell], workload: str, slow: str, fast: str, limit: float, target: str
) -> TargetCheck:
    """``slow``'s wall time over ``fast``'s (= fast's rate / slow's rate) must be ≤ ``limit``."""
    why = _missing(cells, (workload, slow), (workload, fast))
    if why is not None:
        return TargetCheck(target, why, None)
    a, b = cells[(workload, slow)], cells[(workload, fast)]
    value = ratio(b.rate, a.rate)
    paired = paired_ratio(b, a)
    cpu = ratio(a.cpu_us_per_req, b.cpu_us_per_req)
    assert value is not None
    measured = f"{value:.3f}×" + (f" (paired per round: {paired:.3f}×)" if paired else "")
    if cpu is not None:
        measured += f"; CPU/req {a.cpu_us_per_req:,.1f} vs {b.cpu_us_per_req:,.1f} µs = {cpu:.3f}×"
    return TargetCheck(target, measured, value <= limit, _noise_note(value, limit))


def check_app_targets(cells: Mapping[tuple[str, str], Cell]) -> list[TargetCheck]:
    """The targets of ``--suite app``: issue 4 (declarative app) and issue 5 (middleware)."""
    # app.run() picks uvloop when it is installed: each app is held to the same work on its own loop.
    # The target compares with the script doing what app.run() does (own loop, session and
    # connections); the warm session (pool connected by its warm-up) is reported beside it.
    checks = [
        _wall_ratio_check(
            cells, "app", _APP, _SCRIPT_UVLOOP, 1.15,
            f"app: {_APP} `app.run()` (uvloop) wall ≤ 1.15× the same requests through a fresh "
            f"AsyncSession + gather ({_SCRIPT_UVLOOP}) (issue 4)",
        ),
        _wall_ratio_check(
            cells, "app", _APP_ASYNCIO, _SCRIPT, 1.15,
            f"app: {_APP_ASYNCIO} `app.run()` wall ≤ 1.15× {_SCRIPT}, both on asyncio's loop (issue 4)",
        ),
    ]
    for slow, fast in ((_APP, _SESSION_UVLOOP), (_APP_ASYNCIO, _SESSION)):
        info = _wall_ratio_check(cells, "app", slow, fast, 1.15, f"app: {slow} vs a warm session ({fast}), no target")
        checks.append(
            TargetCheck(info.target, info.measured, None, "its pool was connected before the timed batch", info=True)
        )
    checks.append(_rate_check(cells, "app", _APP, _PYPI, 10.0, " (PyPI's, its own `app.run()`; issue 4)"))
    app = cells.get(("app", _APP))
    if app is not None and app.peak_rss_mib is not None:
        session = cells.get(("app", _SESSION))
        versus = (
            f" (one AsyncSession, same 10,000 requests: {session.peak_rss_mib:.1f} MiB)"
            if session and session.peak_rss_mib is not None
            else ""
        )
        before = [r.raw.get("rss_before_kib") for r in app.ok_runs]
        known = [b / 1024 for b in before if b]
        note = f"RSS before the first 10,000-route run: {min(known):.1f}–{max(known):.1f} MiB" if known else ""
        checks.append(
            TargetCheck(
                f"app: peak RSS of the {_APP} process", f"{app.peak_rss_mib:.1f} MiB{versus}", None, note, info=True
            )
        )
    checks.append(
        _wall_ratio_check(
            cells, "conc", _MW, _SESSION, 1.05, f"conc: 3 pass-through middlewares cost < 5 % ({_MW} vs {_SESSION})"
        )
    )
    return checks
