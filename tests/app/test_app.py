"""FastHTTP.run()/arun(): concurrency, results, errors, raise_for_status, lifespan, models,
dependencies, against the embedded server (and tiny scripted servers) over real TCP."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import web
from pydantic import BaseModel, Field

from fasthttp import (
    CircuitOpenError,
    ConnectError,
    DependencyError,
    Depends,
    FastHTTP,
    HTTPStatusError,
    RequestValidationError,
    ResponseValidationError,
    RunResults,
)
from fasthttp.response import Response
from fasthttp.testing import LocalServer
from tests.support.scripted import scripted_server


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Post(BaseModel):
    id: int
    title: str


class NewUser(BaseModel):
    name: str = Field(min_length=1)
    age: int = Field(ge=0, le=150)


# -- concurrency ----------------------------------------------------------------------------


async def test_routes_are_in_flight_at_once() -> None:
    """Three routes complete only if all three requests are at the server at the same time."""
    arrived = 0
    all_here = asyncio.Event()

    async def barrier(request: web.Request) -> web.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            all_here.set()
        try:
            await asyncio.wait_for(all_here.wait(), 5)  # a safety net, not a timing assertion
        except asyncio.TimeoutError:
            return web.Response(status=504)
        return web.Response(text="together")

    async with scripted_server(barrier, "/{tail:.*}") as base:
        app = FastHTTP(raise_for_status=True)
        for index in range(3):

            async def handler(resp: Response) -> str:
                return resp.text

            handler.__name__ = f"route_{index}"
            app.get(f"{base}/{index}")(handler)
        results = await app.arun()
    assert dict(results) == {"route_0": "together", "route_1": "together", "route_2": "together"}


async def test_concurrency_cap_is_respected() -> None:
    """With concurrency=3, the server sees at most 3 requests at once (and does reach 3)."""
    in_flight = 0
    most = 0
    three_seen = asyncio.Event()

    async def counting(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight == 3:
            three_seen.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(three_seen.wait(), 5)
        await asyncio.sleep(0)
        in_flight -= 1
        return web.Response(text="ok")

    async with scripted_server(counting, "/{tail:.*}") as base:
        app = FastHTTP(concurrency=3)
        for index in range(12):

            async def handler(resp: Response) -> int:
                return resp.status

            handler.__name__ = f"r{index}"
            app.get(f"{base}/{index}")(handler)
        results = await app.arun()
    assert results.ok and len(results) == 12
    assert most == 3


async def test_500_routes_all_have_an_outcome(server: LocalServer) -> None:
    """In a 500-route run with every kind of success and failure, each route's outcome is in the results."""
    refused = closed_port_url()
    app = FastHTTP()
    kinds: dict[str, str] = {}

    def add(name: str, url: str, kind: str, **options: Any) -> None:
        async def handler(resp: Response) -> Any:
            if kind == "raises":
                raise LookupError(name)
            return resp.status

        handler.__name__ = name
        app.get(url, **options)(handler)
        kinds[name] = kind

    for i in range(500):
        mod = i % 10
        if mod < 6:
            add(f"ok_{i}", f"{server.url}/get?i={i}", "ok")
        elif mod == 6:
            add(f"missing_{i}", f"{server.url}/status/404", "handled")
        elif mod == 7:
            add(f"strict_{i}", f"{server.url}/status/500", "status", raise_for_status=True)
        elif mod == 8:
            add(f"refused_{i}", f"{refused}/x", "refused")
        else:
            add(f"raises_{i}", f"{server.url}/get?i={i}", "raises")
    results = await app.arun()
    assert len(results) == 500 and set(results) == set(kinds)
    for name, kind in kinds.items():
        value = results[name]
        if kind == "ok":
            assert value == 200
        elif kind == "handled":
            assert value == 404
        elif kind == "status":
            assert isinstance(value, HTTPStatusError) and value.response.status_code == 500
        elif kind == "refused":  # the origin's circuit breaker opens after a few refusals
            assert isinstance(value, (ConnectError, CircuitOpenError))
        else:
            assert isinstance(value, LookupError)
    assert len(results.succeeded) == 350 and len(results.failed) == 150
    assert server.hits("/status/500") == 50 and server.hits("/get") == 350


