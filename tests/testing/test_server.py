"""Tests of the embedded test server itself, over real TCP with aiohttp's client."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import os
import random
import re
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from fasthttp.testing import LocalServer, RecordedRequest, serve, serve_in_thread
from fasthttp.testing.app import LARGE_PATTERN, LATIN1_TEXT, UTF8_TEXT, digest_response

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with serve() as srv:
        yield srv


@pytest.fixture
async def session(server: LocalServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.url) as client:
        yield client


# --------------------------------------------------------------------------- echo


async def test_get_echo_shape(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """GET /get echoes method, multi-value args, title-cased headers, origin and url."""
    async with session.get("/get?a=1&a=2&b=x", headers={"x-custom-thing": "yes"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        data = await resp.json()
    assert data["method"] == "GET"
    assert data["args"] == {"a": ["1", "2"], "b": "x"}
    assert data["headers"]["X-Custom-Thing"] == "yes"
    assert data["headers"]["Host"] == server.url.removeprefix("http://")
    assert data["origin"] == "127.0.0.1"
    assert data["url"] == f"{server.url}/get?a=1&a=2&b=x"
    assert (data["data"], data["json"], data["form"], data["files"]) == ("", None, {}, {})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_method_endpoints_echo_json(session: aiohttp.ClientSession, method: str) -> None:
    """/post, /put, /patch and /delete echo their method and a JSON body."""
    async with session.request(method, f"/{method.lower()}", json={"k": [1, 2]}) as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["method"] == method
    assert data["json"] == {"k": [1, 2]}
    assert data["data"] == '{"k": [1, 2]}'


async def test_wrong_method_is_405(session: aiohttp.ClientSession) -> None:
    """Method-specific echo endpoints answer 405 to other methods."""
    async with session.get("/post") as resp:
        assert resp.status == 405
    async with session.post("/get") as resp:
        assert resp.status == 405


async def test_echo_form_body(session: aiohttp.ClientSession) -> None:
    """An urlencoded body is echoed under "form" with repeated fields as lists."""
    async with session.post("/post", data=[("a", "1"), ("a", "2"), ("b", "é")]) as resp:
        data = await resp.json()
    assert data["form"] == {"a": ["1", "2"], "b": "é"}
    assert data["data"] == ""


async def test_echo_multipart_body(session: aiohttp.ClientSession) -> None:
    """A multipart body is split into "form" fields and "files" contents."""
    form = aiohttp.FormData()
    form.add_field("field", "value")
    form.add_field("upload", b"file content\n", filename="a.txt", content_type="text/plain")
    async with session.put("/put", data=form) as resp:
        data = await resp.json()
    assert data["form"] == {"field": "value"}
    assert data["files"] == {"upload": "file content\n"}


async def test_echo_bytes_body(session: aiohttp.ClientSession) -> None:
    """Text bodies echo as text; non-UTF-8 bodies echo as a base64 data URL."""
    async with session.patch("/patch", data=b"plain text") as resp:
        assert (await resp.json())["data"] == "plain text"
    headers = {"Content-Type": "application/octet-stream"}
    async with session.patch("/patch", data=b"\xff\x00", headers=headers) as resp:
        assert (await resp.json())["data"] == "data:application/octet-stream;base64,/wA="


async def test_anything_accepts_any_method_and_tail(session: aiohttp.ClientSession) -> None:
    """/anything and /anything/{tail} echo for any method."""
    for method in ("GET", "OPTIONS", "PROPFIND"):
        async with session.request(method, "/anything/x/y?q=1") as resp:
            data = await resp.json()
            assert (data["method"], data["args"]) == (method, {"q": "1"})
            assert data["url"].endswith("/anything/x/y?q=1")
    async with session.post("/anything", data=b"hi") as resp:
        assert (await resp.json())["data"] == "hi"


async def test_echo_returns_body_and_content_type(session: aiohttp.ClientSession) -> None:
    """/echo returns the request body verbatim with the request's Content-Type."""
    body = bytes(range(256)) * 10
    headers = {"Content-Type": "application/x-thing"}
    async with session.put("/echo", data=body, headers=headers) as resp:
        assert resp.headers["Content-Type"] == "application/x-thing"
        assert await resp.read() == body


