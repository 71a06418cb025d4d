"""The workloads: what a client process requests, how often, and how it is measured.

Standard library only: imported by client processes, which may run in another venv.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "DEFAULT_WORKLOADS",
    "JSON_PATH",
    "LARGE_1MIB_PATH",
    "LARGE_100MIB_PATH",
    "WORKLOADS",
    "Workload",
    "body_size_of",
    "get",
]

MIB = 1024 * 1024

# The same paths exist on nginx (static files) and on the embedded server (handlers).
JSON_PATH = "/json"
LARGE_1MIB_PATH = f"/large/{MIB}"
LARGE_100MIB_PATH = f"/large/{100 * MIB}"

Kind = Literal["json", "bytes", "stream", "app"]


@dataclass(frozen=True)
class Workload:
    """One workload. A batch is ``requests`` GETs with ``concurrency`` worker tasks."""

    name: str
    description: str
    # json: body read + parsed; bytes: body read; stream: read in chunks; app: ``requests``
    # routes of a declarative app sent by its ``app.run()`` (clients without an app run them
    # as ``requests`` JSON GETs through one session, ``concurrency`` workers)
    kind: Kind
    path: str
    requests: int  # per timed batch
    concurrency: int
    batches: int  # timed batches per client process
    warmup: int  # untimed requests before the first batch
    warmup_path: str | None = None  # defaults to ``path``
    chunk_size: int = 64 * 1024  # stream kind only

    @property
    def body_size(self) -> int | None:
        """The body length of each timed response, or None for the JSON document."""
        return body_size_of(self.path)

    @property
    def unit(self) -> str:
        """The rate's unit: requests per second, or MiB of body per second."""
        return "req/s" if self.body_size is None else "MiB/s"

    def rate(self, requests: int, wall: float) -> float:
        """Rate in ``unit`` for ``requests`` completed in ``wall`` seconds."""
        if self.body_size is None:
            return requests / wall
        return requests * self.body_size / MIB / wall

    def quick(self) -> Workload:
        """A much smaller variant for a smoke test (``--quick``)."""
        return replace(
            self,
            requests=max(1, self.requests // 10),
            batches=1,
            warmup=max(1, self.warmup // 10),
        )


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="conc",
            description="5000 GETs of the small JSON document at concurrency 100 "
            "(100 worker tasks pulling from a shared counter), body read and parsed",
            kind="json",
            path=JSON_PATH,
            requests=5000,
            concurrency=100,
            batches=3,
            warmup=500,
        ),
        Workload(
            name="seq",
            description="2000 sequential GETs of the small JSON document, body read and parsed",
            kind="json",
            path=JSON_PATH,
            requests=2000,
            concurrency=1,
            batches=3,
            warmup=300,
        ),
        Workload(
            name="big",
            description="200 GETs of a 1 MiB body at concurrency 20, body read",
            kind="bytes",
            path=LARGE_1MIB_PATH,
            requests=200,
            concurrency=20,
            batches=3,
            warmup=40,
        ),
        Workload(
            name="stream",
            description="one GET of a 100 MiB body read as a stream in 64 KiB chunks",
            kind="stream",
            path=LARGE_100MIB_PATH,
            requests=1,
            concurrency=1,
            batches=3,
            warmup=5,
            warmup_path=LARGE_1MIB_PATH,
        ),
        Workload(
            name="app",
            description="10,000 routes to the small JSON document, concurrency 100: a declarative "
            "app's `app.run()` (logging to a file), or 10,000 GETs through one session (100 workers); "
            "handler/body parsed",
            kind="app",
            path=JSON_PATH,
            requests=10_000,
            concurrency=100,
            batches=2,
            warmup=500,
        ),
    )
}

DEFAULT_WORKLOADS = ("conc", "seq", "big", "stream")  # a run that names no workloads


def get(name: str, *, quick: bool = False) -> Workload:
    """The workload called ``name`` (its ``--quick`` variant when ``quick``)."""
    try:
        workload = WORKLOADS[name]
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}") from None
    return workload.quick() if quick else workload


def body_size_of(path: str) -> int | None:
    """The body length the server sends for ``path`` (``/large/N`` is N bytes), else None."""
    prefix = "/large/"
    return int(path[len(prefix) :]) if path.startswith(prefix) else None
