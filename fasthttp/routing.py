"""Routes: the frozen ``Route`` record, ``Router``, and the decorators shared by both faces.

Declaration, analysis, execution (as in FastAPI): ``@app.get(...)`` only records a
frozen ``Route`` and returns the function unchanged; ``FastHTTP`` checks every
route (``route_problems``) before the first request of a run and raises one
``RouteDefinitionError`` listing each problem with the function it is in and the
fix; then it runs them.

Merging, outermost first: app (``FastHTTP(dependencies=...)``), ``include_router(...,
prefix=, tags=, dependencies=)``, ``Router(prefix=, tags=, dependencies=)``, the route.
Prefixes are joined in that order, tags and dependencies concatenated in that
order (a tag listed twice is kept once). An absolute route URL ignores prefixes.
A router's ``base_url`` is used for its relative routes instead of the app's.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, TypeVar

from .dependencies import Depends
from .exceptions import FastHTTPError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .config import Timeout

__all__ = [
    "METHODS",
    "REQUEST_OPTION_KEYS",
    "Handler",
    "Route",
    "RouteDefinitionError",
    "RouteRegistrar",
    "Router",
    "check_routes",
    "is_absolute_url",
    "route_problems",
]

Handler: TypeAlias = Callable[[Any], Awaitable[Any]]
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: Keys accepted in ``get_request=`` (route or app) and ``post_request=`` etc. (app).
REQUEST_OPTION_KEYS = frozenset({"headers", "params", "timeout"})


class RouteDefinitionError(FastHTTPError, TypeError):
    """One or more routes cannot run; the message lists each function, what is wrong and the fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = "A route cannot run" if count == 1 else f"{count} routes cannot run"
        super().__init__(f"{head}; nothing was sent:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True, eq=False, slots=True)  # slots: 10,000 routes, read on every run
class Route:
    """One declared request: what to send, and the ``async def`` handler that gets the response.

    ``name`` is the key of this route in ``RunResults`` (the handler's ``__name__``,
    made unique by the app: ``name``, ``name_2``, ...). ``request`` holds the
    route's ``get_request=`` options. ``timeout=None`` means the app's default.
    """

    method: str
    url: str
    handler: Handler
    name: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Any = None
    headers: Mapping[str, str] | None = None
    request: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()
    dependencies: tuple[Any, ...] = ()
    request_model: Any = None
    response_model: Any = None
    timeout: Timeout | float | None = None
    raise_for_status: bool | None = None
    base_url: str | None = None

    @property
    def function_name(self) -> str:
        """The handler's name as written in its ``def``."""
        handler = self.handler
        return getattr(handler, "__name__", None) or type(handler).__name__

    @property
    def location(self) -> str:
        """Where the handler is defined, ``file.py:12``, or "" when unknown."""
        code = getattr(inspect.unwrap(self.handler), "__code__", None)
        if code is None:
            return ""
        return f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"

    def __repr__(self) -> str:
        tags = f" tags={list(self.tags)}" if self.tags else ""
        return f"<Route {self.name}: {self.method} {self.url}{tags}>"


def is_absolute_url(url: str) -> bool:
    """True for ``scheme://...`` and ``//host/...``."""
    return "://" in url[:16] or url.startswith("//")


def _join_prefix(prefix: str, url: str) -> str:
    if not prefix or is_absolute_url(url):
        return url
    if not url:
        return prefix
    if url.startswith("?"):
        return prefix + url
    return prefix.rstrip("/") + "/" + url.lstrip("/")


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix= must be a path string like '/v1'; got {type(prefix).__name__}.")
    if prefix and not prefix.startswith("/"):
        raise ValueError(f"prefix={prefix!r} must start with '/': write prefix='/{prefix}'.")
    return prefix.rstrip("/")


def _tags(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(tags)


def _merge_tags(outer: tuple[str, ...], inner: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*outer, *inner)))


