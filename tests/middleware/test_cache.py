"""CacheMiddleware over real TCP: the server's hit counter proves what was sent."""

from __future__ import annotations

import contextlib
import email.utils
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from fasthttp import AsyncSession, Response
from fasthttp.middleware.cache import CacheMiddleware, InMemoryCacheStorage, SQLiteCacheStorage
from fasthttp.middleware.cache_storage import CachedEntry
from fasthttp.streaming import StreamResponse
from fasthttp.testing import LocalServer


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def _get(session: AsyncSession, url: str, **kwargs: Any) -> Response:
    response = await session.send(session.build_request("GET", url, **kwargs))
    return response


async def test_fresh_response_is_served_from_cache(server: LocalServer) -> None:
    """A second GET of a max-age response is answered from the cache: the server sees one request."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        first = await _get(session, "/cache/60")
        second = await _get(session, "/cache/60")
    assert server.hits("/cache/60") == 1
    assert first.extensions["from_cache"] is False
    assert second.extensions["from_cache"] is True
    assert second.status_code == 200 and second.content == first.content
    assert second.headers["age"].isdigit()


async def test_different_urls_and_uncacheable_responses_miss(server: LocalServer) -> None:
    """Another URL, a response without caching headers and a 500 are all fetched every time."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        await _get(session, "/cache/60?a=1")
        await _get(session, "/cache/60?a=2")
        for _ in range(2):
            assert (await _get(session, "/get")).extensions["from_cache"] is False
            await _get(session, "/status/500")
    assert server.hits("/cache/60") == 2
    assert server.hits("/get") == 2
    assert server.hits("/status/500") == 2


async def test_ttl_override_caches_header_less_responses(server: LocalServer) -> None:
    """ttl= gives a lifetime to responses that carry no caching headers."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(ttl=60)]) as session:
        await _get(session, "/get")
        assert (await _get(session, "/get")).extensions["from_cache"] is True
    assert server.hits("/get") == 1


async def test_entry_expires_after_max_age(server: LocalServer) -> None:
    """Once max-age has passed on the injected clock, the next GET goes to the server again."""
    clock = Clock()
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(clock=clock)]) as session:
        await _get(session, "/cache/10")
        clock.advance(5)
        assert (await _get(session, "/cache/10")).extensions["from_cache"] is True
        clock.advance(6)
        assert (await _get(session, "/cache/10")).extensions["from_cache"] is False
    assert server.hits("/cache/10") == 2


async def test_expires_header_sets_the_lifetime(server: LocalServer) -> None:
    """Expires minus Date is the lifetime; an Expires in the past is not reused."""
    clock = Clock()
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(clock=clock)]) as session:
        for _ in range(2):
            await _get(session, "/response-headers", params={"Expires": future})
            await _get(session, "/response-headers", params={"Expires": past, "x": "1"})
        clock.advance(40)
        await _get(session, "/response-headers", params={"Expires": future})
    assert server.hits("/response-headers") == 4


async def test_no_store_response_is_never_cached(server: LocalServer) -> None:
    """A response with Cache-Control: no-store is fetched every time."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(ttl=60)]) as session:
        for _ in range(3):
            await _get(session, "/response-headers", params={"Cache-Control": "no-store"})
    assert server.hits("/response-headers") == 3


async def test_no_store_request_bypasses_the_cache(server: LocalServer) -> None:
    """A request with Cache-Control: no-store neither uses nor fills the cache."""
    no_store = {"Cache-Control": "no-store"}
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        await _get(session, "/cache/60", headers=no_store)  # not stored
        await _get(session, "/cache/60")  # stored
        assert (await _get(session, "/cache/60")).extensions["from_cache"] is True
        assert (await _get(session, "/cache/60", headers=no_store)).extensions["from_cache"] is False
    assert server.hits("/cache/60") == 3


async def test_request_no_cache_forces_a_fetch(server: LocalServer) -> None:
    """Cache-Control: no-cache on the request makes a fresh entry be fetched again."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        await _get(session, "/cache/60")
        again = await _get(session, "/cache/60", headers={"Cache-Control": "no-cache"})
    assert again.extensions["from_cache"] is False
    assert server.hits("/cache/60") == 2


async def test_only_if_cached_answers_504_on_a_miss(server: LocalServer) -> None:
    """only-if-cached returns 504 without contacting the server when nothing is stored."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        response = await _get(session, "/cache/60", headers={"Cache-Control": "only-if-cached"})
    assert response.status_code == 504
    assert server.hits("/cache/60") == 0


async def test_vary_keys_entries_by_request_header(server: LocalServer) -> None:
    """With Vary: Accept-Language, each language gets its own entry and is reused only for itself."""
    params = {"Cache-Control": "max-age=60", "Vary": "Accept-Language"}
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        en = await _get(session, "/response-headers", params=params, headers={"Accept-Language": "en"})
        fr = await _get(session, "/response-headers", params=params, headers={"Accept-Language": "fr"})
        en_again = await _get(session, "/response-headers", params=params, headers={"Accept-Language": "en"})
        fr_again = await _get(session, "/response-headers", params=params, headers={"Accept-Language": "fr"})
        none = await _get(session, "/response-headers", params=params)
    assert [en.extensions["from_cache"], fr.extensions["from_cache"]] == [False, False]
    assert [en_again.extensions["from_cache"], fr_again.extensions["from_cache"]] == [True, True]
    assert none.extensions["from_cache"] is False
    assert [r.header("accept-language") for r in server.requests] == ["en", "fr", None]


