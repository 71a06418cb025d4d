"""TLS test servers: hypercorn serving a small echo app over HTTPS on 127.0.0.1.

Fixtures:

- ``tls_ca``: the session's ``trustme.CA``; ``ca_context(tls_ca)`` builds a fresh
  ``ssl.SSLContext`` trusting it (fresh each time: httpx2 sets ALPN on the context
  it is given, so sessions of different transports must not share one).
- ``h2_server``: ALPN ``h2`` + ``http/1.1``, certificate for 127.0.0.1 and localhost.
- ``tls_server``: the same app with ALPN ``http/1.1`` only (for the aiohttp transport).
- ``wrong_host_server``: ALPN ``h2`` + ``http/1.1``, certificate for another host name
  only (signed by ``tls_ca``), to prove hostname checking.

Each server runs hypercorn on its own event loop in a daemon thread for the whole
test session (a TLS server per test would cost a handshake-heavy startup each
time, and a server on the test's loop would hide event-loop stalls of the client).
The function-scoped fixtures hand out the running server with its record cleared.
Start and stop have deadlines; stopping sets hypercorn's shutdown trigger and
joins the thread, so no socket or loop outlives the session.

The app (ASGI): ``/get``, ``/post`` (and any method on ``/anything``), ``/status/{code}``,
``/bytes/{n}``, ``/gzip/{n}``, ``/redirect-to?url=&status_code=``, ``/stream/{n}``,
``/delay/{s}``, ``/set-cookie?name=value``. JSON answers carry ``http_version`` as the
server saw it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

if TYPE_CHECKING:
    import trustme

__all__ = [
    "RecordedTLSRequest",
    "TLSServer",
    "ca_context",
    "h2_server",
    "tls_ca",
    "tls_server",
    "wrong_host_server",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_STARTUP_DEADLINE = 10.0
_SHUTDOWN_DEADLINE = 10.0
_MAX_DELAY = 10.0


@dataclass(frozen=True)
class RecordedTLSRequest:
    """One request as the TLS server's app received it."""

    method: str
    path: str
    query: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    client: tuple[str, int]  # the client's address: one per TCP (and TLS) connection

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


