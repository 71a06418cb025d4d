"""AsyncSession over real TCP against the embedded server: lifecycle, verbs, bodies, headers, redirects, cookies."""

from __future__ import annotations

import gc
import io
import logging

import pytest

from fasthttp import (
    AsyncSession,
    BaseMiddleware,
    CookieJar,
    HTTPStatusError,
    InvalidURL,
    Request,
    Response,
    SessionClosedError,
    SessionNotOpenError,
    TooManyRedirects,
)
from fasthttp.testing import LocalServer


def _ok(resp: Response | None) -> Response:
    assert resp is not None, "expected a Response, got None"
    return resp


async def test_async_with_opens_and_closes(shared_server: LocalServer) -> None:
    """The context manager opens the pool on entry and closes it on exit."""
    session = AsyncSession(base_url=shared_server.url)
    async with session as entered:
        assert entered is session
        assert _ok(await session.get("/get")).status == 200
    assert session.is_closed


async def test_open_close_without_context_manager(shared_server: LocalServer) -> None:
    """open()/close() work without a context manager, and close() twice is harmless."""
    session = AsyncSession(base_url=shared_server.url)
    await session.open()
    try:
        assert _ok(await session.get("/get")).status_code == 200
    finally:
        await session.close()
    await session.close()
    assert session.is_closed


async def test_use_before_open_is_a_clear_error(shared_server: LocalServer) -> None:
    """A request before open() raises SessionNotOpenError telling how to open the session."""
    session = AsyncSession(base_url=shared_server.url)
    with pytest.raises(SessionNotOpenError, match="async with AsyncSession"):
        await session.get("/get")


async def test_use_after_close_is_a_clear_error(shared_server: LocalServer) -> None:
    """A request after close() raises SessionClosedError, and reopening is refused."""
    async with AsyncSession(base_url=shared_server.url) as session:
        pass
    with pytest.raises(SessionClosedError, match="closed"):
        await session.get("/get")
    with pytest.raises(SessionClosedError, match="create a new AsyncSession"):
        await session.open()


async def test_garbage_collected_open_session_warns() -> None:
    """An open session dropped without close() emits a ResourceWarning naming the fix."""
    session = AsyncSession(base_url="http://127.0.0.1:9")
    await session.open()
    transport = session._transport
    with pytest.warns(ResourceWarning, match="garbage-collected while open"):
        del session
        gc.collect()
    assert transport is not None
    await transport.aclose()


async def test_every_verb_reaches_the_server(server: LocalServer) -> None:
    """get/post/put/patch/delete/head/options/request each send their method."""
    async with AsyncSession(base_url=server.url) as session:
        assert _ok(await session.get("/anything")).json()["method"] == "GET"
        assert _ok(await session.post("/anything", json={})).json()["method"] == "POST"
        assert _ok(await session.put("/anything", json={})).json()["method"] == "PUT"
        assert _ok(await session.patch("/anything", json={})).json()["method"] == "PATCH"
        assert _ok(await session.delete("/anything")).json()["method"] == "DELETE"
        assert _ok(await session.options("/anything")).json()["method"] == "OPTIONS"
        assert _ok(await session.request("GET", "/anything")).json()["method"] == "GET"
        head = _ok(await session.head("/anything"))
        assert head.status == 200 and head.content == b""
    assert [r.method for r in server.requests] == ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "GET", "HEAD"]


async def test_params_are_merged_into_the_query(shared_server: LocalServer) -> None:
    """params= is encoded into the query string, after any query already in the URL."""
    async with AsyncSession(base_url=shared_server.url, params={"s": "1"}) as session:
        body = _ok(await session.get("/get?x=0", params={"q": "fast http", "page": 2, "t": ["a", "b"]})).json()
    assert body["args"] == {"x": "0", "s": "1", "q": "fast http", "page": "2", "t": ["a", "b"]}


async def test_json_body(shared_server: LocalServer) -> None:
    """json= is sent as JSON with Content-Type application/json."""
    async with AsyncSession(base_url=shared_server.url) as session:
        body = _ok(await session.post("/post", json={"title": "hello", "n": [1, 2]})).json()
    assert body["json"] == {"title": "hello", "n": [1, 2]}
    assert body["headers"]["Content-Type"] == "application/json"


async def test_form_body(shared_server: LocalServer) -> None:
    """data= as a dict is sent url-encoded."""
    async with AsyncSession(base_url=shared_server.url) as session:
        body = _ok(await session.post("/post", data={"user": "ann", "tags": ["a", "b"]})).json()
    assert body["form"] == {"user": "ann", "tags": ["a", "b"]}


