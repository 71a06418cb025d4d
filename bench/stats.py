"""From the client processes' JSON to table cells: medians over rounds, spreads, ratios.

One ``ProcessRun`` per client process (one round of one workload for one client);
its rate is the median of its timed batches. One ``Cell`` per (workload, client);
its rate is the median over rounds, its spread (max - min) / median, as in
``shared/perf/LIMIT.md``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .workloads import Workload

__all__ = ["Cell", "ProcessRun", "aggregate", "paired_ratio", "ratio"]


@dataclass(frozen=True)
class ProcessRun:
    """What one client process measured."""

    round: int
    client: str
    workload: str
    rate: float | None  # median over batches, in the workload's unit
    cpu_us_per_req: float | None  # client CPU time / requests, all timed batches
    client_cpu_pct: float | None  # client CPU time / wall time
    server_cpu_pct: float | None  # server CPU time / wall time, during the timed batches
    peak_rss_mib: float | None
    unsupported: str | None
    error: str | None
    raw: Mapping[str, Any]

    @classmethod
    def parse(cls, round_: int, workload: Workload, raw: Mapping[str, Any]) -> ProcessRun:
        batches = raw.get("batches") or []
        rate = cpu_us = client_pct = server_pct = None
        if batches:
            rate = statistics.median(workload.rate(b["requests"], b["wall"]) for b in batches)
            wall = sum(b["wall"] for b in batches)
            cpu = sum(b["cpu"] for b in batches)
            cpu_us = cpu / sum(b["requests"] for b in batches) * 1e6
            client_pct = 100 * cpu / wall
            if all(b.get("server_cpu") is not None for b in batches):
                server_pct = 100 * sum(b["server_cpu"] for b in batches) / wall
        rss = raw.get("peak_rss_kib")
        return cls(
            round=round_,
            client=str(raw.get("client")),
            workload=workload.name,
            rate=rate,
            cpu_us_per_req=cpu_us,
            client_cpu_pct=client_pct,
            server_cpu_pct=server_pct,
            peak_rss_mib=None if rss is None else rss / 1024,
            unsupported=raw.get("unsupported"),
            error=raw.get("error"),
            raw=raw,
        )


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


@dataclass
class Cell:
    """Every round of one client on one workload."""

    workload: str
    client: str
    runs: list[ProcessRun] = field(default_factory=list)

    @property
    def ok_runs(self) -> list[ProcessRun]:
        return [r for r in self.runs if r.rate is not None and r.error is None]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error is not None]

    @property
    def unsupported(self) -> str | None:
        """The reason, when every run said the client cannot do this workload."""
        reasons = {r.unsupported for r in self.runs}
        return reasons.pop() if len(reasons) == 1 and None not in reasons else None

    @property
    def rate(self) -> float | None:
        return _median(r.rate for r in self.ok_runs)

    @property
    def rates_by_round(self) -> dict[int, float]:
        return {r.round: r.rate for r in self.ok_runs if r.rate is not None}

    @property
    def spread(self) -> float | None:
        """(max - min) / median of the per-round rates."""
        rates = list(self.rates_by_round.values())
        median = _median(rates)
        return (max(rates) - min(rates)) / median if rates and median else None

    @property
    def cpu_us_per_req(self) -> float | None:
        return _median(r.cpu_us_per_req for r in self.ok_runs)

    @property
    def client_cpu_pct(self) -> float | None:
        return _median(r.client_cpu_pct for r in self.ok_runs)

    @property
    def server_cpu_pct(self) -> float | None:
        return _median(r.server_cpu_pct for r in self.ok_runs)

    @property
    def max_server_cpu_pct(self) -> float | None:
        values = [r.server_cpu_pct for r in self.ok_runs if r.server_cpu_pct is not None]
        return max(values) if values else None

    @property
    def peak_rss_mib(self) -> float | None:
        return _median(r.peak_rss_mib for r in self.ok_runs)


def aggregate(runs: Iterable[ProcessRun]) -> dict[tuple[str, str], Cell]:
    """Cells keyed by (workload, client), in first-seen order."""
    cells: dict[tuple[str, str], Cell] = {}
    for run in runs:
        key = (run.workload, run.client)
        cells.setdefault(key, Cell(run.workload, run.client)).runs.append(run)
    return cells


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing."""
    return None if a is None or b is None or b == 0 else a / b


def paired_ratio(a: Cell, b: Cell) -> float | None:
    """Median over rounds of a's rate / b's rate in the same round (robust to slow rounds)."""
    ra, rb = a.rates_by_round, b.rates_by_round
    return _median(ra[k] / rb[k] for k in ra.keys() & rb.keys() if rb[k])
