"""``Depends(fn)``: a function that edits a route's request config before it is sent.

``fn(route, config) -> config`` may be sync or async. ``route`` is the frozen
``fasthttp.routing.Route``; ``config`` is a plain dict, a fresh copy for every
route on every run, with the keys ``url``, ``params``, ``json``, ``data``,
``headers`` (always a dict) and ``timeout``::

    async def add_auth(route, config):
        config.setdefault("headers", {})["Authorization"] = "Bearer my-token"
        return config

A dependency that returns None is taken to have edited ``config`` in place. One
that raises, returns anything else or sets an unknown key fails its route with
``DependencyError`` (the cause chained) and the request is not sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from .exceptions import FastHTTPError

if TYPE_CHECKING:
    from .routing import Route

__all__ = ["CONFIG_KEYS", "DependencyError", "DependencyFunction", "Depends", "RequestConfig", "apply_dependency"]

RequestConfig: TypeAlias = dict[str, Any]
DependencyFunction: TypeAlias = Callable[
    ["Route", RequestConfig], "RequestConfig | Awaitable[RequestConfig | None] | None"
]

#: The keys of the config dict a dependency receives (and may change).
CONFIG_KEYS = frozenset({"url", "params", "json", "data", "headers", "timeout"})


class Depends:
    """Wrap ``fn(route, config) -> config`` to use it in ``dependencies=[...]``."""

    __slots__ = ("dependency", "name")

    def __init__(self, dependency: DependencyFunction) -> None:
        if not callable(dependency):
            raise TypeError(
                f"Depends() needs a function fn(route, config) -> config; got {dependency!r}."
            )
        self.dependency = dependency
        self.name: str = getattr(dependency, "__name__", None) or type(dependency).__name__

    def problem(self) -> str | None:
        """Why this dependency cannot be called as ``fn(route, config)``, or None if it can."""
        try:
            signature = inspect.signature(self.dependency)
        except (TypeError, ValueError):
            return None  # a builtin or C callable: trust it
        try:
            signature.bind(object(), object())
        except TypeError:
            return (
                f"dependency {self.name}{signature} cannot be called as {self.name}(route, config): "
                f"define it as 'def {self.name}(route, config): ...; return config'"
            )
        return None

    def __repr__(self) -> str:
        return f"Depends({self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Depends) and other.dependency == self.dependency

    def __hash__(self) -> int:
        return hash(self.dependency)


class DependencyError(FastHTTPError):
    """A route's dependency raised or returned something other than the config dict;
    the request was not sent. The original exception is ``__cause__``."""


async def apply_dependency(dependency: Depends, route: Route, config: RequestConfig, where: str) -> RequestConfig:
    """Call one dependency; its result (or the dict it edited in place) is the new config."""
    label = f"dependency {dependency.name}() of {where}"
    try:
        result = dependency.dependency(route, config)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise DependencyError(
            f"The {label} raised {type(exc).__name__}: {exc}; the request was not sent."
        ) from exc
    if result is None:
        result = config
    if not isinstance(result, dict):
        raise DependencyError(
            f"The {label} returned {type(result).__name__}; it must return the config dict "
            "it was given (after changing it). The request was not sent."
        )
    unknown = sorted(set(result) - CONFIG_KEYS)
    if unknown:
        raise DependencyError(
            f"The {label} set unknown config key(s) {', '.join(map(repr, unknown))}; the keys "
            f"are {', '.join(sorted(CONFIG_KEYS))}. The request was not sent."
        )
    return result