async def test_raw_bytes_body(server: LocalServer) -> None:
    """data= as bytes and content= are sent byte for byte."""
    async with AsyncSession(base_url=server.url) as session:
        await session.post("/post", data=b"raw bytes data")
        await session.put("/put", content=b"\x00\x01binary")
    assert [r.body for r in server.requests] == [b"raw bytes data", b"\x00\x01binary"]


async def test_multipart_files(shared_server: LocalServer) -> None:
    """files= uploads multipart/form-data with the form fields of data=."""
    async with AsyncSession(base_url=shared_server.url) as session:
        body = _ok(
            await session.post(
                "/post",
                data={"note": "hi"},
                files={"a": ("a.txt", b"file A", "text/plain"), "b": io.BytesIO(b"file B")},
            )
        ).json()
    assert body["form"] == {"note": "hi"}
    assert body["files"] == {"a": "file A", "b": "file B"}


async def test_two_body_arguments_are_refused(shared_server: LocalServer) -> None:
    """Passing json= and data= together is a TypeError naming both."""
    async with AsyncSession(base_url=shared_server.url) as session:
        with pytest.raises(TypeError, match="json"):
            await session.post("/post", json={}, data={"a": "b"})


async def test_session_headers_are_merged_under_request_headers(server: LocalServer) -> None:
    """Per-request headers are added on top of session headers, which stay, and win on the same name."""
    async with AsyncSession(
        base_url=server.url, headers={"Authorization": "Bearer s", "Accept": "application/json"}
    ) as session:
        await session.get("/headers", headers={"X-Custom": "value", "Accept": "text/plain"})
        await session.get("/headers")
    first, second = server.requests
    assert first.header("authorization") == "Bearer s"
    assert first.header("x-custom") == "value"
    assert first.header("accept") == "text/plain"
    assert second.header("accept") == "application/json"
    assert second.header("x-custom") is None
    assert (first.header("user-agent") or "").startswith("fasthttp/")


async def test_relative_paths_resolve_against_base_url(shared_server: LocalServer) -> None:
    """A relative path is appended to base_url's path; an absolute URL ignores base_url."""
    async with AsyncSession(base_url=f"{shared_server.url}/anything/v1") as session:
        assert _ok(await session.get("/users")).json()["url"].endswith("/anything/v1/users")
        assert _ok(await session.get("items?x=1")).json()["url"].endswith("/anything/v1/items?x=1")
        assert _ok(await session.get(f"{shared_server.url}/get")).json()["url"].endswith("/get")


async def test_relative_url_without_base_url_is_a_clear_error() -> None:
    """A relative URL with no base_url raises InvalidURL suggesting base_url=."""
    async with AsyncSession() as session:
        with pytest.raises(InvalidURL, match="base_url"):
            await session.get("/users")


async def test_cookies_per_call_are_sent(shared_server: LocalServer) -> None:
    """cookies= on a call and on the session are sent in one Cookie header."""
    async with AsyncSession(base_url=shared_server.url, cookies={"s": "1"}) as session:
        body = _ok(await session.get("/cookies", cookies={"c": "2"})).json()
    assert body["cookies"] == {"s": "1", "c": "2"}


async def test_cookie_jar_round_trip(server: LocalServer) -> None:
    """With cookie_jar=CookieJar(), Set-Cookie is stored and sent back on later requests."""
    jar = CookieJar()
    async with AsyncSession(base_url=server.url, cookie_jar=jar) as session:
        after_redirect = _ok(await session.get("/cookies/set?flavour=oat&size=big")).json()
        later = _ok(await session.get("/cookies")).json()
    assert after_redirect["cookies"] == {"flavour": "oat", "size": "big"}
    assert later["cookies"] == {"flavour": "oat", "size": "big"}
    assert jar.get("flavour") == "oat"


async def test_without_a_jar_cookies_are_not_kept(shared_server: LocalServer) -> None:
    """With no cookie_jar (the seed's default), Set-Cookie is not sent back."""
    async with AsyncSession(base_url=shared_server.url) as session:
        body = _ok(await session.get("/cookies/set?flavour=oat")).json()
    assert body["cookies"] == {}


async def test_redirects_are_followed_with_history(shared_server: LocalServer) -> None:
    """A redirect chain is followed and each hop is kept in history."""
    async with AsyncSession(base_url=shared_server.url) as session:
        resp = _ok(await session.get("/redirect/3"))
    assert resp.status == 200 and resp.url.path == "/get"
    assert [r.status for r in resp.history] == [302, 302, 302]


async def test_follow_redirects_off_returns_the_redirect(shared_server: LocalServer) -> None:
    """follow_redirects=False returns the 3xx response itself."""
    async with AsyncSession(base_url=shared_server.url, follow_redirects=False) as session:
        resp = _ok(await session.get("/redirect/1"))
    assert resp.status == 302 and resp.headers["location"]