# -- results and failures -------------------------------------------------------------------


async def test_results_map_names_to_return_values(server: LocalServer) -> None:
    """arun() returns a RunResults mapping each handler's name to what it returned."""
    app = FastHTTP(base_url=server.url)

    @app.get("/posts/1")
    async def post(resp: Response) -> dict[str, Any]:
        return resp.json()

    @app.get("/users")
    async def users(resp: Response) -> int:
        return len(resp.json())

    results = await app.arun()
    assert isinstance(results, RunResults)
    assert list(results) == ["post", "users"]
    assert results["post"]["id"] == 1 and results["users"] == 10
    assert results.ok and results.errors == [] and results.failed == {}
    assert results.outcomes["post"].status == 200 and results.outcomes["post"].elapsed > 0


async def test_a_failing_route_does_not_stop_the_others(server: LocalServer) -> None:
    """A handler that raises and a refused connection fail alone; the other routes finish."""
    app = FastHTTP(base_url=server.url)

    @app.get("/get")
    async def broken(resp: Response) -> None:
        raise ValueError("bad handler")

    @app.get(f"{closed_port_url()}/nowhere")
    async def unreachable(resp: Response) -> None:
        return None

    @app.get("/delay/0.2")
    async def slow(resp: Response) -> int:
        return resp.status

    results = await app.arun()
    assert results["slow"] == 200
    assert isinstance(results["broken"], ValueError)
    assert isinstance(results["unreachable"], ConnectError)
    assert set(results.failed) == {"broken", "unreachable"}
    assert results.succeeded == {"slow": 200}


async def test_error_status_reaches_the_handler(server: LocalServer) -> None:
    """A 404 is not an error by default: the handler gets the response and its value is kept."""
    app = FastHTTP()

    @app.get(f"{server.url}/status/404")
    async def missing(resp: Response) -> str:
        return f"Status: {resp.status}"

    results = await app.arun()
    assert results["missing"] == "Status: 404"
    assert results.error_statuses == {"missing": 404}


async def test_raise_for_status_app_and_route(server: LocalServer) -> None:
    """raise_for_status (app or route) makes a 4xx/5xx the route's error; a route can opt out."""
    called: list[str] = []
    strict = FastHTTP(base_url=server.url, raise_for_status=True)

    @strict.get("/status/503")
    async def failing(resp: Response) -> None:
        called.append("failing")

    @strict.get("/status/404", raise_for_status=False)
    async def tolerant(resp: Response) -> int:
        return resp.status

    lenient = FastHTTP(base_url=server.url)

    @lenient.get("/status/500", raise_for_status=True)
    async def opted_in(resp: Response) -> None:
        called.append("opted_in")

    strict_results = await strict.arun()
    lenient_results = await lenient.arun()
    assert isinstance(strict_results["failing"], HTTPStatusError)
    assert strict_results["failing"].response.status_code == 503
    assert strict_results["tolerant"] == 404
    assert isinstance(lenient_results["opted_in"], HTTPStatusError)
    assert called == []


async def test_duplicate_handler_names_get_suffixes(server: LocalServer) -> None:
    """Two routes whose handlers share a name appear as name and name_2."""
    app = FastHTTP(base_url=server.url)

    @app.get("/get", params={"n": 1})
    async def fetch(resp: Response) -> str:
        return resp.json()["args"]["n"]

    @app.get("/get", params={"n": 2})
    async def fetch(resp: Response) -> str:  # noqa: F811 (the point of the test)
        return resp.json()["args"]["n"]

    results = await app.arun()
    assert dict(results) == {"fetch": "1", "fetch_2": "2"}
    assert [r.name for r in app.routes] == ["fetch", "fetch_2"]


