"""Lifecycle of the embedded test server: ``LocalServer``, ``serve()`` and ``serve_in_thread()``."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from aiohttp import web

from .app import create_app

__all__ = ["LocalServer", "RecordedRequest", "create_app", "serve", "serve_in_thread"]

# In-flight handlers (an open /sse, a /delay) get this long to finish before being cancelled
# on shutdown; tests should not wait aiohttp's default 60 s for a stream nobody reads.
_SHUTDOWN_GRACE = 0.25
_MAX_DIGEST_NONCES = 10_000


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (headers keep their wire case and order)."""

    method: str
    path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    arrived_at: float  # time.monotonic() when the request reached the application

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


@dataclass
class _Failure:
    status: int
    remaining: int
    headers: dict[str, str] | None


def _loopback_host(host: str) -> str:
    """Normalise ``host`` to a loopback IP literal; refuse anything else."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the test server only binds loopback addresses (127.0.0.0/8, ::1, localhost); got {host!r}")
    return str(address)


class LocalServer:
    """Handle on a running test server: its address, the request record and scripting hooks."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host: str = _loopback_host(host)
        self.port: int = port
        # Appended from the server's loop only; list.append is atomic, so other threads may read.
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._failures: dict[str, deque[_Failure]] = {}
        self._digest_opaque = secrets.token_hex(16)
        self._digest_nonces: set[str] = set()

    def __repr__(self) -> str:
        return f"<LocalServer {self.url} requests={len(self.requests)}>"

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def hits(self, path: str) -> int:
        """Number of recorded requests whose path equals ``path``."""
        return sum(1 for request in list(self.requests) if request.path == path)

    def reset(self) -> None:
        """Forget recorded requests and any pending ``fail_next`` scripts."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def fail_next(
        self,
        path: str,
        status: int,
        times: int = 1,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (empty body).

        Calls queue up: ``fail_next(p, 503); fail_next(p, 500)`` fails with 503 then 500.
        ``headers`` (e.g. ``{"Retry-After": "0"}``) are added to those responses.
        """
        if not 100 <= status <= 599:
            raise ValueError(f"status must be in 100..599, got {status}")
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        entry = _Failure(status, times, dict(headers) if headers else None)
        with self._lock:
            self._failures.setdefault(path, deque()).append(entry)

    # ---- used by the application (same package) ----

    def _record(self, request: web.BaseRequest, body: bytes, arrived_at: float) -> None:
        headers = tuple(
            (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, v in request.raw_headers
        )
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query_string=request.query_string,
                headers=headers,
                body=body,
                arrived_at=arrived_at,
            )
        )

    def _take_failure(self, path: str) -> tuple[int, dict[str, str] | None] | None:
        if not self._failures:  # fast path: nothing scripted (a racy read is harmless)
            return None
        with self._lock:
            queue = self._failures.get(path)
            if not queue:
                return None
            entry = queue[0]
            entry.remaining -= 1
            if entry.remaining == 0:
                queue.popleft()
                if not queue:
                    del self._failures[path]
            return entry.status, entry.headers

    def _new_digest_nonce(self) -> str:
        nonce = secrets.token_hex(16)
        with self._lock:
            if len(self._digest_nonces) >= _MAX_DIGEST_NONCES:
                self._digest_nonces.clear()
            self._digest_nonces.add(nonce)
        return nonce

    def _known_digest_nonce(self, nonce: str) -> bool:
        return nonce in self._digest_nonces


@asynccontextmanager
async def serve(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[LocalServer]:
    """Run the test server on the current event loop; everything is closed on exit.

    ``port=0`` picks a free ephemeral port (see ``LocalServer.port``/``url``).
    Raises ValueError for a non-loopback ``host``.
    """
    server = LocalServer(host, port)
    runner = web.AppRunner(
        create_app(server),
        handle_signals=False,
        access_log=None,  # logging every request would dominate the benchmark profile
        handler_cancellation=True,  # a client that gives up (timeout tests) stops its handler
        shutdown_timeout=_SHUTDOWN_GRACE,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, server.host, port, backlog=1024)
        await site.start()
        server.port = int(runner.addresses[0][1])
        yield server
    finally:
        await runner.cleanup()


class _ServerThread(threading.Thread):
    """Daemon thread owning an event loop that runs ``serve()`` until asked to stop."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(name="fasthttp-testing-server", daemon=True)
        self._host = host
        self._port = port
        self.ready = threading.Event()
        self.server: LocalServer | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stopping = False

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the caller's thread, not threading.excepthook
            self.error = exc
        finally:
            self.ready.set()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        async with serve(self._host, self._port) as server:
            self.server = server
            self.ready.set()
            # stop() may have run before _loop was published; the flag covers that window.
            if not self._stopping:
                await self._stop_event.wait()

    def stop(self) -> None:
        self._stopping = True
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            # RuntimeError: the loop is already closed, so the thread is finishing anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


@contextmanager
def serve_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
) -> Iterator[LocalServer]:
    """Run the test server on its own event loop in a daemon thread (for sync code).

    Entering waits until the socket is listening; leaving stops the loop and joins the thread.
    """
    _loopback_host(host)  # refuse early, in the caller's thread
    thread = _ServerThread(host, port)
    thread.start()
    try:
        if not thread.ready.wait(startup_timeout):
            raise TimeoutError(f"test server did not start within {startup_timeout} s")
        if thread.error is not None:
            raise thread.error
        assert thread.server is not None
        yield thread.server
    finally:
        thread.stop()
        thread.join(shutdown_timeout)
    if thread.is_alive():
        raise RuntimeError(f"test server thread did not stop within {shutdown_timeout} s")
    if thread.error is not None:
        raise RuntimeError("test server failed while stopping") from thread.error
