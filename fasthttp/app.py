"""``FastHTTP``: the declarative face. Routes are declared with decorators and sent
concurrently by ``app.run()`` over one ``AsyncSession`` (one pipeline, one pool).

For each route, in the seed's order: dependencies edit a fresh config dict,
``request_model`` validates the body, then ``session.send()`` runs middleware,
security and the transport, and the handler gets the response (or, with
``response_model``, the validated model). A 4xx/5xx response still reaches its
handler (``raise_for_status=True`` makes it the route's error instead). One
failing route never stops the others; ``run()`` returns a ``RunResults`` mapping
route name -> return value or exception, and logs the run (see ``runlog``).

Requests in flight are capped by ``concurrency=``, or by the pool size
(``Limits.max_connections``, 100) when it is not set, so queued routes do not
spend their timeout waiting for a connection. Routes beyond the cap wait their
turn in declaration order.

Ctrl-C: in-flight requests are cancelled, connections closed, the lifespan's
shutdown still runs and the log says what finished; ``run()`` then returns the
partial results (``results.interrupted`` is True, ``results.cancelled`` names the
routes that did not finish), as ``uvicorn.run()`` returns after a Ctrl-C.
``arun()`` re-raises the cancellation, as coroutines must.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeAlias

from .config import Limits, SecurityConfig, Timeout
from .dependencies import Depends
from .exceptions import InvalidURL
from .logging import install_console_handler, logger
from .middleware.base import normalize_middleware
from .models import to_url
from .results import RunResults
from .routing import (
    REQUEST_OPTION_KEYS,
    Route,
    RouteDefinitionError,
    Router,
    RouteRegistrar,
    check_routes,
)
from .runlog import RunLog
from .runner import Analysis, RequestShape, Run
from .session import AsyncSession

if TYPE_CHECKING:

    from .cookies import CookieJar

__all__ = ["FastHTTP", "Lifespan"]

Lifespan: TypeAlias = Callable[["FastHTTP"], AbstractAsyncContextManager[Any]]

_perf = time.perf_counter


def _request_options(value: Any, argument: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument}= must be a dict like {{'headers': {{...}}}}; got {value!r}.")
    unknown = sorted(set(value) - REQUEST_OPTION_KEYS)
    if unknown:
        raise TypeError(
            f"{argument}= has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"use {', '.join(sorted(REQUEST_OPTION_KEYS))}."
        )
    return dict(value)


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``fasthttp-client[speed]``): ~1.5x the request rate
    of asyncio's own loop; None (the default loop) otherwise, or when FASTHTTP_UVLOOP=0."""
    if os.environ.get("FASTHTTP_UVLOOP", "1") == "0":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class FastHTTP(RouteRegistrar):
    """A declarative HTTP client: decorate ``async def`` handlers, then ``app.run()``.

    ``get_request=`` holds the request options every route starts from (the
    seed's "global headers for all requests"); ``post_request=``, ``put_request=``,
    ... add options for routes of that method on top. Options are ``headers``,
    ``params`` and ``timeout``. Set attributes on the app freely (``app.token = ...``
    in a lifespan); handlers see them.

    ``debug``, ``base_url``, ``middleware``, ``security``, ``http2``, ``proxy``,
    ``cookie_jar``, ``secret_key``, ``timeout`` and ``limits`` configure the one
    ``AsyncSession`` each run opens (and closes). ``concurrency`` caps requests in
    flight (default: the pool size, 100). ``raise_for_status=True`` makes a 4xx/5xx
    the route's error instead of handing it to the handler (a route can override
    it). ``dependencies`` run before every route's own. ``lifespan`` is an
    ``@asynccontextmanager`` taking the app: startup before the first request,
    shutdown after the last, also when the run failed or was interrupted.

    Handlers receive the ``Response`` (any status), or the validated model when the
    route has ``response_model=``. Type annotations are welcome but not required.
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        base_url: str | None = None,
        get_request: Mapping[str, Any] | None = None,
        post_request: Mapping[str, Any] | None = None,
        put_request: Mapping[str, Any] | None = None,
        patch_request: Mapping[str, Any] | None = None,
        delete_request: Mapping[str, Any] | None = None,
        head_request: Mapping[str, Any] | None = None,
        options_request: Mapping[str, Any] | None = None,
        lifespan: Lifespan | None = None,
        middleware: Any = None,
        security: SecurityConfig | bool = True,
        http2: bool = False,
        proxy: str | None = None,
        cookie_jar: CookieJar | None = None,
        secret_key: bytes | None = None,
        concurrency: int | None = None,
        raise_for_status: bool = False,
        timeout: Timeout | float | None = 30.0,
        limits: Limits | None = None,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise ValueError(
                f"concurrency={concurrency!r} must be a whole number >= 1 (requests in flight "
                "at once), or None for the pool size."
            )
        if lifespan is not None and not callable(lifespan):
            raise TypeError(
                "lifespan= must be an @asynccontextmanager function taking the app; "
                f"got {type(lifespan).__name__}."
            )
        if base_url is not None:
            to_url(base_url)
        normalize_middleware(middleware)  # a class instead of an instance fails here, not mid-run
        per_method = {
            "GET": get_request, "POST": post_request, "PUT": put_request,
            "PATCH": patch_request, "DELETE": delete_request, "HEAD": head_request,
            "OPTIONS": options_request,
        }
        self._defaults = {
            method: _request_options(value, f"{method.lower()}_request")
            for method, value in per_method.items()
        }
        deps = tuple(dependencies or ())
        for dependency in deps:
            if not isinstance(dependency, Depends):
                raise TypeError(f"dependencies= items must be Depends(fn); got {dependency!r}.")
        self.debug = bool(debug)
        self.base_url = base_url
        self.lifespan = lifespan
        self.middleware = middleware
        self.security = security
        self.http2 = bool(http2)
        self.proxy = proxy
        self.cookie_jar = cookie_jar
        self.secret_key = secret_key
        self.concurrency = concurrency
        self.raise_for_status = bool(raise_for_status)
        self.timeout = Timeout.coerce(timeout)
        self.limits = limits
        self.dependencies = deps
        self.routes: list[Route] = []
        self._names: set[str] = set()

    # Attributes set by users (``app.auth_token = ...`` in a lifespan) are welcome; these two
    # methods tell type checkers so, and turn a typo into an error that says what exists.
    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"FastHTTP app has no attribute {name!r}. Set it before use, e.g. in the lifespan: "
            f"app.{name} = ..."
        )

    def __repr__(self) -> str:
        return f"<FastHTTP routes={len(self.routes)}>"

    # -- declaration --------------------------------------------------------------------------
    def _add_route(self, route: Route) -> None:
        name = route.name
        if name in self._names:
            index = 2
            while f"{name}_{index}" in self._names:
                index += 1
            name = f"{name}_{index}"
            route = dataclasses.replace(route, name=name)
        self._names.add(name)
        self.routes.append(route)

    def include_router(
        self,
        router: Router,
        *,
        prefix: str = "",
        tags: Iterable[str] | str | None = None,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        """Add ``router``'s routes (under ``prefix``, with ``tags`` and ``dependencies`` first)."""
        outer = Router(prefix=prefix, tags=tags, dependencies=dependencies)
        outer.include_router(router)
        for route in outer.routes:
            self._add_route(route)

    # -- analysis -----------------------------------------------------------------------------
    def _prepare(self, tags: Iterable[str] | str | None) -> tuple[list[Route], list[RequestShape]]:
        """Check every route (all of them, whatever ``tags`` selects) and resolve the selected
        ones' requests; raise RouteDefinitionError listing every problem. Nothing is sent."""
        problems = check_routes(self.routes, self.base_url)
        if problems:
            raise RouteDefinitionError(problems)
        routes = self.routes
        if tags:
            wanted = {tags} if isinstance(tags, str) else set(tags)
            routes = [r for r in routes if wanted.intersection(r.tags)]
        analysis = Analysis(self)
        shapes = []
        for route in routes:
            try:
                shapes.append(analysis.shape(route))
            except InvalidURL as exc:
                problems.append(f"{route.method} route {route.function_name}() ({route.location}): {exc}")
        if problems:
            raise RouteDefinitionError(problems)
        return list(routes), shapes

    def check(self) -> None:
        """Check every route now; raise RouteDefinitionError listing every problem."""
        self._prepare(None)

    # -- execution ----------------------------------------------------------------------------
    def run(self, tags: Iterable[str] | str | None = None) -> RunResults:
        """Send the selected routes (all, or those with any of ``tags``) and return the results.

        Blocks until every route has finished. Call it from synchronous code; inside a
        running event loop use ``await app.arun()``.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "app.run() was called inside a running event loop (an 'async def', a Jupyter "
                "cell, pytest-asyncio); it would have to block that loop. Use "
                "'results = await app.arun()' there instead."
            )
        holder: list[RunResults] = []
        try:
            if sys.version_info >= (3, 11):
                with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
                    return runner.run(self._arun(tags, holder))
            return asyncio.run(self._arun(tags, holder))  # Python 3.10: asyncio's own loop
        except KeyboardInterrupt:
            if not holder or not holder[0].interrupted:
                raise
            return holder[0]

    async def arun(self, tags: Iterable[str] | str | None = None) -> RunResults:
        """``run()`` for code already inside an event loop."""
        return await self._arun(tags, [])

    def _session(self) -> AsyncSession:
        limits = self.limits
        if limits is None and self.concurrency is not None and self.concurrency > 100:
            limits = Limits(max_connections=self.concurrency)
        return AsyncSession(
            base_url=self.base_url,
            timeout=self.timeout,
            http2=self.http2,
            proxy=self.proxy,
            security=self.security,
            middleware=self.middleware,
            cookie_jar=self.cookie_jar,
            debug=self.debug,
            secret_key=self.secret_key,
            limits=limits,
        )

    async def _arun(
        self, tags: Iterable[str] | str | None, holder: list[RunResults]
    ) -> RunResults:
        routes, shapes = self._prepare(tags)
        console = install_console_handler(logging.DEBUG if self.debug else logging.INFO)
        if tags and not routes:
            known = sorted({t for r in self.routes for t in r.tags})
            logger.warning(
                "No route has the tag(s) %s; known tags: %s", tags, ", ".join(known) or "none"
            )
        session = self._session()
        results = RunResults([route.name for route in routes], [route.method for route in routes])
        holder.append(results)
        runlog = RunLog(len(routes), debug=self.debug, console=console)
        lifespan = self.lifespan(self) if self.lifespan is not None else None
        if lifespan is not None:
            await lifespan.__aenter__()
        try:
            await session.open()
            runlog.begin()
            interrupted = True
            try:
                await Run(self, session, runlog, results, self.debug).run_all(
                    routes, shapes, self._cap(session)
                )
                interrupted = False
            finally:
                results._finish(_perf() - runlog.started, interrupted)
                try:
                    await session.close()
                finally:
                    runlog.end(results)
        finally:
            if lifespan is not None:
                # Shutdown code after 'yield' runs even when the run failed or was cancelled.
                await lifespan.__aexit__(None, None, None)
        return results

    def _cap(self, session: AsyncSession) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return session.limits.max_connections