def test_run_inside_a_running_loop_points_to_arun() -> None:
    """run() called from inside a running event loop raises and names 'await app.arun()'."""
    app = FastHTTP()

    async def inside() -> None:
        app.run()

    with pytest.raises(RuntimeError, match=r"await app\.arun\(\)"):
        asyncio.run(inside())


def test_run_from_sync_code(shared_server: LocalServer) -> None:
    """run() from synchronous code returns the results of the whole run."""
    app = FastHTTP()

    @app.get(f"{shared_server.url}/anything/run-sync")
    async def sync_caller(resp: Response) -> str:
        return resp.json()["method"]

    assert app.run() == {"sync_caller": "GET"}


# -- lifespan ---------------------------------------------------------------------------------


async def test_lifespan_order_and_app_attributes(server: LocalServer) -> None:
    """Startup runs before any request, handlers see its attributes, shutdown runs after the last."""
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastHTTP) -> AsyncIterator[None]:
        events.append(f"startup (requests so far: {len(server.requests)})")
        app.token = "from-lifespan"
        yield
        events.append(f"shutdown (requests so far: {len(server.requests)})")

    app = FastHTTP(lifespan=lifespan, base_url=server.url)

    @app.get("/delay/0.1")
    async def slow(resp: Response) -> str:
        events.append("handler")
        return str(app.token)

    results = await app.arun()
    assert results["slow"] == "from-lifespan"
    assert events == ["startup (requests so far: 0)", "handler", "shutdown (requests so far: 1)"]


async def test_lifespan_shutdown_runs_when_routes_fail(server: LocalServer) -> None:
    """Shutdown code after 'yield' runs even when every route failed."""
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastHTTP) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")  # no try/finally: the app still reaches this line

    app = FastHTTP(lifespan=lifespan)

    @app.get(f"{closed_port_url()}/x")
    async def refused(resp: Response) -> None:
        return None

    results = await app.arun()
    assert isinstance(results["refused"], ConnectError)
    assert events == ["startup", "shutdown"]


async def test_lifespan_shutdown_runs_when_the_run_is_cancelled(server: LocalServer) -> None:
    """Cancelling arun() cancels the request, still runs the shutdown and re-raises."""
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastHTTP) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = FastHTTP(lifespan=lifespan, base_url=server.url)

    @app.get("/delay/10")
    async def never(resp: Response) -> None:
        events.append("handler")

    task = asyncio.create_task(app.arun())
    while server.hits("/delay/10") == 0:  # noqa: ASYNC110 (the server has no event to wait on)
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["startup", "shutdown"]


# -- models -----------------------------------------------------------------------------------


