"""Declaring routes: decorators, Router merging, tags, and the checks run before sending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import BaseModel

from fasthttp import Depends, FastHTTP, Route, RouteDefinitionError, Router
from fasthttp.response import Response
from fasthttp.testing import LocalServer


def header_dep(name: str, value: str) -> Depends:
    def add(route: Any, config: dict[str, Any]) -> dict[str, Any]:
        existing = config["headers"].get("X-Deps")
        config["headers"]["X-Deps"] = f"{existing},{value}" if existing else value
        return config

    add.__name__ = add.__qualname__ = name
    return Depends(add)


def test_decorator_records_a_frozen_route_and_returns_the_function() -> None:
    """@app.get records a frozen Route (url positional or keyword) and returns the handler."""
    app = FastHTTP()

    async def handler(resp: Response) -> int:
        return resp.status

    assert app.get("https://example.org/a", tags=["x"])(handler) is handler
    assert app.post(url="https://example.org/b", json={"a": 1})(handler) is handler
    first, second = app.routes
    assert isinstance(first, Route) and first.method == "GET" and first.tags == ("x",)
    assert second.method == "POST" and second.json == {"a": 1} and second.name == "handler_2"
    with pytest.raises(AttributeError):
        first.url = "https://elsewhere.example"  # type: ignore[misc]


async def test_router_merges_prefix_tags_and_dependencies(server: LocalServer) -> None:
    """include_router merges prefix, tags and dependencies in the order app, include, router, route."""
    app = FastHTTP(base_url=server.url, dependencies=[header_dep("app_dep", "app")])
    router = Router(prefix="/v1", tags=["api"], dependencies=[header_dep("r", "router")])

    @router.get("/users", tags=["users"], dependencies=[header_dep("route_dep", "route")])
    async def users(resp: Response) -> str:
        return resp.json()["url"]

    app.include_router(
        router, prefix="/anything", tags=["public"], dependencies=[header_dep("inc", "include")]
    )
    (route,) = app.routes
    assert route.url == "/anything/v1/users"
    assert route.tags == ("public", "api", "users")
    results = await app.arun()
    assert results["users"].endswith("/anything/v1/users")
    assert server.requests[0].header("x-deps") == "app,include,router,route"


async def test_router_base_url_and_nesting(server: LocalServer) -> None:
    """A router's base_url serves its relative routes (the app has none); routers nest."""
    app = FastHTTP()
    api = Router(base_url=server.url, prefix="/anything")
    child = Router(prefix="/child", tags=["child"])

    @child.get("/leaf")
    async def leaf(resp: Response) -> str:
        return resp.json()["url"]

    api.include_router(child)
    app.include_router(api)
    results = await app.arun()
    assert results["leaf"] == f"{server.url}/anything/child/leaf"
    assert app.routes[0].tags == ("child",)


async def test_tags_select_routes(server: LocalServer) -> None:
    """run(tags=[...]) sends only routes having any of those tags; a str is one tag."""
    app = FastHTTP(base_url=server.url)

    @app.get("/anything/u", tags=["users"])
    async def u(resp: Response) -> int:
        return resp.status

    @app.get("/anything/p", tags=["posts"])
    async def p(resp: Response) -> int:
        return resp.status

    @app.get("/anything/both", tags=["users", "posts"])
    async def both(resp: Response) -> int:
        return resp.status

    assert set(await app.arun(tags=["users"])) == {"u", "both"}
    assert set(await app.arun(tags="posts")) == {"p", "both"}
    assert set(await app.arun()) == {"u", "p", "both"}
    assert sorted(r.path for r in server.requests) == sorted(
        ["/anything/u", "/anything/both", "/anything/p", "/anything/both",
         "/anything/u", "/anything/p", "/anything/both"]
    )


async def test_route_problems_name_the_function_and_the_fix(server: LocalServer) -> None:
    """Every bad route is reported at once, naming its function and the fix; nothing is sent or started."""
    started: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastHTTP) -> AsyncIterator[None]:
        started.append("startup")
        yield

    app = FastHTTP(lifespan=lifespan)

    @app.get(f"{server.url}/get")
    def sync_handler(resp: Response) -> int:
        return resp.status

    @app.get(f"{server.url}/get")
    async def no_argument() -> None:
        return None

    @app.get("/relative")
    async def relative(resp: Response) -> None:
        return None

    def two_args_missing(route: Any) -> None:
        return None

    @app.get(f"{server.url}/get", dependencies=[Depends(two_args_missing), print])  # type: ignore[list-item]
    async def bad_dependency(resp: Response) -> None:
        return None

    @app.post(f"{server.url}/post", request_model=dict)
    async def bad_model(resp: Response) -> None:
        return None

    with pytest.raises(RouteDefinitionError) as caught:
        await app.arun()
    text = str(caught.value)
    assert "GET route sync_handler() (test_routing.py:" in text
    assert "is a plain 'def'" in text and "write 'async def sync_handler(resp): ...'" in text
    assert "no_argument() (test_routing.py:" in text and ") takes no argument" in text
    assert "url='/relative' is relative and there is no base_url" in text
    assert "FastHTTP(base_url=...)" in text
    assert "cannot be called as two_args_missing(route, config)" in text
    assert "define it as 'def two_args_missing(route, config): ...; return config'" in text
    assert "is not Depends(...); write Depends(print)" in text
    assert "request_model=<class 'dict'> is not a Pydantic model class" in text
    assert len(caught.value.problems) == 6
    assert started == [] and server.requests == []


def test_check_accepts_unannotated_handlers() -> None:
    """Handlers without annotations (as in several seed examples) pass the check."""
    app = FastHTTP()

    @app.get("https://example.org/")
    async def plain(resp):  # type: ignore[no-untyped-def]
        return resp.status

    class Model(BaseModel):
        a: int

    @app.get("https://example.org/m", response_model=Model)
    async def modelled(model):  # type: ignore[no-untyped-def]
        return model

    app.check()


def test_router_prefix_must_start_with_a_slash() -> None:
    """Router(prefix='v1') fails at once and says to write '/v1'."""
    with pytest.raises(ValueError, match="prefix='/v1'"):
        Router(prefix="v1")


def test_bad_get_request_option_is_reported_on_the_route() -> None:
    """An unknown key in a route's get_request= is a check error naming the route."""
    app = FastHTTP()

    @app.get("https://example.org/", get_request={"header": {"A": "b"}})
    async def typo(resp: Response) -> None:
        return None

    expected = r"typo\(\) \(test_routing.py:\d+\): get_request= has unknown key\(s\) 'header'"
    with pytest.raises(RouteDefinitionError, match=expected):
        app.check()


async def test_unknown_tag_sends_nothing_and_warns(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """run(tags=[...]) matching no route sends nothing and warns with the known tags."""
    app = FastHTTP(base_url=server.url)

    @app.get("/anything/u", tags=["users"])
    async def u(resp: Response) -> int:
        return resp.status

    results = await app.arun(tags=["nope"])
    assert len(results) == 0 and server.requests == []
    assert "No route has the tag(s) ['nope']; known tags: users" in caplog.text
