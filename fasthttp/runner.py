"""One run of a FastHTTP app: routes resolved into plans, then sent and handled.

Analysis (``Plan``): once per run, each checked route is resolved into what the
hot path needs (absolute URL, merged headers and params, timeout, the build
arguments), sharing the app's per-method defaults and parsed URLs between routes.

Execution (``Run``), per route: dependencies edit a fresh config dict,
``request_model`` validates the body, ``session.send()`` runs middleware,
security and the transport, then the handler gets the response (or, with
``response_model``, the validated model). Every outcome is recorded in the
``RunResults`` and logged; an exception never leaves a route, so one failing
route never cancels the others. Cancellation (Ctrl-C) does propagate.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .dependencies import Depends, apply_dependency
from .exceptions import FastHTTPError
from .models import Headers, build_url, join_url, to_url
from .results import RouteOutcome, RunResults
from .routing import Route, is_absolute_url
from .runlog import RunLog
from .security.redact import mask_url
from .session import AsyncSession
from .validation import RequestValidationError, validate_request, validate_response

if TYPE_CHECKING:
    from yarl import URL

    from .app import FastHTTP
    from .models import Request

__all__ = ["Analysis", "Plan", "Run"]

_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class RequestDefaults:
    """The app-level request options of one method, merged (get_request= then <method>_request=)."""

    headers: Headers
    params: dict[str, Any]
    timeout: Any


def merge_options(layers: Iterable[Mapping[str, Any] | None]) -> RequestDefaults:
    headers = Headers()
    params: dict[str, Any] = {}
    timeout = None
    for options in layers:
        if not options:
            continue
        if options.get("headers"):
            headers.update(Headers(options["headers"]))
        if options.get("params"):
            params.update(options["params"])
        if options.get("timeout") is not None:
            timeout = options["timeout"]
    return RequestDefaults(headers, params, timeout)


class Analysis:
    """What every plan of one run shares: per-method defaults and parsed URLs."""

    __slots__ = ("app", "defaults", "urls")

    def __init__(self, app: FastHTTP) -> None:
        self.app = app
        base = app._defaults["GET"]  # get_request=: the default of every route
        self.defaults = {
            method: merge_options((base, app._defaults[method] if method != "GET" else None))
            for method in app._defaults
        }
        self.urls: dict[tuple[str | None, str], tuple[URL, str]] = {}

    def url(self, base: str | None, url: str) -> tuple[URL, str]:
        """``url`` resolved against ``base`` (parsed once per distinct pair), and its text."""
        key = (base, url)
        cached = self.urls.get(key)
        if cached is None:
            # (a relative URL without any base was rejected by route_problems before this)
            parsed = to_url(url) if is_absolute_url(url) or base is None else join_url(to_url(base), url)
            cached = self.urls[key] = (parsed, str(parsed))
        return cached


def being_cancelled() -> bool:
    """True when the current task itself is being cancelled (the run was interrupted), as
    opposed to a handler raising CancelledError on its own (Python 3.10: always True)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


class Plan:
    """A checked route, resolved once per run: everything the hot path needs, precomputed."""

    __slots__ = (
        "data", "dependencies", "handler", "headers", "json", "kwargs", "masked", "method",
        "name", "params", "raise_for_status", "request_model", "response_model", "route",
        "simple", "timeout", "url", "url_text",
    )

    def __init__(self, route: Route, analysis: Analysis) -> None:
        app = analysis.app
        self.route = route
        self.name = route.name
        self.method = route.method
        self.handler = route.handler
        defaults = analysis.defaults[route.method]
        if route.request or route.headers or route.params or route.timeout is not None:
            own = merge_options((route.request, {"headers": route.headers, "params": route.params}))
            headers = defaults.headers.copy() if own.headers else defaults.headers
            headers.update(own.headers)
            params = {**defaults.params, **own.params}
            timeout = route.timeout if route.timeout is not None else own.timeout
            self.timeout = timeout if timeout is not None else defaults.timeout
        else:  # shared with other routes: never mutated (build_request and configs copy it)
            headers, params, self.timeout = defaults.headers, defaults.params, defaults.timeout
        self.headers = headers
        self.params = params
        url, self.url_text = analysis.url(route.base_url or app.base_url, route.url)
        self.json = route.json
        self.data = route.data
        self.dependencies: tuple[Depends, ...] = (*app.dependencies, *route.dependencies)
        self.request_model = route.request_model
        self.response_model = route.response_model
        self.raise_for_status = (
            app.raise_for_status if route.raise_for_status is None else route.raise_for_status
        )
        full = build_url(url, params) if params else url
        self.masked = mask_url(full) if params else mask_url(self.url_text)
        kwargs: dict[str, Any] = {}
        if headers:
            kwargs["headers"] = headers
        if route.json is not None:
            kwargs["json"] = route.json
        if route.data is not None:
            kwargs["data"] = route.data
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        self.kwargs = kwargs
        self.simple = not self.dependencies and self.request_model is None
        self.url: URL = full if self.simple else url

    @property
    def where(self) -> str:
        """``name (METHOD url)`` for error messages."""
        return f"{self.name} ({self.method} {self.masked})"

    def fresh_config(self) -> dict[str, Any]:
        """The dict a dependency receives: a new copy on every run."""
        return {
            "url": self.url_text,
            "params": dict(self.params),
            "json": copy.deepcopy(self.json),
            "data": copy.deepcopy(self.data),
            "headers": dict(self.headers.items()),
            "timeout": self.timeout,
        }