async def test_invalid_request_model_is_not_sent(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An invalid json= body is never sent (hit count 0) and an ERROR line names each field."""
    caplog.set_level(logging.INFO, logger="fasthttp")
    app = FastHTTP(base_url=server.url)

    @app.post("/users", json={"name": "", "age": 200}, request_model=NewUser)
    async def create(resp: Response) -> Any:
        return resp.json()

    @app.post("/posts", json={"name": "Ann", "age": 30}, request_model=NewUser)
    async def create_valid(resp: Response) -> int:
        return resp.status

    results = await app.arun()
    assert server.hits("/users") == 0 and server.hits("/posts") == 1
    error = results["create"]
    assert isinstance(error, RequestValidationError)
    assert [e["loc"] for e in error.errors] == [("name",), ("age",)]
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line.startswith("Request validation failed for create (POST ")
    assert "json.name: String should have at least 1 character" in line
    assert "json.age: Input should be less than or equal to 150" in line
    assert results["create_valid"] == 201


async def test_invalid_form_data_names_the_field(server: LocalServer) -> None:
    """request_model also checks data= (a form); the error names the failing data field."""

    class Login(BaseModel):
        username: str
        password: str = Field(min_length=8)

    app = FastHTTP(base_url=server.url)

    @app.post("/post", data={"username": "john", "password": "short"}, request_model=Login)
    async def login(resp: Response) -> Any:
        return resp.json()

    results = await app.arun()
    assert server.hits("/post") == 0
    assert "data.password: String should have at least 8 characters" in str(results["login"])
    assert "short" not in str(results["login"])  # the rejected value (a password) is not shown


async def test_response_model_hands_the_model_to_the_handler(server: LocalServer) -> None:
    """With response_model=, the handler receives the validated model instance."""
    app = FastHTTP(base_url=server.url)

    @app.get("/posts/1", response_model=Post)
    async def post(model: Post) -> str:
        assert isinstance(model, Post)
        return f"{model.id}: {model.title}"

    results = await app.arun()
    assert results["post"].startswith("1: ")


async def test_response_model_mismatch_is_the_routes_error(server: LocalServer) -> None:
    """A body not fitting response_model is the route's ResponseValidationError; the handler is skipped."""
    app = FastHTTP(base_url=server.url)

    @app.get("/users/1", response_model=Post)
    async def wrong(model: Post) -> str:
        raise AssertionError("not called")

    results = await app.arun()
    error = results["wrong"]
    assert isinstance(error, ResponseValidationError)
    assert "title: Field required" in str(error) and error.response.status_code == 200


# -- dependencies -----------------------------------------------------------------------------


async def test_dependency_header_reaches_the_server(server: LocalServer) -> None:
    """A sync and an async dependency each add a header; both arrive, in order."""

    def first(route: Any, config: dict[str, Any]) -> dict[str, Any]:
        config["headers"]["X-Order"] = "first"
        return config

    async def second(route: Any, config: dict[str, Any]) -> dict[str, Any]:
        config["headers"]["X-Order"] += ",second"
        config["headers"]["X-Route"] = route.name
        return config

    app = FastHTTP(base_url=server.url)

    @app.get("/headers", dependencies=[Depends(first), Depends(second)])
    async def show(resp: Response) -> dict[str, str]:
        return resp.json()["headers"]

    await app.arun()
    (request,) = server.requests
    assert request.header("x-order") == "first,second"
    assert request.header("x-route") == "show"


async def test_dependency_config_is_fresh_every_run(server: LocalServer) -> None:
    """A dependency mutating its config sees the route's own values again on the next run."""
    seen: list[dict[str, Any]] = []

    def bump(route: Any, config: dict[str, Any]) -> None:
        seen.append(copy.deepcopy(config))
        config["json"]["n"] += 1
        config["params"]["page"] = 2
        config["url"] = config["url"].replace("/post", "/anything/changed")

    app = FastHTTP(base_url=server.url)

    @app.post("/post", json={"n": 1}, params={"page": 1}, dependencies=[Depends(bump)])
    async def send(resp: Response) -> Any:
        return resp.json()["json"]

    first = await app.arun()
    second = await app.arun()
    assert first["send"] == second["send"] == {"n": 2}
    assert [s["json"] for s in seen] == [{"n": 1}, {"n": 1}]
    assert set(seen[0]) == {"url", "params", "json", "data", "headers", "timeout"}
    assert [(r.path, r.query_string) for r in server.requests] == [("/anything/changed", "page=2")] * 2


async def test_failing_dependency_stops_only_its_route(server: LocalServer) -> None:
    """A dependency that raises or returns a non-dict fails its route unsent, naming itself."""

    def explode(route: Any, config: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("no token")

    def wrong(route: Any, config: dict[str, Any]) -> str:
        return "oops"

    app = FastHTTP(base_url=server.url)

    @app.get("/anything/a", dependencies=[Depends(explode)])
    async def a(resp: Response) -> int:
        return resp.status

    @app.get("/anything/b", dependencies=[Depends(wrong)])  # type: ignore[arg-type]
    async def b(resp: Response) -> int:
        return resp.status

    @app.get("/anything/c")
    async def c(resp: Response) -> int:
        return resp.status

    results = await app.arun()
    assert isinstance(results["a"], DependencyError) and "explode" in str(results["a"])
    assert isinstance(results["a"].__cause__, KeyError)
    assert isinstance(results["b"], DependencyError) and "returned str" in str(results["b"])
    assert results["c"] == 200
    assert [r.path for r in server.requests] == ["/anything/c"]


# -- request options --------------------------------------------------------------------------


async def test_request_options_layer_app_method_route(server: LocalServer) -> None:
    """Options layer: get_request= (all routes), post_request= (POSTs), then the route's own."""
    app = FastHTTP(
        base_url=server.url,
        get_request={"headers": {"X-App": "app", "X-Level": "app"}, "params": {"key": "a"}},
        post_request={"headers": {"X-Level": "post"}},
    )

    @app.get("/anything/get")
    async def plain(resp: Response) -> int:
        return resp.status

    @app.post("/anything/post", get_request={"headers": {"X-Route": "route"}},
              headers={"X-Level": "route"})
    async def posted(resp: Response) -> int:
        return resp.status

    await app.arun()
    got = {r.path: r for r in server.requests}
    assert got["/anything/get"].header("x-app") == "app"
    assert got["/anything/get"].header("x-level") == "app"
    assert got["/anything/post"].header("x-app") == "app"
    assert got["/anything/post"].header("x-level") == "route"
    assert got["/anything/post"].header("x-route") == "route"
    assert got["/anything/post"].query_string == "key=a"


async def test_route_timeout_is_applied(server: LocalServer) -> None:
    """A route's timeout= bounds its request; the timeout becomes that route's error."""
    from fasthttp import TimeoutException

    app = FastHTTP(base_url=server.url)

    @app.get("/delay/2", timeout=0.2)
    async def slow(resp: Response) -> int:
        return resp.status

    results = await app.arun()
    assert isinstance(results["slow"], TimeoutException)


def test_constructor_rejects_bad_options() -> None:
    """Bad constructor options fail at once with a sentence saying what to write."""
    with pytest.raises(ValueError, match="concurrency=0"):
        FastHTTP(concurrency=0)
    with pytest.raises(TypeError, match="post_request= has unknown key"):
        FastHTTP(post_request={"header": {}})
    with pytest.raises(TypeError, match="Depends"):
        FastHTTP(dependencies=[print])  # type: ignore[list-item]


def test_app_attribute_typo_is_explained() -> None:
    """Reading an attribute nobody set says to set it (e.g. in the lifespan)."""
    with pytest.raises(AttributeError, match=r"app\.api_token = \.\.\."):
        _ = FastHTTP().api_token


async def test_post_body_is_json_encoded(server: LocalServer) -> None:
    """json= is sent as a JSON body with its content type."""
    app = FastHTTP(base_url=server.url)

    @app.post("/post", json={"a": [1, 2]})
    async def post(resp: Response) -> Any:
        return resp.json()["json"]

    assert (await app.arun())["post"] == {"a": [1, 2]}
    assert orjson.loads(server.requests[0].body) == {"a": [1, 2]}


async def test_pipeline_order_dependency_middleware_handler(server: LocalServer) -> None:
    """Per route: dependency, middleware before, send, middleware after, then the handler."""
    from fasthttp import BaseMiddleware, Request

    events: list[str] = []

    class Recorder(BaseMiddleware):
        async def before_request(self, request: Request) -> None:
            events.append(f"before (X-Dep={request.headers.get('x-dep')})")

        async def after_response(self, request: Request, response: Response) -> None:
            events.append(f"after ({response.status_code})")

    def dependency(route: Any, config: dict[str, Any]) -> dict[str, Any]:
        events.append("dependency")
        config["headers"]["X-Dep"] = "1"
        return config

    app = FastHTTP(base_url=server.url, middleware=[Recorder()])

    @app.get("/get", dependencies=[Depends(dependency)])
    async def handler(resp: Response) -> None:
        events.append("handler")

    await app.arun()
    assert events == ["dependency", "before (X-Dep=1)", "after (200)", "handler"]
