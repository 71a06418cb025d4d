"""One run of a FastHTTP app: routes resolved into request shapes, then sent and handled.

Analysis (``Analysis``, ``RequestShape``): once per run, before anything is sent,
each checked route is resolved into what the hot path needs (absolute URL, merged
headers and params, timeout, the build arguments, the masked URL for the log);
routes that send the same request share one shape, and so one parsed URL.

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
from .models import Headers, Request, build_url, join_url, to_url
from .results import RunResults
from .routing import Route, is_absolute_url
from .runlog import RunLog
from .security.redact import mask_url
from .session import AsyncSession
from .validation import RequestValidationError, validate_request, validate_response

if TYPE_CHECKING:
    from yarl import URL

    from .app import FastHTTP

__all__ = ["Analysis", "RequestShape", "Run"]

_perf = time.perf_counter
#: A worker yields to the loop at least once every this many routes (see ``Run.run_all``).
_YIELD_EVERY = 16


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
    """What every route of one run shares: per-method defaults, parsed URLs and the request
    shapes of routes that send the same request (a generated app's thousands of routes
    to one endpoint share one)."""

    __slots__ = ("app", "defaults", "shapes", "urls")

    def __init__(self, app: FastHTTP) -> None:
        self.app = app
        base = app._defaults["GET"]  # get_request=: the default of every route
        self.defaults = {
            method: merge_options((base, app._defaults[method] if method != "GET" else None))
            for method in app._defaults
        }
        self.urls: dict[tuple[str | None, str], tuple[URL, str]] = {}
        self.shapes: dict[tuple[str, str | None, str], RequestShape] = {}

    def url(self, base: str | None, url: str) -> tuple[URL, str]:
        """``url`` resolved against ``base`` (parsed once per distinct pair), and its text."""
        key = (base, url)
        cached = self.urls.get(key)
        if cached is None:
            # (a relative URL without any base was rejected by route_problems before this)
            parsed = to_url(url) if is_absolute_url(url) or base is None else join_url(to_url(base), url)
            cached = self.urls[key] = (parsed, str(parsed))
        return cached

    def shape(self, route: Route) -> RequestShape:
        """The request ``route`` sends, shared with every route that sends the same one."""
        if (
            route.request or route.headers or route.params or route.timeout is not None
            or route.json is not None or route.data is not None
        ):
            return RequestShape(route, self)
        key = (route.method, route.base_url or self.app.base_url, route.url)
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = RequestShape(route, self)
        return shape


class RequestShape:
    """What a route sends, resolved once: absolute URL, merged headers and params, timeout,
    body, the masked URL for the log and the keyword arguments of ``build_request``.
    Its values are never mutated (``build_request`` and dependency configs copy from them);
    ``template`` is filled in once, by the first route that sends it."""

    __slots__ = (
        "data", "full", "headers", "json", "kwargs", "masked", "method", "params", "template",
        "timeout", "url", "url_text",
    )

    def __init__(self, route: Route, analysis: Analysis) -> None:
        self.method = route.method
        defaults = analysis.defaults[route.method]
        if route.request or route.headers or route.params or route.timeout is not None:
            own = merge_options((route.request, {"headers": route.headers, "params": route.params}))
            headers = defaults.headers.copy() if own.headers else defaults.headers
            headers.update(own.headers)
            params = {**defaults.params, **own.params}
            timeout = route.timeout if route.timeout is not None else own.timeout
            self.timeout = timeout if timeout is not None else defaults.timeout
        else:  # shared with other routes: never mutated
            headers, params, self.timeout = defaults.headers, defaults.params, defaults.timeout
        self.headers = headers
        self.params = params
        url, self.url_text = analysis.url(route.base_url or analysis.app.base_url, route.url)
        self.url: URL = url
        self.json = route.json
        self.data = route.data
        self.full: URL = build_url(url, params) if params else url
        self.masked = mask_url(self.full) if params else mask_url(self.url_text)
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
        #: The first Request built from this shape by the run's session (``Run.request``).
        self.template: Request | None = None


def being_cancelled() -> bool:
    """True when the current task itself is being cancelled (the run was interrupted), as
    opposed to a handler raising CancelledError on its own (Python 3.10: always True)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


def where(route: Route, shape: RequestShape) -> str:
    """``name (METHOD url)`` for error messages."""
    return f"{route.name} ({shape.method} {shape.masked})"


def fresh_config(shape: RequestShape) -> dict[str, Any]:
    """The dict a dependency receives: a new copy for every route it runs for."""
    return {
        "url": shape.url_text,
        "params": dict(shape.params),
        "json": copy.deepcopy(shape.json),
        "data": copy.deepcopy(shape.data),
        "headers": dict(shape.headers.items()),
        "timeout": shape.timeout,
    }