async def test_authorization_is_part_of_the_key(server: LocalServer) -> None:
    """A response fetched with one credential is never served to a request with another."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        await _get(session, "/cache/60", headers={"Authorization": "Bearer alice"})
        bob = await _get(session, "/cache/60", headers={"Authorization": "Bearer bob"})
        alice = await _get(session, "/cache/60", headers={"Authorization": "Bearer alice"})
    assert bob.extensions["from_cache"] is False
    assert alice.extensions["from_cache"] is True
    assert server.hits("/cache/60") == 2


async def test_etag_revalidation_serves_body_from_cache(server: LocalServer) -> None:
    """A stored response with an ETag is revalidated: the server sees If-None-Match, answers 304,
    and the body comes from the cache."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        first = await _get(session, "/etag/v1")
        second = await _get(session, "/etag/v1")
    assert [r.header("if-none-match") for r in server.requests] == [None, '"v1"']
    assert second.status_code == 200
    assert second.content == first.content and second.json()["url"].endswith("/etag/v1")
    assert second.extensions == {"from_cache": True, "revalidated": True}


async def test_last_modified_revalidation_after_expiry(server: LocalServer) -> None:
    """A stale entry with Last-Modified is revalidated with If-Modified-Since and refreshed by the 304."""
    clock = Clock()
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(ttl=30, clock=clock)]) as session:
        await _get(session, "/cache")
        assert (await _get(session, "/cache")).extensions["from_cache"] is True
        clock.advance(31)
        revalidated = await _get(session, "/cache")
        fresh_again = await _get(session, "/cache")
    assert server.hits("/cache") == 2
    assert server.requests[1].header("if-modified-since") == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert revalidated.status_code == 200 and revalidated.extensions["revalidated"] is True
    assert fresh_again.extensions == {"from_cache": True, "revalidated": False}


async def test_lru_eviction_bounds_the_store(server: LocalServer) -> None:
    """With max_entries=2 the least recently used URL is evicted first."""
    cache = CacheMiddleware(max_entries=2)
    async with AsyncSession(base_url=server.url, middleware=[cache]) as session:
        await _get(session, "/cache/60?k=a")
        await _get(session, "/cache/60?k=b")
        await _get(session, "/cache/60?k=a")  # hit: b is now least recently used
        await _get(session, "/cache/60?k=c")  # evicts b
        a = await _get(session, "/cache/60?k=a")
        b = await _get(session, "/cache/60?k=b")
    assert a.extensions["from_cache"] is True
    assert b.extensions["from_cache"] is False
    assert [r.query_string for r in server.requests] == ["k=a", "k=b", "k=c", "k=b"]
    assert isinstance(cache.storage, InMemoryCacheStorage) and len(cache.storage) == 2


async def test_byte_bound_evicts_and_skips_oversized(server: LocalServer) -> None:
    """max_bytes bounds the total size: a response larger than the bound is not stored."""
    cache = CacheMiddleware(max_bytes=300)
    async with AsyncSession(base_url=server.url, middleware=[cache]) as session:
        await _get(session, "/cache/60")  # an echo body of several hundred bytes
        await _get(session, "/cache/60")
    assert server.hits("/cache/60") == 2
    assert isinstance(cache.storage, InMemoryCacheStorage) and cache.storage.total_bytes == 0


async def test_head_is_cached_separately_from_get(server: LocalServer) -> None:
    """HEAD and GET responses are stored under their own keys."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(ttl=60)]) as session:
        for _ in range(2):
            await session.send(session.build_request("HEAD", "/get"))
            await _get(session, "/get")
    assert [r.method for r in server.requests] == ["HEAD", "GET"]


async def test_unsafe_method_invalidates_the_url(server: LocalServer) -> None:
    """A successful POST to a URL drops its stored GET response."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(ttl=60)]) as session:
        await _get(session, "/anything/item")
        await _get(session, "/anything/item")
        await session.send(session.build_request("POST", "/anything/item", json={"x": 1}))
        after = await _get(session, "/anything/item")
    assert after.extensions["from_cache"] is False
    assert [r.method for r in server.requests] == ["GET", "POST", "GET"]


async def test_set_cookie_is_not_stored(server: LocalServer) -> None:
    """A cached response does not replay Set-Cookie."""
    params = {"Cache-Control": "max-age=60", "Set-Cookie": "sid=secret"}
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        first = await _get(session, "/response-headers", params=params)
        second = await _get(session, "/response-headers", params=params)
    assert "set-cookie" in first.headers
    assert second.extensions["from_cache"] is True and "set-cookie" not in second.headers