async def test_too_many_redirects(shared_server: LocalServer) -> None:
    """More than 10 hops raises TooManyRedirects (raise_errors) or returns None."""
    async with AsyncSession(base_url=shared_server.url) as session:
        assert _ok(await session.get("/redirect/10")).status == 200
        assert await session.get("/redirect/11") is None
        with pytest.raises(TooManyRedirects, match="more than 10"):
            await session.get("/redirect/11", raise_errors=True)


async def test_credentials_dropped_across_origins(server: LocalServer) -> None:
    """Authorization, Cookie and Proxy-Authorization are not sent to another origin after a redirect."""
    from fasthttp.testing import serve

    async with serve() as other:
        async with AsyncSession(base_url=server.url) as session:
            target = f"{other.url}/headers"
            await session.get(
                f"/redirect-to?url={target}",
                headers={"Authorization": "Bearer secret", "Cookie": "sid=1", "Proxy-Authorization": "x", "X-K": "v"},
            )
            await session.get("/redirect-to?url=/headers", headers={"Authorization": "Bearer secret"})
        hop = other.requests[-1]
    assert hop.header("authorization") is None
    assert hop.header("cookie") is None
    assert hop.header("proxy-authorization") is None
    assert hop.header("x-k") == "v"
    same_origin_hop = server.requests[-1]
    assert same_origin_hop.path == "/headers" and same_origin_hop.header("authorization") == "Bearer secret"


async def test_303_becomes_get_and_307_keeps_the_body(server: LocalServer) -> None:
    """303 turns a POST into a GET without body; 307 repeats the POST with its body."""
    async with AsyncSession(base_url=server.url) as session:
        await session.post("/redirect-to?url=/anything&status_code=303", json={"a": 1})
        await session.post("/redirect-to?url=/anything&status_code=307", json={"b": 2})
    hops = [(r.method, r.path, r.body) for r in server.requests]
    assert hops[1] == ("GET", "/anything", b"")
    assert hops[3] == ("POST", "/anything", b'{"b":2}')


async def test_status_error_returns_none_and_logs(shared_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    """A 4xx/5xx returns None with one ERROR line naming method, URL and status."""
    caplog.set_level(logging.ERROR, logger="fasthttp")
    async with AsyncSession(base_url=shared_server.url) as session:
        assert await session.get("/status/404") is None
        assert await session.get("/status/500?token=abc") is None
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("fasthttp")]
    assert len(lines) == 2
    assert "GET" in lines[0] and "/status/404" in lines[0] and "404" in lines[0]
    assert "500" in lines[1] and "abc" not in lines[1]


async def test_raise_errors_raises_http_status_error(shared_server: LocalServer) -> None:
    """raise_errors=True raises HTTPStatusError whose response stays readable."""
    async with AsyncSession(base_url=shared_server.url, raise_errors=True) as session:
        with pytest.raises(HTTPStatusError) as info:
            await session.get("/status/418")
    assert info.value.response.status_code == 418
    assert info.value.request.method == "GET"


