"""``RunResults``: what ``app.run()`` returns, a mapping from route name to outcome.

``results["get_user"]`` is the handler's return value, or the exception that
made the route fail (a transport error, a failed validation, a dependency or
handler that raised, an ``HTTPStatusError`` under ``raise_for_status``). Names
are the handlers' ``__name__``; the app makes duplicates unique (``name``,
``name_2``, ...). Iteration follows the order the routes were declared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RouteOutcome", "RunResults"]


@dataclass(slots=True)
class RouteOutcome:
    """How one route ended: its request, the status (None if nothing came back), the time
    spent sending (seconds), and the handler's value or the error."""

    name: str
    method: str
    url: str  # masked: safe to print
    status: int | None
    elapsed: float
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the handler ran and returned."""
        return self.error is None


class RunResults(Mapping[str, Any]):
    """Route name -> handler return value, or the exception for a route that failed.

    ``succeeded`` and ``failed`` split the mapping; ``errors`` lists the exceptions;
    ``outcomes`` has status and timing per route; ``cancelled`` names the routes
    that had not finished when the run was interrupted (Ctrl-C); ``table()``
    renders everything for a terminal.
    """

    # Outcomes are kept in columns indexed by route position, not as one object per route: a
    # 10,000-route run leaves no garbage-collected object behind per route, and the summary
    # reads the columns (building 10,000 RouteOutcome objects for it set off about half of a
    # run's collections, ~2 µs a route). ``outcomes`` builds RouteOutcome objects when asked.
    __slots__ = (
        "_elapsed", "_errors", "_methods", "_order", "_statuses", "_urls", "_values", "cancelled",
        "elapsed", "interrupted",
    )

    def __init__(self, names: Sequence[str] = (), methods: Sequence[str] = ()) -> None:
        self._order: tuple[str, ...] = tuple(names)
        self._values: dict[str, Any] = {}
        count = len(self._order)
        self._methods: list[str] = list(methods) if methods else [""] * count
        self._urls: list[str] = [""] * count
        self._statuses: list[int | None] = [None] * count
        self._elapsed: list[float] = [0.0] * count
        self._errors: list[BaseException | None] = [None] * count
        self.elapsed = 0.0
        self.interrupted = False
        self.cancelled: tuple[str, ...] = ()

    # -- recording (used by the app) ------------------------------------------------------
    def _record(
        self, index: int, url: str, status: int | None, elapsed: float, value: Any,
        error: BaseException | None,
    ) -> None:
        """The outcome of the route at ``index`` (its position in ``names``)."""
        if error is None:
            self._values[self._order[index]] = value
        else:
            self._values[self._order[index]] = self._errors[index] = error
        self._urls[index] = url
        self._statuses[index] = status
        self._elapsed[index] = elapsed

    def _outcome(self, index: int) -> RouteOutcome:
        name = self._order[index]
        error = self._errors[index]
        return RouteOutcome(
            name, self._methods[index], self._urls[index], self._statuses[index],
            self._elapsed[index], None if error is not None else self._values[name], error,
        )

    def _recorded(self) -> Iterator[int]:
        """Indexes of the routes that finished, in declaration order."""
        values = self._values
        return (i for i, name in enumerate(self._order) if name in values)

    def _finish(self, elapsed: float, interrupted: bool) -> None:
        self.elapsed = elapsed
        self.interrupted = interrupted
        self.cancelled = tuple(n for n in self._order if n not in self._values)

    # -- Mapping ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        if len(self._values) == len(self._order):
            return iter(self._order)
        return (n for n in self._order if n in self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    # -- views --------------------------------------------------------------------------------
    @property
    def outcomes(self) -> dict[str, RouteOutcome]:
        """Name -> RouteOutcome (status, timing, value or error), in declaration order."""
        return {self._order[i]: self._outcome(i) for i in self._recorded()}

    @property
    def succeeded(self) -> dict[str, Any]:
        """Name -> return value, for the routes whose handler ran and returned."""
        errors, values = self._errors, self._values
        return {
            name: values[name] for i, name in enumerate(self._order)
            if errors[i] is None and name in values
        }

    @property
    def failed(self) -> dict[str, BaseException]:
        """Name -> exception, for the routes that failed."""
        return {
            name: error for name, error in zip(self._order, self._errors, strict=True)
            if error is not None
        }

    @property
    def errors(self) -> list[BaseException]:
        """The exceptions of the failed routes, in declaration order."""
        return list(self.failed.values())

    @property
    def error_statuses(self) -> dict[str, int]:
        """Name -> status, for routes whose response was 4xx/5xx (handled or not)."""
        return {
            name: status for name, status in zip(self._order, self._statuses, strict=True)
            if status is not None and status >= 400
        }

    @property
    def ok(self) -> bool:
        """True when every selected route finished and none failed."""
        return not self.interrupted and all(error is None for error in self._errors)

    def summary(self) -> str:
        """``3 succeeded, 1 failed`` (plus error statuses and cancelled routes when any)."""
        failed = sum(1 for error in self._errors if error is not None)
        text = f"{len(self._values) - failed} succeeded, {failed} failed"
        statuses = sum(
            1 for status in self._statuses if status is not None and status >= 400
        )
        if statuses:
            text += f"; {statuses} {'response' if statuses == 1 else 'responses'} with a 4xx/5xx status"
        if self.cancelled:
            text += f", {len(self.cancelled)} cancelled"
        return text

    def table(self, *, colour: bool = False, width: int = 48) -> str:
        """A text table of every route: status, time and result (or error)."""
        green, red, dim, reset = (
            ("\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[0m") if colour else ("", "", "", "")
        )
        rows = [("", "route", "method", "status", "time", "result")]
        marks = []
        for name, o in self.outcomes.items():
            result = _short(repr(o.value) if o.error is None else _describe(o.error), width)
            status = "-" if o.status is None else str(o.status)
            time = "-" if o.status is None else f"{o.elapsed * 1000:.1f}ms"
            mark = "✔" if o.error is None else "✘"
            rows.append((mark, name, o.method, status, time, result))
            marks.append(green if o.error is None else red)
        for name in self.cancelled:
            rows.append(("…", name, "", "", "", "cancelled"))
            marks.append(dim)
        sizes = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = []
        for index, row in enumerate(rows):
            cells = [row[0].ljust(sizes[0]), row[1].ljust(sizes[1]), row[2].ljust(sizes[2]),
                     row[3].rjust(sizes[3]), row[4].rjust(sizes[4]), row[5]]
            line = "  ".join(cells).rstrip()
            if index == 0:
                lines.append(f"{dim}{line}{reset}")
            else:
                lines.append(f"{marks[index - 1]}{line}{reset}")
        lines.append(f"{dim}{self.summary()} in {self.elapsed:.2f}s{reset}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RunResults {self.summary()} in {self.elapsed:.2f}s>"


def _describe(error: BaseException) -> str:
    """A table-sized account of an error: the fields of a failed validation, the status of an
    HTTPStatusError, else the exception's own sentence."""
    kind = type(error).__name__
    fields = getattr(error, "errors", None)
    if isinstance(fields, list) and fields and isinstance(fields[0], dict):
        names = ", ".join(".".join(str(p) for p in f.get("loc", ())) or "body" for f in fields)
        return f"{kind}: invalid {names}"
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"{kind}: {status} {getattr(response, 'reason', '')}".rstrip()
    return f"{kind}: {error}"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