async def test_stream_requests_pass_through(server: LocalServer) -> None:
    """Requests marked fasthttp.stream are never stored nor answered from the cache."""
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware()]) as session:
        for _ in range(2):
            request = session.build_request("GET", "/cache/60")
            request.extensions["fasthttp.stream"] = True
            response = await session.send(request)
            assert "from_cache" not in response.extensions
            assert isinstance(response, StreamResponse)
            await response.aclose()
    assert server.hits("/cache/60") == 2


async def test_sqlite_storage_persists_across_sessions(server: LocalServer, tmp_path: Path) -> None:
    """A response stored in a SQLite file by one session is served to a new session and middleware."""
    path = tmp_path / "http-cache.db"
    writer = CacheMiddleware(storage=SQLiteCacheStorage(path))
    async with AsyncSession(base_url=server.url, middleware=[writer]) as session:
        first = await _get(session, "/cache/60?token=s3cret")
    await writer.aclose()
    storage = SQLiteCacheStorage(path)
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(storage=storage)]) as session:
        second = await _get(session, "/cache/60?token=s3cret")
    assert server.hits("/cache/60") == 1
    assert second.extensions["from_cache"] is True and second.content == first.content
    assert await storage.count() == 1
    await storage.aclose()
    with contextlib.closing(sqlite3.connect(path)) as db:
        keys = [key for (key,) in db.execute("SELECT key FROM fasthttp_cache_v1")]
    assert len(keys) == 1 and re.fullmatch("[0-9a-f]{64}", keys[0])  # a digest, not the URL with its token
    with pytest.raises(RuntimeError, match="is closed"):
        await storage.get("GET http://h/")


async def test_sqlite_storage_bounds_entries(tmp_path: Path) -> None:
    """SQLiteCacheStorage keeps at most max_entries responses, evicting the least recently used."""
    storage = SQLiteCacheStorage(tmp_path / "c.db", max_entries=2)
    entry = CachedEntry(200, "OK", "HTTP/1.1", (("ETag", '"x"'),), b"body", time.time(), 0.0, 60.0)
    await storage.set("GET http://h/a", [entry])
    await storage.set("GET http://h/b", [entry])
    await storage.set("GET http://h/c", [entry])  # evicts a: all were used at the same time, a stored first
    assert await storage.get("GET http://h/a") == []
    assert await storage.get("GET http://h/c") == [entry]
    await storage.delete("GET http://h/c")
    assert await storage.count() == 1
    storage.close()


async def test_corrupt_sqlite_file_is_a_miss(
    server: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged cache file never fails a request: it is a miss, logged once at WARNING."""
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a SQLite database " * 200)
    cache = CacheMiddleware(storage=SQLiteCacheStorage(path))
    async with AsyncSession(base_url=server.url, middleware=[cache]) as session:
        statuses = [(await _get(session, "/cache/60")).status_code for _ in range(2)]
    await cache.aclose()
    assert statuses == [200, 200] and server.hits("/cache/60") == 2
    warnings = [r for r in caplog.records if r.name == "fasthttp.cache" and r.levelname == "WARNING"]
    assert len(warnings) == 1 and "answering without the cache" in warnings[0].getMessage()


async def test_request_max_age_and_max_stale(server: LocalServer) -> None:
    """Request max-age refuses an entry older than asked; max-stale accepts a stale one within its bound."""
    clock = Clock()
    async with AsyncSession(base_url=server.url, middleware=[CacheMiddleware(clock=clock)]) as session:
        await _get(session, "/cache/10")
        clock.advance(5)
        assert (await _get(session, "/cache/10", headers={"Cache-Control": "max-age=2"})).extensions[
            "from_cache"
        ] is False  # fetched again and stored at t=5
        clock.advance(15)  # that entry is 5 s stale
        stale_ok = await _get(session, "/cache/10", headers={"Cache-Control": "max-stale=10"})
        too_stale = await _get(session, "/cache/10", headers={"Cache-Control": "max-stale=2"})
    assert stale_ok.extensions["from_cache"] is True
    assert too_stale.extensions["from_cache"] is False
    assert server.hits("/cache/10") == 3


def test_sqlite_storage_rejects_memory_and_missing_directory(tmp_path: Path) -> None:
    """SQLiteCacheStorage refuses ':memory:' and a path whose directory does not exist, saying why."""
    with pytest.raises(ValueError, match="InMemoryCacheStorage"):
        SQLiteCacheStorage(":memory:")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SQLiteCacheStorage(tmp_path / "missing" / "c.db")


def test_bad_arguments_are_clear_errors() -> None:
    """A negative ttl, a zero bound or a non-storage object fail at construction."""
    with pytest.raises(ValueError, match="ttl"):
        CacheMiddleware(ttl=-1)
    with pytest.raises(ValueError, match="max_entries"):
        CacheMiddleware(max_entries=0)
    with pytest.raises(TypeError, match="CacheStorage"):
        CacheMiddleware(storage=object())  # type: ignore[arg-type]
