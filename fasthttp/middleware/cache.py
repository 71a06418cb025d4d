"""CacheMiddleware: a private HTTP cache for GET and HEAD (RFC 9111).

Rules implemented (section numbers of RFC 9111):
- **What is stored** (3.): only responses to GET and HEAD with a heuristically
  cacheable status (RFC 9110 15.1: 200 203 204 300 301 308 404 405 410 414 501),
  never with ``no-store`` on the request or the response (5.2.1.5, 5.2.2.5), never
  with ``Vary: *``. ``private`` is allowed: this is a private (one client) cache.
  A request with ``no-store`` goes straight to the server, bypassing the cache.
  Requests with ``Range`` or their own conditional headers (``If-None-Match``,
  ``If-Modified-Since``, ``If-Match``, ``If-Unmodified-Since``, ``If-Range``) go
  straight to the server. ``Set-Cookie`` and hop-by-hop fields are not stored.
- **Freshness** (4.2.1): ``max-age``, else ``Expires`` minus ``Date`` (an invalid
  ``Expires`` such as ``0`` means already expired), else the ``ttl=`` override.
  With none of them the response is stored only if it has a validator, and is
  then revalidated before every use: there is no heuristic freshness, because an
  API response must not be reused by guesswork. ``no-cache`` on the response
  also means "revalidate before every use". ``s-maxage`` is ignored (a shared
  cache's directive).
- **Age** (4.2.3): the ``Age`` field plus the response delay, plus the time
  resident here. The ``Date``-based ``apparent_age`` is deliberately left out:
  it compares our clock with the server's, and client clocks are often skewed
  (containers, VMs); with it a client 10 s ahead would find every ``max-age=10``
  response stale on arrival. Intermediaries report age in ``Age``, which counts.
  (``Expires - Date`` uses two server-clock values, so it is skew-free.) Times
  come from ``clock`` (wall clock, so a SQLite cache stays right across runs;
  inject a fake one in tests).
- **Reuse** (4.): by method and URL (without fragment), plus the request's values
  of the fields named in the stored response's ``Vary`` (4.1). ``Authorization``
  always counts as if it were listed in ``Vary``: a response fetched with one
  credential is never served to a request made with another (or none). The most
  recently stored matching variant is used (at most 8 per URL).
- **Request directives** (5.2.1): ``no-store``, ``no-cache`` (and ``Pragma: no-cache``
  without ``Cache-Control``), ``max-age``, ``min-fresh``, ``max-stale`` (never for
  responses with ``must-revalidate``/``no-cache``), ``only-if-cached`` (a 504 when
  nothing fits).
- **Revalidation** (4.3): a stale or ``no-cache`` entry with an ``ETag`` and/or
  ``Last-Modified`` is revalidated with ``If-None-Match``/``If-Modified-Since``; a 304
  refreshes the stored header fields (4.3.4) and the stored body is served (a 304
  whose ``ETag`` names another representation is followed by a plain request);
  any other answer is returned, and replaces the entry if it is storable. A stale
  entry with no validator is fetched again.
- **Invalidation** (4.4): a non-error response to an unsafe method (POST, PUT, PATCH,
  DELETE, ...) drops the stored GET/HEAD responses for its URL and for same-origin
  ``Location``/``Content-Location`` targets.
- **Marking**: every GET/HEAD response the cache looked at has
  ``response.extensions["from_cache"]`` (True when the body came from the cache,
  including after a 304) and ``["revalidated"]`` (True after a 304). A response
  served from the cache carries an ``Age`` field with its current age.
- **Streams**: requests sent by ``session.stream()`` (``request.extensions
  ["fasthttp.stream"]`` true) pass straight through: a streamed body is never
  stored nor served from the cache.
- Storage is pluggable (``CacheStorage`` in ``cache_storage``): the bounded
  in-memory LRU by default, ``SQLiteCacheStorage(path)`` to keep the cache across
  runs. Concurrent misses for one URL are not coalesced: each goes to the server.

Why not hishel (2.0.0, evaluated by running its state machine on our cases):
it does have a transport-independent core, ``handle_request_with_rfc(request,
send, storage, key, options)`` driving a sans-IO RFC 9111 state machine, and
adapting our Request/Response to its models would take about 100 lines (its
httpx adapter is that size). It still does not fit:
(1) it always applies heuristic freshness (10% of the time since
``Last-Modified``, up to a week; ``CacheOptions`` has only ``shared``,
``supported_methods`` and ``allow_stale``), so API responses would be reused
by guesswork; (2) age comes only from the ``Date`` header against
``time.time()`` in whole seconds: a ``max-age`` response without ``Date`` is
served forever, a skewed client clock shortens every lifetime, and there is no
clock to inject in tests; (3) its ``ttl`` is a storage eviction deadline, not a
freshness lifetime: a header-less 200 is stored and then revalidated (that is,
fetched again) on every use, so our ``ttl=`` rule would need header rewriting;
(4) storages follow a streaming contract (the body is saved as the consumer
reads it), and the async ones are SQLite (needing ``anysqlite`` and ``anyio``)
and Redis, with no bounded in-memory store: we would write that storage, plus
bytes-to-stream adapters on every hit, for streamed bodies we never have here
(streams bypass the cache). The rules above are about 300 lines we control.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from yarl import URL

from ..models import Headers
from .cache_storage import CachedEntry, CacheStorage, InMemoryCacheStorage, SQLiteCacheStorage

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response
    from .base import CallNext

__all__ = ["CacheMiddleware", "CacheStorage", "CachedEntry", "InMemoryCacheStorage", "SQLiteCacheStorage"]

STREAM_EXTENSION = "fasthttp.stream"
_CACHEABLE_STATUS = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_BYPASS = ("range", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range")
_NOT_STORED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "set-cookie",
        "set-cookie2",
        "age",
    }
)
_NOT_REFRESHED = frozenset({"content-length", "content-encoding", "content-type", "content-range"}) | _NOT_STORED
_MAX_VARIANTS = 8


def _directives(value: str | None) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    if not value:
        return result
    for part in value.split(","):
        name, sep, arg = part.strip().partition("=")
        if name:
            result[name.strip().lower()] = arg.strip().strip('"') if sep else None
    return result


def _seconds(value: str | None) -> float | None:
    """A delta-seconds value (5.1), or None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        return None
    return float(int(value)) if len(value) <= 12 else 1e12


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _digest(values: list[str]) -> str | None:
    if not values:
        return None
    joined = ", ".join(" ".join(v.split()) for v in values)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _secondary_key(request: Request, names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    headers = request.headers
    return tuple((name, _digest(headers.getall(name, []))) for name in names)


def _etag_matches(a: str | None, b: str | None) -> bool:
    """Weak comparison (RFC 9110 8.8.3.2)."""
    if a is None or b is None:
        return True
    return a.strip().removeprefix("W/") == b.strip().removeprefix("W/")


class CacheMiddleware:
    """Reuse fresh GET/HEAD responses and revalidate stale ones (rules in the module docstring).

    ``ttl``: freshness in seconds for responses that carry no ``max-age`` or
    ``Expires`` (None: such responses are reused only after revalidation, when
    they have a validator). ``max_entries``/``max_bytes``: bounds of the default
    in-memory storage. ``storage``: any ``CacheStorage``, e.g.
    ``SQLiteCacheStorage("cache.db")``. ``clock``: wall-clock seconds.
    """

    def __init__(
        self,
        ttl: float | None = None,
        *,
        max_entries: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        storage: CacheStorage | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl >= 0):
            raise ValueError(f"ttl={ttl!r} must be a number of seconds >= 0, or None.")
        if storage is not None and not isinstance(storage, CacheStorage):
            raise TypeError(f"storage= must be a CacheStorage (async get/set/delete), got {type(storage).__name__}.")
        self.ttl = None if ttl is None else float(ttl)
        self.storage: CacheStorage = storage if storage is not None else InMemoryCacheStorage(max_entries, max_bytes)
        # A storage passed in belongs to the caller (it may serve several sessions): they close it.
        self._owns_storage = storage is None
        self._clock = clock

    def __repr__(self) -> str:
        return f"<CacheMiddleware ttl={self.ttl} storage={self.storage!r}>"

    async def aclose(self) -> None:
        """Close the storage this middleware created (the session calls this on close). A storage
        passed as ``storage=`` is the caller's to close (``await storage.aclose()``)."""
        close = getattr(self.storage, "aclose", None) if self._owns_storage else None
        if close is not None:
            await close()

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if request.extensions.get(STREAM_EXTENSION):
            return await call_next(request)
        method = request.method
        if method != "GET" and method != "HEAD":
            response = await call_next(request)
            if method not in _SAFE and response.status_code < 400:
                await self._invalidate(request, response)
            return response
        headers = request.headers
        if any(name in headers for name in _BYPASS):
            return await call_next(request)
        raw_cc = headers.get("cache-control")
        request_cc = _directives(raw_cc)
        if raw_cc is None and "no-cache" in headers.get("pragma", "").lower():
            request_cc["no-cache"] = None
        if "no-store" in request_cc:
            return _mark(await call_next(request), hit=False)

        key = f"{method} {request.url.with_fragment(None)}"
        entries = await self.storage.get(key)
        entry = _select(entries, request)
        if entry is not None:
            now = self._clock()
            age = entry.age(now)
            if self._usable(entry, age, request_cc):
                return self._serve(entry, request, age, revalidated=False)
        if "only-if-cached" in request_cc:
            from ..response import Response

            return _mark(Response(504, request=request, url=request.url), hit=False)

        if entry is not None:
            stored = Headers(entry.headers)
            etag, last_modified = stored.get("etag"), stored.get("last-modified")
            if etag is not None or last_modified is not None:
                return await self._revalidate(key, entries, entry, request, etag, last_modified, call_next)
        return await self._fetch(key, entries, request, call_next)

    # -- the three ways to answer ---------------------------------------------------------
    async def _fetch(self, key: str, entries: list[CachedEntry], request: Request, call_next: CallNext) -> Response:
        request_time = self._clock()
        response = await call_next(request)
        await self._store(key, entries, request, response, request_time)
        return _mark(response, hit=False)

    async def _revalidate(
        self,
        key: str,
        entries: list[CachedEntry],
        entry: CachedEntry,
        request: Request,
        etag: str | None,
        last_modified: str | None,
        call_next: CallNext,
    ) -> Response:
        conditional = request.copy_with()
        if etag is not None:
            conditional.headers["If-None-Match"] = etag
        if last_modified is not None:
            conditional.headers["If-Modified-Since"] = last_modified
        request_time = self._clock()
        response = await call_next(conditional)
        if response.status_code != 304:
            await self._store(key, entries, request, response, request_time)
            return _mark(response, hit=False)
        if not _etag_matches(response.headers.get("etag"), etag):
            # The 304 validates some other representation than the one we hold (4.3.3).
            return await self._fetch(key, entries, request, call_next)
        merged = Headers(entry.headers)
        for name in {name.lower() for name in response.headers}:
            if name not in _NOT_REFRESHED:
                values = response.headers.getall(name)
                merged.popall(name, None)
                for value in values:
                    merged.add(name, value)
        now = self._clock()
        refreshed = replace(
            entry,
            headers=tuple(merged.items()),
            stored_at=now,
            initial_age=_initial_age(response.headers, request_time, now),
            lifetime=max(0.0, self._lifetime(merged) or 0.0),
        )
        await self.storage.set(key, [refreshed, *(e for e in entries if e is not entry)])
        return self._serve(refreshed, request, refreshed.age(now), revalidated=True)

    def _serve(self, entry: CachedEntry, request: Request, age: float, *, revalidated: bool) -> Response:
        from ..response import Response

        headers = Headers(entry.headers)
        headers["Age"] = str(int(age))
        response = Response(
            entry.status_code,
            headers=headers,
            content=entry.content,
            reason=entry.reason,
            http_version=entry.http_version,
            url=request.url,
            request=request,
        )
        response.extensions["from_cache"] = True
        response.extensions["revalidated"] = revalidated
        return response

    # -- decisions --------------------------------------------------------------------------
    def _usable(self, entry: CachedEntry, age: float, request_cc: dict[str, str | None]) -> bool:
        """May ``entry`` be served without asking the server (4.2, 5.2.1)?"""
        if "no-cache" in request_cc:
            return False
        lifetime = entry.lifetime
        if "max-age" in request_cc:
            max_age = _seconds(request_cc["max-age"])
            if max_age is None or age > max_age:
                return False
        if "min-fresh" in request_cc:
            min_fresh = _seconds(request_cc["min-fresh"])
            if min_fresh is None or lifetime - age < min_fresh:
                return False
        if age < lifetime:
            return True
        if "max-stale" in request_cc and lifetime > 0:
            response_cc = _directives(Headers(entry.headers).get("cache-control"))
            if "must-revalidate" in response_cc or "no-cache" in response_cc:
                return False
            limit = request_cc["max-stale"]
            max_stale = _seconds(limit) if limit is not None else float("inf")
            return max_stale is not None and age - lifetime <= max_stale
        return False

    def _lifetime(self, headers: Headers) -> float | None:
        """The freshness lifetime (4.2.1), the ``ttl`` override, or None when nothing gives one."""
        cc = _directives(headers.get("cache-control"))
        if "no-cache" in cc:
            return 0.0
        if "max-age" in cc:
            max_age = _seconds(cc["max-age"])
            return 0.0 if max_age is None else max_age
        if "expires" in headers:
            expires = _http_date(headers.get("expires"))
            if expires is None:
                return 0.0
            date = _http_date(headers.get("date"))
            return max(0.0, expires - (date if date is not None else self._clock()))
        return self.ttl

    async def _store(
        self, key: str, entries: list[CachedEntry], request: Request, response: Response, request_time: float
    ) -> None:
        if response.status_code not in _CACHEABLE_STATUS:
            return
        headers = response.headers
        if "no-store" in _directives(headers.get("cache-control")):
            return
        vary_names = tuple(
            sorted({v.strip().lower() for value in headers.getall("vary", []) for v in value.split(",") if v.strip()})
        )
        if "*" in vary_names:
            return
        lifetime = self._lifetime(headers)
        has_validator = "etag" in headers or "last-modified" in headers
        if lifetime is None or lifetime <= 0:
            if not has_validator:
                return
            lifetime = 0.0
        if "authorization" not in vary_names:
            vary_names = (*vary_names, "authorization")
        now = self._clock()
        entry = CachedEntry(
            status_code=response.status_code,
            reason=response.reason,
            http_version=response.http_version,
            headers=tuple((k, v) for k, v in headers.items() if k.lower() not in _NOT_STORED),
            content=response.content,
            stored_at=now,
            initial_age=_initial_age(headers, request_time, now),
            lifetime=lifetime,
            vary=_secondary_key(request, vary_names),
        )
        kept = [e for e in entries if e.vary != entry.vary]
        await self.storage.set(key, [entry, *kept][:_MAX_VARIANTS])

    async def _invalidate(self, request: Request, response: Response) -> None:
        """4.4: drop what an unsafe request may have changed."""
        targets: list[URL] = [request.url.with_fragment(None)]
        origin = (request.url.scheme, request.url.host, request.url.port)
        for name in ("location", "content-location"):
            value = response.headers.get(name)
            if not value:
                continue
            try:
                target = request.url.join(URL(value)).with_fragment(None)
            except (ValueError, TypeError):
                continue
            if (target.scheme, target.host, target.port) == origin:
                targets.append(target)
        for url in targets:
            await self.storage.delete(f"GET {url}")
            await self.storage.delete(f"HEAD {url}")


def _select(entries: list[CachedEntry], request: Request) -> CachedEntry | None:
    """The most recently stored variant whose secondary key matches ``request`` (4.1)."""
    for entry in entries:
        if entry.vary == _secondary_key(request, tuple(name for name, _ in entry.vary)):
            return entry
    return None


def _initial_age(headers: Headers, request_time: float, response_time: float) -> float:
    """RFC 9111 4.2.3 ``corrected_age_value``: ``Age + response_delay`` (no Date-based
    apparent age: see the module docstring)."""
    age_value = _seconds(headers.get("age")) or 0.0
    return age_value + max(0.0, response_time - request_time)


def _mark(response: Response, *, hit: bool) -> Response:
    response.extensions["from_cache"] = hit
    response.extensions["revalidated"] = False
    return response
