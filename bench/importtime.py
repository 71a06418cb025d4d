"""Import time of each library in a fresh interpreter: median of N interleaved runs.

Every run is a new ``python -c`` process timing ``import X`` with ``time.perf_counter``
(interpreter start-up and ``site`` are outside the timer). One untimed run per
statement first fills the bytecode cache, so every library is measured from ``.pyc``
files, as an installed package is; ``bench.run`` points the cache at ``bench/out/``
(``PYTHONPYCACHEPREFIX``) so nothing is written into the source tree.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IMPORTS", "ImportTime", "measure_imports"]

# label -> statement. "fasthttp + transport" is what the first request has imported:
# fasthttp loads its aiohttp transport (and so aiohttp) only when a session opens.
IMPORTS: dict[str, str] = {
    "fasthttp": "import fasthttp",
    "aiohttp": "import aiohttp",
    "httpx": "import httpx",
    "fasthttp + transport": "import fasthttp, fasthttp.transport.aiohttp",
}

_SNIPPET = """\
import sys, time
t = time.perf_counter()
exec(sys.argv[1])
print(time.perf_counter() - t)
"""


@dataclass(frozen=True)
class ImportTime:
    label: str
    statement: str
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def spread(self) -> float:
        """(max - min) / median."""
        return (max(self.seconds) - min(self.seconds)) / statistics.median(self.seconds)


def _time_once(python: str, statement: str, env: Mapping[str, str], cwd: Path | None) -> float:
    out = subprocess.run(
        [python, "-c", _SNIPPET, statement],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        check=False,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def measure_imports(
    python: str, env: Mapping[str, str], runs: int = 7, imports: Mapping[str, str] = IMPORTS, cwd: Path | None = None
) -> list[ImportTime]:
    """Time each statement ``runs`` times, rotating the order every run.

    ``cwd`` matters: ``python -c`` puts it first on sys.path, so run from the repo root
    the live ``fasthttp/`` would win over a snapshot on PYTHONPATH.
    """
    labels = list(imports)
    for label in labels:  # fill the bytecode cache
        _time_once(python, imports[label], env, cwd)
    times: dict[str, list[float]] = {label: [] for label in labels}
    for run in range(runs):
        shift = run % len(labels)
        for label in labels[shift:] + labels[:shift]:
            times[label].append(_time_once(python, imports[label], env, cwd))
    return [ImportTime(label, imports[label], times[label]) for label in labels]
