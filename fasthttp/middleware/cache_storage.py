"""Where ``CacheMiddleware`` keeps responses: the storage interface and two storages.

The interface is async (``await storage.get(key)``), so a storage may do I/O
without blocking the event loop:

- ``InMemoryCacheStorage`` (the default): a dict in this process, bounded by a
  number of keys and by total bytes, least recently used evicted first. Its
  methods never await anything.
- ``SQLiteCacheStorage(path)``: a SQLite file (stdlib ``sqlite3``), for a cache
  that survives the process. One connection, owned by one worker thread of the
  storage's own: every call runs there (``run_in_executor``), so calls are
  serialised and the event loop never waits on disk. Measured on a local disk:
  a lookup costs about 0.06-0.09 ms (mostly the thread hop; the read itself is
  ~6 us), a store about 0.3 ms. The LRU timestamp of a key is rewritten at most once a minute: a
  write per hit would cost more than the read. WAL journal with
  ``synchronous=NORMAL``: several processes may share the file. A SQLite error
  (corrupt file, full disk) is logged once on ``fasthttp.cache`` (WARNING, then
  DEBUG) and treated as a miss: a broken cache never fails a request. The file
  holds no request URL or credential in clear: keys and ``Vary``/``Authorization``
  values are SHA-256 digests (response headers and bodies are stored as received,
  minus ``Set-Cookie``). ``await storage.aclose()`` closes it; otherwise it is
  closed when garbage-collected or at interpreter exit.

A storage maps a key (``"GET https://host/path?query"``) to the list of stored
variants of that resource (several when the response had ``Vary``), most
recently stored first. ``set`` replaces the whole list; ``delete`` drops it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sqlite3
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

__all__ = ["CacheStorage", "CachedEntry", "InMemoryCacheStorage", "SQLiteCacheStorage"]

log = logging.getLogger("fasthttp.cache")

_TABLE = "fasthttp_cache_v1"
_TOUCH_INTERVAL = 60.0  # seconds: how stale a key's LRU timestamp may get before a hit rewrites it


@dataclass(frozen=True, slots=True)
class CachedEntry:
    """One stored response (RFC 9111 section 4.2.3 terms).

    ``stored_at`` is the wall-clock ``response_time``; ``initial_age`` the
    corrected initial age at that moment; ``lifetime`` the freshness lifetime
    (0: revalidate before every use); ``vary`` the request's secondary key:
    (lower-case header name, digest of its values or None when absent) pairs.
    """

    status_code: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    content: bytes
    stored_at: float
    initial_age: float
    lifetime: float
    vary: tuple[tuple[str, str | None], ...] = ()

    def age(self, now: float) -> float:
        """The current age: initial age plus the time it has been resident here."""
        return self.initial_age + max(0.0, now - self.stored_at)

    @property
    def size(self) -> int:
        """Approximate bytes held: body plus header text."""
        return len(self.content) + sum(len(k) + len(v) for k, v in self.headers) + 64

    def to_meta(self) -> bytes:
        return orjson.dumps(
            {
                "status": self.status_code,
                "reason": self.reason,
                "version": self.http_version,
                "headers": self.headers,
                "stored_at": self.stored_at,
                "initial_age": self.initial_age,
                "lifetime": self.lifetime,
                "vary": self.vary,
            }
        )

    @classmethod
    def from_meta(cls, meta: bytes, content: bytes) -> CachedEntry:
        data: dict[str, Any] = orjson.loads(meta)
        return cls(
            status_code=int(data["status"]),
            reason=str(data["reason"]),
            http_version=str(data["version"]),
            headers=tuple((str(k), str(v)) for k, v in data["headers"]),
            content=bytes(content),
            stored_at=float(data["stored_at"]),
            initial_age=float(data["initial_age"]),
            lifetime=float(data["lifetime"]),
            vary=tuple((str(k), None if v is None else str(v)) for k, v in data["vary"]),
        )


@runtime_checkable
class CacheStorage(Protocol):
    """What ``CacheMiddleware`` needs from a storage (see the module docstring)."""

    async def get(self, key: str) -> list[CachedEntry]:
        """The stored variants for ``key``, most recent first ([] when none)."""
        ...

    async def set(self, key: str, entries: list[CachedEntry]) -> None:
        """Replace the variants stored for ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error if it is not stored)."""
        ...


def _check_bound(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a whole number >= 1.")
    return value


class InMemoryCacheStorage:
    """The default storage: an LRU dict bounded by ``max_entries`` keys and ``max_bytes`` in all.

    A key whose variants alone exceed ``max_bytes`` is not stored.
    """

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = _check_bound("max_entries", max_entries)
        self.max_bytes = _check_bound("max_bytes", max_bytes)
        self._data: OrderedDict[str, tuple[list[CachedEntry], int]] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> list[CachedEntry]:
        item = self._data.get(key)
        if item is None:
            return []
        self._data.move_to_end(key)
        return list(item[0])

    async def set(self, key: str, entries: list[CachedEntry]) -> None:
        await self.delete(key)
        size = sum(entry.size for entry in entries)
        if not entries or size > self.max_bytes:
            return
        self._data[key] = (list(entries), size)
        self._bytes += size
        while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted) = self._data.popitem(last=False)
            self._bytes -= evicted

    async def delete(self, key: str) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self._bytes -= item[1]

    async def clear(self) -> None:
        self._data.clear()
        self._bytes = 0

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"<InMemoryCacheStorage {len(self._data)}/{self.max_entries} keys, {self._bytes} bytes>"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _shutdown(state: dict[str, Any], executor: ThreadPoolExecutor) -> None:
    """Close the connection in its own thread, then stop that thread (also run by the finalizer)."""

    def close() -> None:
        db = state.pop("db", None)
        if db is not None:
            db.close()

    try:
        executor.submit(close).result()
    except RuntimeError:  # the executor was already shut down (interpreter exit)
        close()
    executor.shutdown(wait=True)


class SQLiteCacheStorage:
    """A cache in a SQLite file that survives the process; at most ``max_entries`` stored
    responses, least recently used evicted first. See the module docstring.

    ``await storage.aclose()`` (or ``close()``) closes the file; a storage that is
    garbage-collected or alive at interpreter exit is closed then.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_entries: int = 10_000, timeout: float = 5.0) -> None:
        text = os.fspath(path)
        if text == ":memory:" or text.startswith("file::memory:"):
            raise ValueError(
                "SQLiteCacheStorage needs a file path: an in-memory SQLite database would be lost when it closes. "
                "Use InMemoryCacheStorage for a cache that lives in this process."
            )
        self.path = Path(text)
        parent = self.path.expanduser().resolve().parent
        if not parent.is_dir():
            raise FileNotFoundError(
                f"SQLiteCacheStorage path {text!r}: the directory {str(parent)!r} does not exist; create it first."
            )
        self.max_entries = _check_bound("max_entries", max_entries)
        self.timeout = float(timeout)
        self._warned = False
        self._closed = False
        # One worker thread owns the one connection: calls are serialised, the loop never waits on disk.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fasthttp-cache")
        self._state: dict[str, Any] = {}
        self._finalizer = weakref.finalize(self, _shutdown, self._state, self._executor)

    def __repr__(self) -> str:
        return f"<SQLiteCacheStorage {str(self.path)!r} max_entries={self.max_entries}>"

    # -- the async interface --------------------------------------------------------------
    async def get(self, key: str) -> list[CachedEntry]:
        result: list[CachedEntry] = await self._call(self._get, [], _digest(key))
        return result

    async def set(self, key: str, entries: list[CachedEntry]) -> None:
        await self._call(self._set, None, _digest(key), list(entries))

    async def delete(self, key: str) -> None:
        await self._call(self._delete, None, _digest(key))

    async def clear(self) -> None:
        await self._call(self._clear, None)

    async def count(self) -> int:
        """How many responses are stored."""
        result: int = await self._call(self._count, 0)
        return result

    async def aclose(self) -> None:
        """Close the file and stop the worker thread; the storage cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(None, self._finalizer)

    def close(self) -> None:
        """Like ``aclose()``, for synchronous code."""
        self._closed = True
        self._finalizer()

    async def _call(self, operation: Any, fallback: Any, *args: Any) -> Any:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed; create a new SQLiteCacheStorage.")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, operation, fallback, *args)

    # -- in the worker thread ----------------------------------------------------------------
    def _run(self, operation: Any, fallback: Any, *args: Any) -> Any:
        try:
            return operation(self._connection(), *args)
        except sqlite3.Error as exc:
            level = logging.DEBUG if self._warned else logging.WARNING
            self._warned = True
            log.log(
                level,
                "HTTP cache file %s failed (%s: %s); answering without the cache.",
                self.path,
                type(exc).__name__,
                exc,
            )
            db = self._state.pop("db", None)  # reconnect next time: the file may have been repaired
            if db is not None:
                db.close()
            return fallback

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = self._state.get("db")
        if db is not None:
            return db
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable except on power loss, no fsync per write
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_TABLE} (key TEXT NOT NULL, position INTEGER NOT NULL, "
                "meta BLOB NOT NULL, content BLOB NOT NULL, accessed_at REAL NOT NULL, "
                "PRIMARY KEY (key, position))"
            )
            db.execute(f"CREATE INDEX IF NOT EXISTS {_TABLE}_accessed ON {_TABLE} (accessed_at)")
        except BaseException:
            db.close()
            raise
        self._state["db"] = db
        return db

    @staticmethod
    def _get(db: sqlite3.Connection, digest: str) -> list[CachedEntry]:
        rows = db.execute(
            f"SELECT meta, content, accessed_at FROM {_TABLE} WHERE key = ? ORDER BY position", (digest,)
        ).fetchall()
        entries = []
        for meta, content, _ in rows:
            try:
                entries.append(CachedEntry.from_meta(meta, content))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a damaged row is a miss, not an error
        now = time.time()
        if rows and now - min(row[2] for row in rows) > _TOUCH_INTERVAL:
            # A write per hit would cost far more than the read; recency to a minute is enough for LRU.
            db.execute(f"UPDATE {_TABLE} SET accessed_at = ? WHERE key = ?", (now, digest))
        return entries

    def _set(self, db: sqlite3.Connection, digest: str, entries: list[CachedEntry]) -> None:
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (digest,))
            db.executemany(
                f"INSERT INTO {_TABLE} (key, position, meta, content, accessed_at) VALUES (?, ?, ?, ?, ?)",
                [(digest, i, entry.to_meta(), entry.content, now) for i, entry in enumerate(entries)],
            )
            (count,) = db.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()
            excess = count - self.max_entries
            if excess > 0:
                db.execute(
                    f"DELETE FROM {_TABLE} WHERE rowid IN "
                    f"(SELECT rowid FROM {_TABLE} WHERE key != ? ORDER BY accessed_at, position DESC LIMIT ?)",
                    (digest, excess),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _delete(db: sqlite3.Connection, digest: str) -> None:
        db.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (digest,))

    @staticmethod
    def _clear(db: sqlite3.Connection) -> None:
        db.execute(f"DELETE FROM {_TABLE}")

    @staticmethod
    def _count(db: sqlite3.Connection) -> int:
        (count,) = db.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()
        return int(count)