class Run:
    """One run in progress: sends the routes, records outcomes, writes the per-request log.

    Per route the hot path reads the route and its shared ``RequestShape`` directly (no
    per-route object is made or kept: a 10,000-route run is mostly this loop)."""

    __slots__ = (
        "app_dependencies", "build", "debug", "log", "raise_for_status", "results", "send",
    )

    def __init__(
        self, app: FastHTTP, session: AsyncSession, log: RunLog, results: RunResults, debug: bool
    ) -> None:
        self.app_dependencies: tuple[Depends, ...] = app.dependencies
        self.raise_for_status = app.raise_for_status
        self.build = session.build_request
        self.send = session.send
        self.log = log
        self.results = results
        self.debug = debug

    async def run_all(self, routes: list[Route], shapes: list[RequestShape], cap: int) -> None:
        """Send every route, at most ``cap`` at a time, in declaration order."""
        pending = iter(enumerate(routes))  # shared by the workers: each takes the next when free
        run_one = self.run_one
        record = self.results._record

        async def worker() -> None:
            streak = 0
            for index, route in pending:
                streak += 1
                try:
                    done = await run_one(route, shapes[index], index)
                except asyncio.CancelledError:
                    if being_cancelled():
                        raise
                    # The handler itself raised CancelledError: that route's error, not the run's.
                    record(index, shapes[index].masked, None, 0.0, None, asyncio.CancelledError())
                    done = False
                if not done or streak == _YIELD_EVERY:
                    # A route that fails without I/O (a circuit open, a validation error) or is
                    # answered from a cache does not suspend; yield so a worker cannot hold the
                    # loop while other requests' timers run out.
                    streak = 0
                    await asyncio.sleep(0)

        await asyncio.gather(*[worker() for _ in range(min(cap, len(routes)))])

    async def run_one(self, route: Route, shape: RequestShape, index: int) -> bool:
        """Run one route and record its outcome; True when its response came back (the
        worker suspended on I/O). Exceptions other than cancellation never leave it."""
        log = self.log
        record = self.results._record
        method = shape.method
        simple = not (route.dependencies or self.app_dependencies or route.request_model is not None)
        try:
            request = self.request(shape) if simple else await self._prepare(route, shape)
        except Exception as exc:
            log.not_sent(method, shape.masked, exc)
            record(index, shape.masked, None, 0.0, None, exc)
            return False
        url = shape.masked if simple else mask_url(request.url)
        started = _perf()
        try:
            response = await self.send(request)
        except Exception as exc:
            elapsed = _perf() - started
            log.request_failed(method, url, exc, elapsed * 1000)
            record(index, url, None, elapsed, None, exc)
            return False
        finished = _perf()
        elapsed = finished - started
        status = response.status_code
        log.response(method, url, status, elapsed * 1000, finished)
        handler_started = _perf() if self.debug else 0.0
        try:
            raise_for_status = route.raise_for_status
            if raise_for_status is None:
                raise_for_status = self.raise_for_status
            if raise_for_status and status >= 400:
                response.raise_for_status()
            if route.response_model is not None:
                value = await route.handler(
                    validate_response(route.response_model, response, where(route, shape))
                )
            else:
                value = await route.handler(response)
        except Exception as exc:
            expected = isinstance(exc, FastHTTPError) and not isinstance(exc, RequestValidationError)
            log.route_failed(route.name, exc, expected=expected)
            if self.debug:
                log.details(route.name, request, response, elapsed * 1000, 0.0, exc, failed=True)
            record(index, url, status, elapsed, None, exc)
            return True
        if self.debug:
            log.details(
                route.name, request, response, elapsed * 1000,
                (_perf() - handler_started) * 1000, value,
            )
        record(index, url, status, elapsed, value, None)
        return True

    def request(self, shape: RequestShape) -> Request:
        """A fresh Request for a route without dependencies or request model: built (and
        checked) by the session once per shape, then copied, body bytes shared. The
        pipeline mutates requests (cookies, signatures), so each route gets its own."""
        template = shape.template
        if template is None:
            template = self.build(shape.method, shape.full, **shape.kwargs)
            if not isinstance(template.content, (bytes, type(None))):
                return template  # a body that can be read once: never shared
            shape.template = template
        return Request._trusted(
            template.method, template.url, template.headers.copy(), template.content,
            template.timeout,
        )

    async def _prepare(self, route: Route, shape: RequestShape) -> Request:
        """Dependencies (the app's, then the route's), then request validation, then the Request."""
        dependencies = (*self.app_dependencies, *route.dependencies)
        if not dependencies:
            if route.request_model is not None:
                validate_request(route.request_model, shape.json, shape.data, where(route, shape))
            return self.build(shape.method, shape.url, params=shape.params, **shape.kwargs)
        config = fresh_config(shape)
        for dependency in dependencies:
            config = await apply_dependency(dependency, route, config, where(route, shape))
        json, data = config.get("json"), config.get("data")
        if route.request_model is not None:
            validate_request(route.request_model, json, data, where(route, shape))
        url: Any = config.get("url")
        if url == shape.url_text:
            url = shape.url
        kwargs: dict[str, Any] = {}
        if config.get("timeout") is not None:
            kwargs["timeout"] = config["timeout"]
        return self.build(
            shape.method, url, params=config.get("params") or None,
            headers=config.get("headers") or None, json=json, data=data, **kwargs,
        )