class Run:
    """One run in progress: sends plans, records outcomes, writes the per-request log."""

    __slots__ = ("build", "debug", "log", "results", "send")

    def __init__(self, session: AsyncSession, log: RunLog, results: RunResults, debug: bool):
        self.build = session.build_request
        self.send = session.send
        self.log = log
        self.results = results
        self.debug = debug

    async def run_all(self, plans: list[Plan], cap: int) -> None:
        if len(plans) <= cap:
            await asyncio.gather(*[self.run_one(plan) for plan in plans])
            return
        pending = iter(plans)  # shared by the workers: each takes the next plan when free

        async def worker() -> None:
            for plan in pending:
                await self.run_one(plan)
                # A route that fails without I/O (a circuit open, a validation error) never suspends;
                # yield so a worker cannot hold the loop while other requests' timers run out.
                await asyncio.sleep(0)

        await asyncio.gather(*[worker() for _ in range(cap)])

    async def run_one(self, plan: Plan) -> None:
        try:
            await self._run_one(plan)
        except asyncio.CancelledError:
            if being_cancelled():
                raise
            self._record(plan, plan.masked, None, 0.0, None, asyncio.CancelledError())

    def _record(
        self, plan: Plan, url: str, status: int | None, elapsed: float, value: Any,
        error: BaseException | None,
    ) -> None:
        self.results._record(RouteOutcome(plan.name, plan.method, url, status, elapsed, value, error))

    async def _run_one(self, plan: Plan) -> None:
        log = self.log
        try:
            if plan.simple:
                request = self.build(plan.method, plan.url, **plan.kwargs)
            else:
                request = await self._prepare(plan)
        except Exception as exc:
            log.not_sent(plan.method, plan.masked, exc)
            self._record(plan, plan.masked, None, 0.0, None, exc)
            return
        url = plan.masked if plan.simple else mask_url(request.url)
        started = _perf()
        try:
            response = await self.send(request)
        except Exception as exc:
            elapsed = _perf() - started
            log.request_failed(plan.method, url, exc, elapsed * 1000)
            self._record(plan, url, None, elapsed, None, exc)
            return
        elapsed = _perf() - started
        status = response.status_code
        log.response(plan.method, url, status, elapsed * 1000)
        handler_started = _perf()
        try:
            if plan.raise_for_status and status >= 400:
                response.raise_for_status()
            if plan.response_model is not None:
                value = await plan.handler(
                    validate_response(plan.response_model, response, plan.where)
                )
            else:
                value = await plan.handler(response)
        except Exception as exc:
            expected = isinstance(exc, FastHTTPError) and not isinstance(exc, RequestValidationError)
            log.route_failed(plan.name, exc, expected=expected)
            if self.debug:
                log.details(plan.name, request, response, elapsed * 1000, 0.0, exc, failed=True)
            self._record(plan, url, status, elapsed, None, exc)
            return
        if self.debug:
            log.details(
                plan.name, request, response, elapsed * 1000, (_perf() - handler_started) * 1000,
                value,
            )
        self._record(plan, url, status, elapsed, value, None)

    async def _prepare(self, plan: Plan) -> Request:
        """Dependencies, then request validation, then the Request."""
        if not plan.dependencies:
            if plan.request_model is not None:
                validate_request(plan.request_model, plan.json, plan.data, plan.where)
            return self.build(plan.method, plan.url, params=plan.params, **plan.kwargs)
        config = plan.fresh_config()
        for dependency in plan.dependencies:
            config = await apply_dependency(dependency, plan.route, config, plan.where)
        json, data = config.get("json"), config.get("data")
        if plan.request_model is not None:
            validate_request(plan.request_model, json, data, plan.where)
        url: Any = config.get("url")
        if url == plan.url_text:
            url = plan.url
        kwargs: dict[str, Any] = {}
        if config.get("timeout") is not None:
            kwargs["timeout"] = config["timeout"]
        return self.build(
            plan.method, url, params=config.get("params") or None,
            headers=config.get("headers") or None, json=json, data=data, **kwargs,
        )