async def test_headers_user_agent_ip(session: aiohttp.ClientSession) -> None:
    """/headers, /user-agent and /ip report what the client sent and where from."""
    async with session.get("/headers", headers={"User-Agent": "probe/1"}) as resp:
        assert (await resp.json())["headers"]["User-Agent"] == "probe/1"
    async with session.get("/user-agent", headers={"User-Agent": "probe/1"}) as resp:
        assert await resp.json() == {"user-agent": "probe/1"}
    async with session.get("/ip") as resp:
        assert await resp.json() == {"origin": "127.0.0.1"}


# --------------------------------------------------------------------------- status, redirects


@pytest.mark.parametrize("code", [200, 201, 204, 404, 418, 500, 503])
async def test_status(session: aiohttp.ClientSession, code: int) -> None:
    """/status/{code} answers that status for any method."""
    async with session.post(f"/status/{code}") as resp:
        assert resp.status == code


async def test_status_redirect_has_location(session: aiohttp.ClientSession) -> None:
    """A 3xx from /status/{code} carries Location: /get."""
    async with session.get("/status/307", allow_redirects=False) as resp:
        assert resp.status == 307
        assert resp.headers["Location"] == "/get"


async def test_redirect_chain(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """/redirect/n is an n-hop 302 chain ending at /get; relative and absolute variants too."""
    async with session.get("/redirect/3") as resp:
        assert resp.status == 200
        assert [r.headers["Location"] for r in resp.history] == [
            "/redirect/2",
            "/redirect/1",
            "/get",
        ]
    async with session.get("/relative-redirect/2", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (302, "/relative-redirect/1")
    async with session.get("/absolute-redirect/2", allow_redirects=False) as resp:
        assert resp.headers["Location"] == f"{server.url}/absolute-redirect/1"
    async with session.get("/absolute-redirect/1", allow_redirects=False) as resp:
        assert resp.headers["Location"] == f"{server.url}/get"


async def test_redirect_to(session: aiohttp.ClientSession) -> None:
    """/redirect-to sets Location to the url param verbatim with the asked status."""
    url = "http://example.invalid/x?y=1"
    async with session.put("/redirect-to", params={"url": url, "status_code": "307"}, allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (307, url)


async def test_delay(session: aiohttp.ClientSession) -> None:
    """/delay/{seconds} waits before answering with a /get-like echo."""
    start = time.monotonic()
    async with session.get("/delay/0.3") as resp:
        assert (await resp.json())["method"] == "GET"
    assert time.monotonic() - start >= 0.3


# --------------------------------------------------------------------------- cookies & headers


async def test_cookies_set_and_read(server: LocalServer) -> None:
    """/cookies/set stores cookies (Path=/) and redirects to /cookies, which echoes them."""
    jar = aiohttp.CookieJar(unsafe=True)  # the client jar ignores IP hosts by default
    async with aiohttp.ClientSession(base_url=server.url, cookie_jar=jar) as client:
        async with client.get("/cookies/set?a=1&b=two") as resp:
            assert resp.history[0].status == 302
            assert await resp.json() == {"cookies": {"a": "1", "b": "two"}}
        async with client.get("/cookies/delete?a") as resp:
            assert await resp.json() == {"cookies": {"b": "two"}}


async def test_cookies_set_raw(session: aiohttp.ClientSession) -> None:
    """/cookies/set-raw sends each v= value as a Set-Cookie header verbatim."""
    values = ["a=1; Domain=example.com; Path=/x", "b=2; Max-Age=0; Secure"]
    async with session.get("/cookies/set-raw", params=[("v", v) for v in values]) as resp:
        assert resp.status == 200
        assert resp.headers.getall("Set-Cookie") == values
        assert await resp.json() == {"set-cookie": values}


async def test_response_headers(session: aiohttp.ClientSession) -> None:
    """/response-headers sets the given (repeatable) headers and echoes them."""
    params = [("X-One", "1"), ("X-Two", "a"), ("X-Two", "b")]
    async with session.get("/response-headers", params=params) as resp:
        assert resp.headers["X-One"] == "1"
        assert resp.headers.getall("X-Two") == ["a", "b"]
        assert await resp.json() == {"X-One": "1", "X-Two": ["a", "b"]}


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("path", "encoding", "decode", "flag"),
    [
        ("/gzip", "gzip", gzip.decompress, "gzipped"),
        ("/deflate", "deflate", zlib.decompress, "deflated"),
    ],
)
async def test_compressed_bodies(server: LocalServer, path: str, encoding: str, decode: Any, flag: str) -> None:
    """/gzip and /deflate bodies are encoded exactly once and decode to JSON."""
    raw_client = aiohttp.ClientSession(base_url=server.url, auto_decompress=False)
    async with raw_client as client, client.get(path) as resp:
        assert resp.headers["Content-Encoding"] == encoding
        raw = await resp.read()
    assert orjson.loads(decode(raw))[flag] is True
    async with aiohttp.ClientSession(base_url=server.url) as client, client.get(path) as resp:
        assert (await resp.json())[flag] is True


async def test_brotli_body(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """/brotli is br-encoded when brotli is installed, else 501."""
    try:
        import brotli
    except ImportError:
        async with session.get("/brotli") as resp:
            assert resp.status == 501
        return
    raw_client = aiohttp.ClientSession(base_url=server.url, auto_decompress=False)
    async with raw_client as client, client.get("/brotli") as resp:
        assert resp.headers["Content-Encoding"] == "br"
        assert b'"brotli":true' in brotli.decompress(await resp.read())


async def test_bytes_deterministic_and_sized(session: aiohttp.ClientSession) -> None:
    """/bytes/n returns n seeded pseudo-random bytes, identical on every call."""
    n = 200_003  # > 64 KiB so it is streamed in chunks
    async with session.get(f"/bytes/{n}?seed=7") as resp:
        assert resp.content_type == "application/octet-stream"
        assert resp.headers["Content-Length"] == str(n)
        first = await resp.read()
    async with session.get(f"/bytes/{n}?seed=7") as resp:
        second = await resp.read()
    assert first == second == random.Random(7).randbytes(n)
    async with session.get("/bytes/100") as resp:
        assert await resp.read() == random.Random(0).randbytes(100)


async def test_stream_bytes_chunked(session: aiohttp.ClientSession) -> None:
    """/stream-bytes/n sends the same seeded bytes with chunked transfer coding."""
    async with session.get("/stream-bytes/30000?seed=3&chunk_size=1000") as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in resp.headers
        assert await resp.read() == random.Random(3).randbytes(30000)
    async with session.get("/stream-bytes/70001?seed=3&chunk_size=7") as resp:
        assert await resp.read() == random.Random(3).randbytes(70001)


async def test_large_body_streamed(session: aiohttp.ClientSession) -> None:
    """/large/n streams n pattern bytes (byte i == i % 256) with Content-Length."""
    n = 3 * 1024 * 1024 + 5
    received = bytearray()
    chunks = 0
    async with session.get(f"/large/{n}") as resp:
        assert resp.headers["Content-Length"] == str(n)
        async for chunk in resp.content.iter_any():
            received += chunk
            chunks += 1
    assert len(received) == n
    assert chunks > 1
    assert received[: len(LARGE_PATTERN)] == LARGE_PATTERN
    assert received[-5:] == bytes([(n - k) % 256 for k in range(5, 0, -1)])


async def test_lines_arrive_separately_over_time(session: aiohttp.ClientSession) -> None:
    """/lines writes each line separately, so the first arrives long before the last."""
    arrivals: list[tuple[bytes, float]] = []
    async with session.get("/lines?count=3&interval=0.2") as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        while line := await resp.content.readline():
            arrivals.append((line, time.monotonic()))
    assert [line for line, _ in arrivals] == [b"line 0\n", b"line 1\n", b"line 2\n"]
    assert arrivals[2][1] - arrivals[0][1] >= 0.3


async def test_lines_crlf(session: aiohttp.ClientSession) -> None:
    """/lines?sep=crlf ends lines with CRLF."""
    async with session.get("/lines?count=3&interval=0&sep=crlf") as resp:
        assert await resp.read() == b"line 0\r\nline 1\r\nline 2\r\n"


async def test_stream_ndjson(session: aiohttp.ClientSession) -> None:
    """/stream/n sends n newline-delimited JSON objects with ids 0..n-1."""
    async with session.get("/stream/4") as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        lines = (await resp.read()).splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == [0, 1, 2, 3]


async def test_drip(session: aiohttp.ClientSession) -> None:
    """/drip sends numbytes '*' spread over duration, with the asked status."""
    start = time.monotonic()
    async with session.get("/drip?numbytes=4&duration=0.2&code=202") as resp:
        assert resp.status == 202
        assert await resp.read() == b"****"
    assert time.monotonic() - start >= 0.15


def _parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append(fields)
    return events


async def test_sse_format(session: aiohttp.ClientSession) -> None:
    """/sse emits id/event/data events separated by blank lines."""
    async with session.get("/sse?count=3") as resp:
        assert resp.content_type == "text/event-stream"
        text = await resp.text()
    assert text.startswith('id: 0\nevent: message\ndata: {"n":0}\n\n')
    assert _parse_sse(text) == [{"id": str(n), "event": "message", "data": f'{{"n":{n}}}'} for n in range(3)]


async def test_sse_last_event_id_and_status(session: aiohttp.ClientSession) -> None:
    """/sse resumes after Last-Event-ID, answers 204 when nothing is left or when asked."""
    async with session.get("/sse?count=4&retry=1500", headers={"Last-Event-ID": "1"}) as resp:
        text = await resp.text()
    assert text.startswith("retry: 1500\n\n")
    assert [e["id"] for e in _parse_sse(text.split("\n\n", 1)[1])] == ["2", "3"]
    async with session.get("/sse?count=4", headers={"Last-Event-ID": "3"}) as resp:
        assert resp.status == 204
    async with session.get("/sse?status=204") as resp:
        assert resp.status == 204


async def test_documents(session: aiohttp.ClientSession) -> None:
    """/json, /html, /xml, /robots.txt and /encoding/* serve fixed documents."""
    async with session.get("/json") as resp:
        body = await resp.read()
        assert 200 <= len(body) <= 400
        assert "slideshow" in await resp.json()
    async with session.get("/html") as resp:
        assert resp.content_type == "text/html"
    async with session.get("/xml") as resp:
        assert resp.content_type == "application/xml"
    async with session.get("/robots.txt") as resp:
        assert (await resp.text()).startswith("User-agent: *")
    async with session.get("/encoding/utf8") as resp:
        assert resp.charset == "utf-8"
        assert await resp.text() == UTF8_TEXT
    async with session.get("/encoding/latin1") as resp:
        assert resp.charset == "iso-8859-1"
        assert await resp.read() == LATIN1_TEXT.encode("latin-1")
        assert await resp.text() == LATIN1_TEXT


async def test_cache_and_etag(session: aiohttp.ClientSession) -> None:
    """/cache and /etag/{etag} honour conditional request headers."""
    async with session.get("/cache") as resp:
        assert resp.status == 200
        assert "Last-Modified" in resp.headers and "ETag" in resp.headers
    async with session.get("/cache", headers={"If-None-Match": '"x"'}) as resp:
        assert resp.status == 304
    async with session.get("/cache/60") as resp:
        assert resp.headers["Cache-Control"] == "public, max-age=60"
    async with session.get("/etag/abc") as resp:
        assert (resp.status, resp.headers["ETag"]) == (200, '"abc"')
    async with session.get("/etag/abc", headers={"If-None-Match": '"zzz", "abc"'}) as resp:
        assert resp.status == 304
    async with session.get("/etag/abc", headers={"If-Match": '"zzz"'}) as resp:
        assert resp.status == 412


# --------------------------------------------------------------------------- auth


async def test_basic_auth(session: aiohttp.ClientSession) -> None:
    """/basic-auth accepts matching Basic credentials and challenges otherwise."""
    good = {"Authorization": "Basic " + base64.b64encode(b"user:pw").decode()}
    async with session.get("/basic-auth/user/pw", headers=good) as resp:
        assert await resp.json() == {"authenticated": True, "user": "user"}
    bad = {"Authorization": "Basic " + base64.b64encode(b"user:no").decode()}
    async with session.get("/basic-auth/user/pw", headers=bad) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Fake Realm"'


async def test_bearer(session: aiohttp.ClientSession) -> None:
    """/bearer needs an Authorization: Bearer token."""
    async with session.get("/bearer", headers={"Authorization": "Bearer t0k"}) as resp:
        assert await resp.json() == {"authenticated": True, "token": "t0k"}
    async with session.get("/bearer") as resp:
        assert resp.status == 401


def _challenge(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', header)}


@pytest.mark.parametrize(
    ("qop", "algorithm", "hash_name"),
    [("auth", "MD5", "md5"), ("auth", "SHA-256", "sha256"), ("auth-int", "MD5", "md5")],
)
async def test_digest_auth_round_trip(session: aiohttp.ClientSession, qop: str, algorithm: str, hash_name: str) -> None:
    """Digest auth: 401 challenge, then a hashlib-computed response is accepted."""
    path = f"/digest-auth/{qop}/Mufasa/Circle of Life/{algorithm}"
    async with session.get(path) as resp:
        assert resp.status == 401
        params = _challenge(resp.headers["WWW-Authenticate"])
    assert params["qop"] == qop and params["algorithm"] == algorithm

    def h(data: str) -> str:
        return hashlib.new(hash_name, data.encode()).hexdigest()

    uri = path.replace(" ", "%20")
    cnonce, nc = "0a4f113b", "00000001"
    ha1 = h(f"Mufasa:{params['realm']}:Circle of Life")
    ha2 = h(f"GET:{uri}:{h('')}") if qop == "auth-int" else h(f"GET:{uri}")

    def authorization(response: str) -> dict[str, str]:
        value = (
            f'Digest username="Mufasa", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{uri}", algorithm={algorithm}, qop={qop}, nc={nc}, cnonce="{cnonce}", '
            f'response="{response}", opaque="{params["opaque"]}"'
        )
        return {"Authorization": value}

    good = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:{qop}:{ha2}")
    async with session.get(path, headers=authorization(good)) as resp:
        assert resp.status == 200
        assert await resp.json() == {"authenticated": True, "user": "Mufasa"}
    async with session.get(path, headers=authorization("0" * len(good))) as resp:
        assert resp.status == 401


def test_digest_response_matches_rfc7616_example() -> None:
    """The server's digest computation reproduces RFC 7616 §3.9.1 (MD5 and SHA-256)."""
    example: dict[str, Any] = {
        "username": "Mufasa",
        "realm": "http-auth@example.org",
        "password": "Circle of Life",
        "method": "GET",
        "uri": "/dir/index.html",
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "nc": "00000001",
        "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        "qop": "auth",
    }
    assert digest_response(algorithm="MD5", **example) == "8ca523f5e9506fed4657c9700eebdbec"
    assert (
        digest_response(algorithm="SHA-256", **example)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


# --------------------------------------------------------------------------- jsonplaceholder


async def test_jsonplaceholder_reads(session: aiohttp.ClientSession) -> None:
    """Resource lists have the documented sizes, filters work and missing items 404."""
    sizes = {"posts": 100, "users": 10, "todos": 200, "comments": 500}
    for name, size in sizes.items():
        async with session.get(f"/{name}") as resp:
            items = await resp.json()
        assert [item["id"] for item in items] == list(range(1, size + 1))
    async with session.get("/posts", params={"userId": "2"}) as resp:
        posts = await resp.json()
    assert len(posts) == 10 and {p["userId"] for p in posts} == {2}
    async with session.get("/comments?postId=3") as resp:
        assert {c["postId"] for c in await resp.json()} == {3}
    async with session.get("/posts/3/comments") as resp:
        assert len(await resp.json()) == 5
    async with session.get("/users/1") as resp:
        assert (await resp.json())["id"] == 1
    async with session.get("/posts/101") as resp:
        assert (resp.status, await resp.json()) == (404, {})


async def test_jsonplaceholder_writes_do_not_mutate(session: aiohttp.ClientSession) -> None:
    """POST/PUT/PATCH/DELETE answer like jsonplaceholder but leave the data untouched."""
    async with session.get("/posts/1") as resp:
        original = await resp.json()
    async with session.post("/posts", json={"title": "t", "userId": 1}) as resp:
        assert (resp.status, await resp.json()) == (201, {"title": "t", "userId": 1, "id": 101})
    async with session.put("/posts/1", json={"title": "new"}) as resp:
        assert await resp.json() == {**original, "title": "new"}
    async with session.patch("/posts/1", data={"body": "b"}) as resp:
        assert await resp.json() == {**original, "body": "b"}
    async with session.delete("/posts/1") as resp:
        assert (resp.status, await resp.json()) == (200, {})
    async with session.get("/posts/1") as resp:
        assert await resp.json() == original
    async with session.get("/posts") as resp:
        assert len(await resp.json()) == 100


# --------------------------------------------------------------------------- record & scripting


async def test_requests_recorded_and_hits(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """Every request (even a 404) is recorded in order with its headers and body."""
    async with session.get("/get?x=1", headers={"X-Trace-ID": "abc"}):
        pass
    async with session.post("/post", data=b"payload"):
        pass
    async with session.get("/missing"):
        pass
    async with session.get("/get"):
        pass
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/get"),
        ("POST", "/post"),
        ("GET", "/missing"),
        ("GET", "/get"),
    ]
    first: RecordedRequest = server.requests[0]
    assert first.query_string == "x=1"
    assert first.header("x-trace-id") == "abc"
    assert ("X-Trace-ID", "abc") in first.headers  # wire case kept
    assert first.header("nope") is None
    assert server.requests[1].body == b"payload"
    times = [r.arrived_at for r in server.requests]
    assert times == sorted(times)
    assert server.hits("/get") == 2
    server.reset()
    assert server.requests == [] and server.hits("/get") == 0


async def test_fail_next(server: LocalServer, session: aiohttp.ClientSession) -> None:
    """fail_next makes the next requests to a path answer the scripted statuses in order."""
    server.fail_next("/get", 503, times=2, headers={"Retry-After": "0"})
    server.fail_next("/get", 500)
    statuses = []
    for _ in range(4):
        async with session.get("/get") as resp:
            statuses.append(resp.status)
            if resp.status == 503:
                assert resp.headers["Retry-After"] == "0"
    assert statuses == [503, 503, 500, 200]
    assert server.hits("/get") == 4


async def test_slow_upload_refuses_large_body(session: aiohttp.ClientSession) -> None:
    """/slow-upload answers 413 to a body over 1 KiB without reading it; small ones pass."""
    async with session.post("/slow-upload", data=b"x" * 100) as resp:
        assert await resp.json() == {"received": 100}

    async def body() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536
            await asyncio.sleep(0.01)

    async with session.post("/slow-upload", data=body()) as resp:
        assert resp.status == 413
        assert resp.headers["Connection"] == "close"


async def test_client_abandoning_request_cancels_handler() -> None:
    """A client giving up on /delay stops the handler, so shutdown does not wait for it."""
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        async with serve() as srv:
            with pytest.raises(asyncio.TimeoutError):
                async with client.get(f"{srv.url}/delay/10"):
                    pass
            await asyncio.sleep(0.05)  # let the server notice the disconnect
            start = time.monotonic()
        # An in-flight handler would hold shutdown for the whole grace period (0.25 s).
        assert time.monotonic() - start < 0.2


async def test_shutdown_with_open_stream_is_prompt() -> None:
    """Leaving serve() mid-stream closes everything quickly and leaves no tasks behind."""
    async with aiohttp.ClientSession() as client:
        start = time.monotonic()
        async with serve() as srv:
            resp = await client.get(f"{srv.url}/sse?count=1000&interval=0.5")
            assert await resp.content.readline() == b"id: 0\n"
        assert time.monotonic() - start < 3
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no handler left behind
        with pytest.raises(aiohttp.ClientError):
            await resp.read()
        resp.release()


# --------------------------------------------------------------------------- lifecycle


async def test_serve_in_thread_start_stop() -> None:
    """serve_in_thread listens before returning and joins its thread on exit."""
    before = sum(t.name == "fasthttp-testing-server" for t in threading.enumerate())
    with serve_in_thread() as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}" and srv.port > 0
        async with aiohttp.ClientSession() as client, client.get(f"{srv.url}/json") as resp:
            assert resp.status == 200
        assert srv.hits("/json") == 1
        assert sum(t.name == "fasthttp-testing-server" for t in threading.enumerate()) == before + 1
    assert sum(t.name == "fasthttp-testing-server" for t in threading.enumerate()) == before


async def test_serve_in_thread_reports_startup_error(server: LocalServer) -> None:
    """A port already in use surfaces as OSError from serve_in_thread."""
    with pytest.raises(OSError), serve_in_thread(port=server.port):
        pass


async def test_non_loopback_host_refused() -> None:
    """serve() and serve_in_thread() refuse to bind anything but loopback."""
    for host in ("0.0.0.0", "192.0.2.1", "::", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            async with serve(host):
                pass
        with pytest.raises(ValueError, match="loopback"), serve_in_thread(host):
            pass
    async with serve("localhost") as srv:
        assert srv.url.startswith("http://127.0.0.1:")


async def test_main_module_prints_url_and_serves() -> None:
    """`python -m fasthttp.testing` prints its URL, answers, and exits 0 on SIGTERM."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fasthttp.testing",
        "--port",
        "0",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        match = re.fullmatch(r"Serving on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        async with aiohttp.ClientSession() as client, client.get(f"{match[1]}/get") as resp:
            assert resp.status == 200
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), 10)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.communicate()
            raise
    assert proc.returncode == 0, stderr.decode()