@dataclass
class TLSServer:
    """Handle on a running hypercorn TLS server."""

    ca: trustme.CA
    host: str = "127.0.0.1"
    port: int = 0
    alpn: tuple[str, ...] = ("h2", "http/1.1")
    requests: list[RecordedTLSRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``https://127.0.0.1:54321``."""
        return f"https://{self.host}:{self.port}"

    def hits(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for request in list(self.requests) if request.path == path)

    def connections(self, path: str | None = None) -> set[tuple[str, int]]:
        """The distinct client connections (address pairs) seen, optionally for one path."""
        return {r.client for r in list(self.requests) if path is None or r.path == path}

    def versions(self, path: str | None = None) -> set[str]:
        """The HTTP versions the server saw, optionally for one path."""
        return {r.http_version for r in list(self.requests) if path is None or r.path == path}

    def reset(self) -> None:
        self.requests.clear()


def ca_context(ca: trustme.CA) -> ssl.SSLContext:
    """A new client SSLContext that trusts ``ca`` (and nothing else)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.load_verify_locations(cadata=ca.cert_pem.bytes().decode("ascii"))
    return context


# -- the ASGI app ----------------------------------------------------------------------------
def _json_body(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True).encode()


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes | None = b"application/json",
) -> None:
    raw = list(headers or [])
    if content_type is not None:
        raw.append((b"content-type", content_type))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _sleep_unless_gone(receive: Receive, seconds: float) -> bool:
    """Sleep; True when the time ran out, False when the client went away first.

    Slow handlers must notice a client that gave up (a timeout test), or they would
    outlive the test and hold up the server's shutdown.
    """
    waiter = asyncio.ensure_future(_until_disconnect(receive))
    try:
        done, _ = await asyncio.wait({waiter}, timeout=seconds)
        return not done
    finally:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter


def _make_app(server: TLSServer) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
        )
        query = scope.get("query_string", b"").decode("latin-1")
        path: str = scope["path"]
        http_version = "HTTP/" + scope["http_version"]
        client = scope.get("client") or ("", 0)
        server.requests.append(
            RecordedTLSRequest(
                method=scope["method"],
                path=path,
                query=query,
                http_version=http_version,
                headers=headers,
                client=(str(client[0]), int(client[1])),
            )
        )
        args: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        joined: dict[str, str] = {}
        for key, value in headers:
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        echo = {"http_version": http_version, "method": scope["method"], "headers": joined, "args": args}
        parts = path.strip("/").split("/")
        head, tail = parts[0], parts[1] if len(parts) > 1 else ""

        if head == "get":
            await _respond(send, 200, _json_body(echo))
        elif head in ("post", "anything"):
            body = await _read_body(receive)
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            echo.update(data=body.decode("utf-8", "replace"), json=parsed)
            await _respond(send, 200, _json_body(echo))
        elif head == "status" and tail.isdigit():
            await _respond(send, int(tail), content_type=None)
        elif head == "bytes" and tail.isdigit():
            await _respond(send, 200, b"x" * int(tail), content_type=b"application/octet-stream")
        elif head == "gzip" and tail.isdigit():
            packed = gzip.compress(b"\0" * int(tail))
            await _respond(
                send, 200, packed, [(b"content-encoding", b"gzip")], b"application/octet-stream"
            )
        elif head == "redirect-to" and "url" in args:
            status = int(args.get("status_code", "302"))
            await _respond(send, status, headers=[(b"location", args["url"].encode())], content_type=None)
        elif head == "stream" and tail.isdigit():
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            for i in range(int(tail)):
                line = f"line {i} " + "-" * 40 + "\n"
                await send({"type": "http.response.body", "body": line.encode(), "more_body": True})
                if not await _sleep_unless_gone(receive, 0.005):
                    return
            await send({"type": "http.response.body", "body": b""})
        elif head == "delay":
            try:
                seconds = min(float(tail), _MAX_DELAY)
            except ValueError:
                seconds = 0.0
            if await _sleep_unless_gone(receive, seconds):
                await _respond(send, 200, _json_body(echo))
        elif head == "set-cookie":
            cookies = [(b"set-cookie", f"{k}={v}; Path=/".encode()) for k, v in parse_qsl(query)]
            await _respond(send, 200, _json_body(echo), cookies)
        else:
            await _respond(send, 404, _json_body({"error": f"no route for {path}"}))

    return app


# -- running hypercorn in a thread ------------------------------------------------------------
class _HypercornThread(threading.Thread):
    def __init__(self, server: TLSServer, certfile: Path) -> None:
        super().__init__(name=f"hypercorn-{'-'.join(server.alpn)}", daemon=True)
        self.server = server
        self.certfile = certfile
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stopping = False

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the test thread, not to threading.excepthook
            self.error = exc
        finally:
            self.ready.set()

    async def _main(self) -> None:
        from hypercorn.asyncio.run import worker_serve
        from hypercorn.config import Config
        from hypercorn.utils import wrap_app

        config = Config()
        config.bind = [f"{self.server.host}:0"]
        config.certfile = str(self.certfile)
        config.keyfile = str(self.certfile)
        config.alpn_protocols = list(self.server.alpn)
        config.accesslog = None
        config.errorlog = logging.getLogger("tests.support.tls.hypercorn")  # captured by pytest
        config.graceful_timeout = 3.0  # slow handlers end when their client goes away
        config.keep_alive_timeout = 30.0
        sockets = config.create_sockets()
        for sock in sockets.secure_sockets:
            # Listening now: clients that connect before hypercorn accepts wait in the backlog.
            sock.listen(config.backlog)
        self.server.port = int(sockets.secure_sockets[0].getsockname()[1])
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stopping:
            for sock in sockets.secure_sockets:
                sock.close()
            return
        self.ready.set()
        try:
            app: Any = _make_app(self.server)
            await worker_serve(
                wrap_app(app, config.wsgi_max_body_size, "asgi"),
                config,
                sockets=sockets,
                shutdown_trigger=self._stop_event.wait,
            )
        except asyncio.CancelledError:
            # hypercorn 0.18 calls .exception() on its cancelled gather when a connection
            # outlives graceful_timeout at shutdown, which raises CancelledError here.
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to stop
                loop.call_soon_threadsafe(event.set)


@contextlib.contextmanager
def run_tls_server(
    ca: trustme.CA, directory: Path, names: tuple[str, ...], alpn: tuple[str, ...]
) -> Iterator[TLSServer]:
    """Serve the echo app over TLS with a certificate for ``names``, signed by ``ca``."""
    pytest.importorskip("hypercorn")
    certfile = directory / f"server-{'-'.join(names)}.pem".replace("/", "_")
    ca.issue_cert(*names).private_key_and_cert_chain_pem.write_to_path(str(certfile))
    server = TLSServer(ca=ca, alpn=alpn)
    thread = _HypercornThread(server, certfile)
    thread.start()
    try:
        if not thread.ready.wait(_STARTUP_DEADLINE):
            raise TimeoutError(f"hypercorn did not start within {_STARTUP_DEADLINE} s")
        if thread.error is not None:
            raise thread.error
        yield server
    finally:
        thread.stop()
        thread.join(_SHUTDOWN_DEADLINE)
    if thread.is_alive():
        raise RuntimeError(f"hypercorn did not stop within {_SHUTDOWN_DEADLINE} s")
    if thread.error is not None:
        raise RuntimeError("hypercorn failed while serving") from thread.error


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The test session's private certificate authority."""
    ca: trustme.CA = pytest.importorskip("trustme").CA()
    return ca


@pytest.fixture(scope="session")
def _h2_server_running(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    with run_tls_server(
        tls_ca, tmp_path_factory.mktemp("h2"), ("127.0.0.1", "localhost"), ("h2", "http/1.1")
    ) as server:
        yield server


@pytest.fixture(scope="session")
def _tls_server_running(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    with run_tls_server(
        tls_ca, tmp_path_factory.mktemp("tls"), ("127.0.0.1", "localhost"), ("http/1.1",)
    ) as server:
        yield server


@pytest.fixture(scope="session")
def _wrong_host_server_running(
    tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TLSServer]:
    with run_tls_server(
        tls_ca, tmp_path_factory.mktemp("wrong"), ("not-this-host.test",), ("h2", "http/1.1")
    ) as server:
        yield server


@pytest.fixture
def h2_server(_h2_server_running: TLSServer) -> TLSServer:
    """An HTTPS server offering HTTP/2 and HTTP/1.1 by ALPN (its record starts empty)."""
    _h2_server_running.reset()
    return _h2_server_running


@pytest.fixture
def tls_server(_tls_server_running: TLSServer) -> TLSServer:
    """An HTTPS server offering HTTP/1.1 only (its record starts empty)."""
    _tls_server_running.reset()
    return _tls_server_running


@pytest.fixture
def wrong_host_server(_wrong_host_server_running: TLSServer) -> TLSServer:
    """An HTTPS server whose certificate (signed by tls_ca) names only not-this-host.test."""
    _wrong_host_server_running.reset()
    return _wrong_host_server_running
