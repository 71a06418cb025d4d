"""CacheMiddleware: a private HTTP cache for GET and HEAD (RFC 9111).

Rules implemented (section numbers of RFC 9111):
- only GET and HEAD responses with a cacheable status (heuristically cacheable
  codes of RFC 9110 section 15.1) are stored (3.); ``no-store`` on the request
  or the response prevents storing (5.2.1.5, 5.2.2.5); ``private`` is allowed,
  since this is a private (one client) cache;
- freshness lifetime (4.2.1): ``max-age``, else ``Expires`` minus ``Date``, else
  the ``ttl=`` override; a response with none of them is not stored unless
  ``ttl`` is set (no heuristic freshness: an API response must not be reused by
  guesswork); its current age counts the ``Age`` header (4.2.3);
- a stored response is keyed by method and URL, plus the request's values of
  the headers named in its ``Vary`` (4.1); ``Vary: *`` is never reused;
- a stale entry (or one marked ``no-cache``, or a request with
  ``Cache-Control: no-cache``/``max-age=0``) is revalidated with
  ``If-None-Match``/``If-Modified-Since`` when it has a validator (4.3.1); a 304
  refreshes the stored headers and serves the stored body (4.3.4);
- unsafe methods invalidate the stored responses for their URL (4.4);
- the store is bounded (``max_entries``, least recently used evicted first).

Why not hishel: its transport-independent core is the right idea, but its
state machine drives httpx-shaped request/response models and a storage layer
of its own; wiring it into our pipeline cost more code than these rules.
The ``CacheStorage`` protocol keeps storage pluggable.
"""

from __future__ import annotations

import email.utils
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..models import Headers

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response
    from .base import CallNext

__all__ = ["CacheMiddleware", "CacheStorage", "CachedEntry", "InMemoryCacheStorage"]

_CACHEABLE_STATUS = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class CachedEntry:
    """One stored response and when it was stored."""

    status_code: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    content: bytes
    stored_at: float
    request_vary: dict[str, str | None]
    lifetime: float


class CacheStorage(Protocol):
    """Where entries live: ``get``/``set``/``delete`` by a string key, plus ``delete_url``."""

    def get(self, key: str) -> list[CachedEntry]: ...
    def set(self, key: str, entries: list[CachedEntry]) -> None: ...
    def delete(self, key: str) -> None: ...