def mount(
    route: Route,
    *,
    prefix: str = "",
    tags: tuple[str, ...] = (),
    dependencies: tuple[Any, ...] = (),
    base_url: str | None = None,
) -> Route:
    """``route`` as seen from one level further out (a router, an include)."""
    if not (prefix or tags or dependencies or base_url):
        return route
    return dataclasses.replace(
        route,
        url=_join_prefix(prefix, route.url),
        tags=_merge_tags(tags, route.tags),
        dependencies=(*dependencies, *route.dependencies),
        base_url=route.base_url or base_url,
    )


class RouteOptions(TypedDict, total=False):
    """The keyword arguments of the route decorators (see ``RouteRegistrar.route``)."""

    params: Mapping[str, Any] | None
    json: Any
    data: Any
    headers: Mapping[str, str] | None
    get_request: Mapping[str, Any] | None
    tags: Iterable[str] | str | None
    dependencies: Sequence[Depends] | None
    request_model: Any
    response_model: Any
    timeout: Timeout | float | None
    raise_for_status: bool | None
    name: str | None


class RouteRegistrar:
    """The decorators shared by ``FastHTTP`` and ``Router``; subclasses store the route."""

    def _add_route(self, route: Route) -> None:
        raise NotImplementedError

    def route(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        get_request: Mapping[str, Any] | None = None,
        tags: Iterable[str] | str | None = None,
        dependencies: Sequence[Depends] | None = None,
        request_model: Any = None,
        response_model: Any = None,
        timeout: Timeout | float | None = None,
        raise_for_status: bool | None = None,
        name: str | None = None,
    ) -> Callable[[HandlerT], HandlerT]:
        """Record a ``method`` request to ``url`` handled by the decorated ``async def``."""

        def decorator(handler: HandlerT) -> HandlerT:
            route = Route(
                method=str(method).upper(),
                url=url,
                handler=handler,
                name=name or getattr(handler, "__name__", None) or type(handler).__name__,
                params=params,
                json=json,
                data=data,
                headers=headers,
                request=get_request,
                tags=_tags(tags),
                dependencies=tuple(dependencies or ()),
                request_model=request_model,
                response_model=response_model,
                timeout=timeout,
                raise_for_status=raise_for_status,
            )
            self._add_route(route)
            return handler

        return decorator

    def get(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a GET request; the decorated ``async def handler(resp)`` gets the response (see ``route()``)."""
        return self.route("GET", url, **options)

    def post(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a POST request (body from ``json=`` or ``data=``). Options: see ``route()``."""
        return self.route("POST", url, **options)

    def put(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a PUT request (body from ``json=`` or ``data=``). Options: see ``route()``."""
        return self.route("PUT", url, **options)

    def patch(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a PATCH request (body from ``json=`` or ``data=``). Options: see ``route()``."""
        return self.route("PATCH", url, **options)

    def delete(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a DELETE request. Options: see ``route()``."""
        return self.route("DELETE", url, **options)

    def head(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record a HEAD request (the response has headers and no body). Options: see ``route()``."""
        return self.route("HEAD", url, **options)

    def options(self, url: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        """Record an OPTIONS request. Options: see ``route()``."""
        return self.route("OPTIONS", url, **options)
class Router(RouteRegistrar):
    """A group of routes sharing a URL prefix, a base URL, tags and dependencies.

    Declare routes with ``@router.get(...)`` like on the app, then
    ``app.include_router(router)``. Routers nest with ``router.include_router(other)``.
    """

    def __init__(
        self,
        prefix: str = "",
        base_url: str | None = None,
        tags: Iterable[str] | str | None = None,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        self.prefix = _check_prefix(prefix)
        self.base_url = base_url
        self.tags = _tags(tags)
        self.dependencies = tuple(dependencies or ())
        self.routes: list[Route] = []

    def _add_route(self, route: Route) -> None:
        self.routes.append(
            mount(
                route, prefix=self.prefix, tags=self.tags, dependencies=self.dependencies,
                base_url=self.base_url,
            )
        )

    def include_router(
        self,
        router: Router,
        *,
        prefix: str = "",
        tags: Iterable[str] | str | None = None,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        """Add ``router``'s routes here (under ``prefix``, with ``tags`` and ``dependencies``)."""
        outer_prefix, outer_tags = _check_prefix(prefix), _tags(tags)
        outer_deps = tuple(dependencies or ())
        for route in router.routes:
            self._add_route(
                mount(route, prefix=outer_prefix, tags=outer_tags, dependencies=outer_deps)
            )

    def __repr__(self) -> str:
        return f"<Router prefix={self.prefix!r} routes={len(self.routes)}>"


# -- analysis: what makes a route unable to run ---------------------------------------------


def _is_async_callable(handler: Any) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004
    return not inspect.isfunction(handler) and inspect.iscoroutinefunction(call)


class _Where:
    """``GET route name() (file.py:12)``, built only when a problem is reported."""

    __slots__ = ("route",)

    def __init__(self, route: Route) -> None:
        self.route = route

    def __format__(self, spec: str) -> str:
        route = self.route
        location = f" ({route.location})" if route.location else ""
        return f"{route.method} route {route.function_name}(){location}"


def _accepts_one_argument(handler: Any) -> bool | None:
    """For a plain function, whether ``handler(resp)`` binds (read from its code object,
    much cheaper than inspect.signature for 10,000 routes); None when it cannot tell."""
    if not inspect.isfunction(handler):
        return None
    code = handler.__code__
    if code.co_kwonlyargcount > len(handler.__kwdefaults__ or {}):
        return False
    required = code.co_argcount - len(handler.__defaults__ or ())
    if code.co_flags & inspect.CO_VARARGS:
        return required <= 1
    return required <= 1 <= code.co_argcount


def _handler_problems(route: Route, where: _Where) -> list[str]:
    handler = route.handler
    fn = route.function_name
    if not callable(handler):
        return [f"{where}: the handler {handler!r} is not a function; decorate an 'async def'."]
    if inspect.isasyncgenfunction(handler):
        return [f"{where} is an async generator; a handler returns a value, it does not yield."]
    problems = []
    if not _is_async_callable(handler):
        problems.append(
            f"{where} is a plain 'def'; handlers must be coroutines: "
            f"write 'async def {fn}(resp): ...'."
        )
    if _accepts_one_argument(handler):
        return problems
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return problems
    try:
        signature.bind(object())
    except TypeError:
        params = list(signature.parameters.values())
        if not params:
            what = "takes no argument"
        else:
            what = f"has the signature {signature} and cannot be called with one argument"
        problems.append(
            f"{where} {what}; the handler receives the response: "
            f"write 'async def {fn}(resp: Response): ...'."
        )
    return problems


def _options_problems(options: Any, argument: str, where: _Where) -> list[str]:
    if options is None:
        return []
    if not isinstance(options, Mapping):
        return [
            f"{where}: {argument}= must be a dict like {{'headers': {{...}}}}; "
            f"got {type(options).__name__}."
        ]
    unknown = sorted(set(options) - REQUEST_OPTION_KEYS)
    if unknown:
        return [
            f"{where}: {argument}= has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"use {', '.join(sorted(REQUEST_OPTION_KEYS))}."
        ]
    problems = []
    for key in ("headers", "params"):
        if options.get(key) is not None and not isinstance(options[key], Mapping):
            problems.append(f"{where}: {argument}['{key}'] must be a dict.")
    return problems


def _model_problem(model: Any, argument: str, where: _Where) -> list[str]:
    if model is None:
        return []
    if isinstance(model, type) and hasattr(model, "model_validate"):
        return []
    return [
        f"{where}: {argument}={model!r} is not a Pydantic model class; pass a "
        f"subclass of pydantic.BaseModel (the class itself, not an instance)."
    ]


def _handler_key(handler: Any) -> object:
    """What decides whether a handler is fine: for a plain function without defaults, its
    code object (a generated app has thousands of closures of one ``async def``), else
    the handler itself (by id: it is kept alive by its route)."""
    if type(handler) is FunctionType and handler.__defaults__ is None and handler.__kwdefaults__ is None:
        return handler.__code__
    return id(handler)


def check_routes(routes: Iterable[Route], app_base_url: str | None) -> list[str]:
    """``route_problems`` of every route. The common route (a handler already found fine,
    no options, dependencies or models) is accepted inline in a few attribute reads: a
    generated app has 10,000 routes and this runs before each of its runs."""
    problems: list[str] = []
    good_handlers: set[object] = set()
    last_good: object = None
    for route in routes:
        handler = route.handler
        if (
            (handler is last_good or _handler_key(handler) in good_handlers)
            and route.method in METHODS
            and type(route.url) is str
            and (route.base_url or app_base_url or is_absolute_url(route.url))
            and route.params is None
            and route.headers is None
            and route.request is None
            and not route.dependencies
            and route.request_model is None
            and route.response_model is None
            and route.raise_for_status is None
            and (route.json is None or route.data is None)
            and (not route.tags or all(type(tag) is str for tag in route.tags))
        ):
            last_good = handler
            continue
        found = route_problems(route, app_base_url, good_handlers)
        if found:
            problems.extend(found)
        else:
            last_good = handler
    return problems


def route_problems(
    route: Route, app_base_url: str | None, good_handlers: set[object] | None = None
) -> list[str]:
    """Every reason ``route`` cannot run, as full sentences naming its function.

    ``good_handlers`` (``_handler_key`` of handlers already found fine) lets a run check
    a handler shared by thousands of routes once.
    """
    where = _Where(route)
    problems: list[str] = []
    if route.method not in METHODS:
        problems.append(f"{where}: unknown HTTP method {route.method!r}; use one of {METHODS}.")
    key = _handler_key(route.handler) if good_handlers is not None else None
    if good_handlers is None or key not in good_handlers:
        handler_problems = _handler_problems(route, where)
        if handler_problems:
            problems.extend(handler_problems)
        elif good_handlers is not None:
            good_handlers.add(key)
    if not isinstance(route.url, str):
        problems.append(f"{where}: url= must be a string; got {type(route.url).__name__}.")
    elif not is_absolute_url(route.url) and not (route.base_url or app_base_url):
        problems.append(
            f"{where}: url={route.url!r} is relative and there is no base_url; use an absolute "
            f"URL (https://host{route.url if route.url.startswith('/') else '/' + route.url}) "
            "or set FastHTTP(base_url=...) or Router(base_url=...)."
        )
    if route.json is not None and route.data is not None:
        problems.append(f"{where}: pass json= or data=, not both.")
    for key in ("params", "headers"):
        value = getattr(route, key)
        if value is not None and not isinstance(value, Mapping):
            problems.append(f"{where}: {key}= must be a dict; got {type(value).__name__}.")
    problems.extend(_options_problems(route.request, "get_request", where))
    for tag in route.tags:
        if not isinstance(tag, str):
            problems.append(f"{where}: tags must be strings; got {tag!r}.")
    for dependency in route.dependencies:
        if not isinstance(dependency, Depends):
            label = getattr(dependency, "__name__", None)
            fix = f"write Depends({label})" if label else "wrap it: Depends(fn)"
            problems.append(f"{where}: dependencies= item {dependency!r} is not Depends(...); {fix}.")
            continue
        problem = dependency.problem()
        if problem:
            problems.append(f"{where}: {problem}.")
    problems.extend(_model_problem(route.request_model, "request_model", where))
    problems.extend(_model_problem(route.response_model, "response_model", where))
    if route.raise_for_status is not None and not isinstance(route.raise_for_status, bool):
        problems.append(f"{where}: raise_for_status= must be True, False or None.")
    return problems