async def test_connection_refused_returns_none_with_cause(caplog: pytest.LogCaptureFixture) -> None:
    """A refused connection returns None and the ERROR line says ConnectError."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.ERROR, logger="fasthttp")
    async with AsyncSession() as session:
        assert await session.get(f"http://127.0.0.1:{port}/") is None
    assert any("ConnectError" in r.getMessage() for r in caplog.records)


async def test_middleware_accepts_one_object_or_a_list(server: LocalServer) -> None:
    """middleware= takes one object or a list; the first in the list is outermost."""
    order: list[str] = []

    class Tag(BaseMiddleware):
        def __init__(self, name: str) -> None:
            self.name = name

        async def before_request(self, request: Request) -> Request:
            order.append(f"{self.name}>")
            request.headers[f"X-{self.name}"] = "1"
            return request

        async def after_response(self, request: Request, response: Response) -> None:
            order.append(f"<{self.name}")

    async with AsyncSession(base_url=server.url, middleware=Tag("one")) as session:
        await session.get("/get")
    async with AsyncSession(base_url=server.url, middleware=[Tag("a"), Tag("b")]) as session:
        await session.get("/get")
    assert order == ["one>", "<one", "a>", "b>", "<b", "<a"]
    assert server.requests[1].header("x-a") == "1" and server.requests[1].header("x-b") == "1"


async def test_middleware_class_instead_of_instance_is_a_clear_error() -> None:
    """Passing a middleware class instead of an instance names the fix."""
    with pytest.raises(TypeError, match=r"BaseMiddleware\(\)"):
        AsyncSession(middleware=BaseMiddleware)


async def test_debug_logs_requests_with_secrets_masked(
    shared_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """debug=True logs each request and response at DEBUG, never showing the secrets."""
    caplog.set_level(logging.DEBUG, logger="fasthttp")
    async with AsyncSession(base_url=shared_server.url, debug=True) as session:
        await session.get(
            "/get?api_key=KEY123&page=1",
            headers={"Authorization": "Bearer TOKEN456", "X-API-Key": "APIKEY789", "Cookie": "sid=COOKIE000"},
        )
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "GET" in text and "200" in text and "page=1" in text
    for secret in ("KEY123", "TOKEN456", "APIKEY789", "COOKIE000"):
        assert secret not in text
    assert "Bearer [REDACTED]" in text


async def test_userinfo_becomes_basic_auth_and_is_not_sent_in_the_url(server: LocalServer) -> None:
    """user:password@ in the URL becomes an Authorization header and leaves the URL."""
    host = server.url.split("//", 1)[1]
    async with AsyncSession() as session:
        resp = _ok(await session.get(f"http://ann:pw@{host}/basic-auth/ann/pw"))
    assert resp.json()["authenticated"] is True
    assert resp.url.user is None and resp.request is not None and resp.request.url.user is None


async def test_one_pool_is_reused() -> None:
    """Sequential requests reuse one keep-alive connection (the server sees one client port)."""
    from aiohttp import web

    from tests.support.scripted import scripted_server

    peers: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"ok": True})

    async with scripted_server(handler) as url, AsyncSession(base_url=url) as session:
        for _ in range(5):
            assert await session.get("/") is not None
    assert len(peers) == 5 and len(set(peers)) == 1


async def test_event_hooks_see_every_request_and_response(server: LocalServer) -> None:
    """Request hooks run before sending (and may add headers), response hooks after, sync or async."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        seen.append(f"req {request.url.path}")
        request.headers["X-Hooked"] = "yes"

    async def on_response(response: Response) -> None:
        seen.append(f"resp {response.status}")

    async with AsyncSession(
        base_url=server.url, event_hooks={"request": [on_request], "response": [on_response]}
    ) as session:
        await session.get("/redirect/1")
    assert seen == ["req /redirect/1", "resp 302", "req /get", "resp 200"]
    assert all(r.header("x-hooked") == "yes" for r in server.requests)


async def test_event_hook_raising_fails_the_request(shared_server: LocalServer) -> None:
    """A response hook calling raise_for_status turns a 404 into HTTPStatusError."""

    def check(response: Response) -> None:
        response.raise_for_status()

    async with AsyncSession(base_url=shared_server.url, event_hooks={"response": [check]}) as session:
        with pytest.raises(HTTPStatusError):
            await session.send(session.build_request("GET", "/status/404"))


def test_event_hooks_are_checked() -> None:
    """Unknown hook kinds and non-callables are refused with a clear message."""
    with pytest.raises(ValueError, match="unknown key 'before'"):
        AsyncSession(event_hooks={"before": []})
    with pytest.raises(TypeError, match="functions"):
        AsyncSession(event_hooks={"request": ["nope"]})


async def test_auth_tuple_is_basic_auth(shared_server: LocalServer) -> None:
    """auth=(user, password) on the session or one call sends Basic credentials."""
    async with AsyncSession(base_url=shared_server.url, auth=("ann", "pw")) as session:
        assert _ok(await session.get("/basic-auth/ann/pw")).json()["authenticated"] is True
        assert await session.get("/basic-auth/bob/x") is None
        assert _ok(await session.get("/basic-auth/bob/x", auth=("bob", "x"))).status == 200


async def test_auth_is_not_sent_to_another_origin_after_a_redirect(server: LocalServer) -> None:
    """Credentials from auth= stay with the first origin when a redirect leaves it."""
    from fasthttp.testing import serve

    async with serve() as other, AsyncSession(base_url=server.url, auth=("ann", "pw")) as session:
        await session.get(f"/redirect-to?url={other.url}/headers")
        assert other.requests[-1].header("authorization") is None
    assert server.requests[0].header("authorization") is not None


def test_bad_auth_values_are_explained() -> None:
    """auth= with a wrong shape names what it accepts."""
    with pytest.raises(TypeError, match="username, password"):
        AsyncSession(auth=("only-user",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="auth object"):
        AsyncSession(auth=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["http11", "aiohttp"])
async def test_both_http11_transports_are_selectable(shared_server: LocalServer, kind: str) -> None:
    """transport="http11" (the default) and transport="aiohttp" both send requests."""
    async with AsyncSession(base_url=shared_server.url, transport=kind) as session:
        assert _ok(await session.get("/get")).status == 200
        assert type(session._transport).__name__ == {"http11": "HTTP11Transport", "aiohttp": "AiohttpTransport"}[kind]


def test_unknown_transport_name_is_explained() -> None:
    """An unknown transport name raises ValueError naming the two choices."""
    with pytest.raises(ValueError, match=r"'http11'.*'aiohttp'"):
        AsyncSession(transport="curl")