class InMemoryCacheStorage:
    """The default: a bounded LRU dict in this process."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries={max_entries!r} must be at least 1.")
        self.max_entries = max_entries
        self._data: OrderedDict[str, list[CachedEntry]] = OrderedDict()

    def get(self, key: str) -> list[CachedEntry]:
        entries = self._data.get(key)
        if entries is None:
            return []
        self._data.move_to_end(key)
        return entries

    def set(self, key: str, entries: list[CachedEntry]) -> None:
        self._data[key] = entries
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


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
    if value is None:
        return None
    try:
        return max(0.0, float(int(value)))
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class CacheMiddleware:
    """Reuse fresh GET/HEAD responses and revalidate stale ones (see the module docstring).

    ``ttl``: freshness in seconds for responses that carry no caching headers
    (None: such responses are not stored). ``max_entries``: size bound of the
    default in-memory storage. ``storage``: any ``CacheStorage``.
    """

    def __init__(
        self,
        ttl: float | None = None,
        *,
        max_entries: int = 1024,
        storage: CacheStorage | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl is not None and ttl < 0:
            raise ValueError(f"ttl={ttl!r} must be a number of seconds >= 0, or None.")
        self.ttl = ttl
        self.storage: CacheStorage = storage if storage is not None else InMemoryCacheStorage(max_entries)
        self._clock = clock

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        method = request.method
        if method in _UNSAFE:
            response = await call_next(request)
            if response.status_code < 400:
                self.storage.delete(self._key("GET", request))
                self.storage.delete(self._key("HEAD", request))
            return response
        if method not in ("GET", "HEAD"):
            return await call_next(request)
        request_cc = _directives(request.headers.get("cache-control"))
        if "no-store" in request_cc:
            return await call_next(request)
        key = self._key(method, request)
        entry = self._match(self.storage.get(key), request)
        now = self._clock()
        if entry is not None:
            must_revalidate = "no-cache" in request_cc or request_cc.get("max-age") == "0" or entry.lifetime <= 0
            if not must_revalidate and self._age(entry, now) < entry.lifetime:
                return self._to_response(entry, request, hit=True)
            validators = Headers(entry.headers)
            conditional = request.copy_with()
            if "etag" in validators:
                conditional.headers["If-None-Match"] = validators["etag"]
            if "last-modified" in validators:
                conditional.headers["If-Modified-Since"] = validators["last-modified"]
            if "if-none-match" not in conditional.headers and "if-modified-since" not in conditional.headers:
                return await self._fetch_and_store(request, key, call_next)
            response = await call_next(conditional)
            if response.status_code == 304:
                refreshed = Headers(entry.headers)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "content-encoding", "transfer-encoding"):
                        refreshed[name] = value
                entry.headers = list(refreshed.items())
                entry.stored_at = self._clock()
                entry.lifetime = self._lifetime(refreshed, entry.stored_at)
                return self._to_response(entry, request, hit=True)
            self._store(key, request, response)
            return response
        return await self._fetch_and_store(request, key, call_next)

    async def _fetch_and_store(self, request: Request, key: str, call_next: CallNext) -> Response:
        response = await call_next(request)
        self._store(key, request, response)
        return response

    # -- decisions -------------------------------------------------------------------
    @staticmethod
    def _key(method: str, request: Request) -> str:
        return f"{method} {request.url.with_fragment(None)}"

    @staticmethod
    def _match(entries: list[CachedEntry], request: Request) -> CachedEntry | None:
        for entry in entries:
            if all(request.headers.get(name) == value for name, value in entry.request_vary.items()):
                return entry
        return None

    def _lifetime(self, headers: Headers, stored_at: float) -> float:
        cc = _directives(headers.get("cache-control"))
        max_age = _seconds(cc.get("max-age")) if "max-age" in cc else None
        if "no-cache" in cc:
            return 0.0
        if max_age is not None:
            return max_age
        expires = _http_date(headers.get("expires")) if "expires" in headers else None
        if "expires" in headers:
            date = _http_date(headers.get("date")) or stored_at
            return max(0.0, (expires or 0.0) - date)
        return self.ttl if self.ttl is not None else -1.0

    @staticmethod
    def _age(entry: CachedEntry, now: float) -> float:
        age_header = _seconds(Headers(entry.headers).get("age"))
        return (age_header or 0.0) + max(0.0, now - entry.stored_at)

    def _store(self, key: str, request: Request, response: Response) -> None:
        if response.status_code not in _CACHEABLE_STATUS:
            return
        headers = response.headers
        cc = _directives(headers.get("cache-control"))
        if "no-store" in cc:
            return
        vary = [v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()]
        if "*" in vary:
            return
        stored_at = self._clock()
        lifetime = self._lifetime(headers, stored_at)
        has_validator = "etag" in headers or "last-modified" in headers
        if lifetime < 0 or (lifetime == 0 and not has_validator):
            return
        entry = CachedEntry(
            status_code=response.status_code,
            reason=response.reason,
            http_version=response.http_version,
            headers=list(headers.items()),
            content=response.content,
            stored_at=stored_at,
            request_vary={name: request.headers.get(name) for name in vary},
            lifetime=max(lifetime, 0.0),
        )
        kept = [e for e in self.storage.get(key) if e.request_vary != entry.request_vary]
        self.storage.set(key, [entry, *kept][:8])

    @staticmethod
    def _to_response(entry: CachedEntry, request: Request, *, hit: bool) -> Response:
        from ..response import Response

        response = Response(
            entry.status_code,
            headers=Headers(entry.headers),
            content=entry.content,
            reason=entry.reason,
            http_version=entry.http_version,
            url=request.url,
            request=request,
        )
        response.extensions["from_cache"] = hit
        return response
