"""A real HTTP forward proxy for the tests: proxy.py in a subprocess on 127.0.0.1.

``forward_proxy`` is proxy.py (the ``proxy.py`` package) started once per test
session with ``--port 0`` and a ``--port-file``, one acceptor and one worker, and
the ``CountingPlugin`` below. The plugin appends one line per request it forwards
(``METHOD host:port path``; ``CONNECT host:port`` for a tunnel) to a log file
*before* forwarding it, so by the time the client has its response the line is
there: tests assert on ``forward_proxy.requests`` without polling.

Why a subprocess: proxy.py's embedded mode (``proxy.Proxy([...])``) starts
acceptor processes and threads inside the pytest process and installs its own
logging, which collides with ``filterwarnings = error`` and pytest's log capture;
``python -m proxy`` keeps all of that out of the test process, starts in about
0.1 s, and stops cleanly on SIGTERM (its acceptors exit with it).
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CountingPlugin", "ForwardProxy", "forward_proxy"]

_LOG_ENV = "FASTHTTP_TEST_PROXY_LOG"
_STARTUP_DEADLINE = 15.0
_SHUTDOWN_DEADLINE = 10.0
_REPO_ROOT = Path(__file__).resolve().parents[2]

try:  # the plugin runs in the proxy subprocess; without proxy.py the fixture skips
    _PluginBase: Any = importlib.import_module("proxy.http.proxy").HttpProxyBasePlugin
except ImportError:  # pragma: no cover - proxy.py is a dev dependency
    _PluginBase = object


class CountingPlugin(_PluginBase):  # type: ignore[misc]
    """proxy.py plugin: log every request the proxy forwards, one line each."""

    def handle_client_request(self, request: Any) -> Any:
        method = request.method.decode("latin-1") if request.method else "?"
        host = request.host.decode("latin-1") if request.host else ""
        path = request.path.decode("latin-1") if request.path and method != "CONNECT" else ""
        line = f"{method} {host}:{request.port} {path}".rstrip() + "\n"
        with open(os.environ[_LOG_ENV], "a", encoding="latin-1") as log:
            log.write(line)
        return request


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy forwarded (``path`` is empty for CONNECT)."""

    method: str
    target: str  # host:port
    path: str


class ForwardProxy:
    """Handle on the running proxy: its URL and what went through it during this test."""

    def __init__(self, url: str, log_path: Path) -> None:
        self.url = url
        self._log_path = log_path
        self._start = 0

    def reset(self) -> None:
        """Forget what earlier tests sent through the proxy."""
        self._start = self._log_path.stat().st_size if self._log_path.exists() else 0

    @property
    def requests(self) -> list[ProxiedRequest]:
        """Every request forwarded since the last reset, in order."""
        if not self._log_path.exists():
            return []
        with open(self._log_path, encoding="latin-1") as log:
            log.seek(self._start)
            lines = log.read().splitlines()
        result = []
        for line in lines:
            method, _, rest = line.partition(" ")
            target, _, path = rest.partition(" ")
            result.append(ProxiedRequest(method, target, path))
        return result

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many forwarded requests match ``method`` and the path (query string ignored)."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or r.path.split("?", 1)[0] == path)
        )

    def __repr__(self) -> str:
        return f"<ForwardProxy {self.url}>"


@pytest.fixture(scope="session")
def _forward_proxy_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForwardProxy]:
    pytest.importorskip("proxy", reason="the forward proxy fixture needs proxy.py")
    directory = tmp_path_factory.mktemp("proxy")
    port_file = directory / "port"
    port_file.unlink(missing_ok=True)
    log_path = directory / "requests.log"
    output = directory / "proxy.out"
    env = {
        **os.environ,
        _LOG_ENV: str(log_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    command = [
        sys.executable, "-m", "proxy",
        "--hostname", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
        "--num-acceptors", "1", "--num-workers", "1",
        "--plugins", f"{__name__}.CountingPlugin",
        "--log-level", "WARNING", "--timeout", "5",
    ]  # fmt: skip
    with open(output, "wb") as out:
        process = subprocess.Popen(
            command, cwd=_REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        port = _wait_for_port(process, port_file, output)
        yield ForwardProxy(f"http://127.0.0.1:{port}", log_path)
    finally:
        _stop(process)


def _wait_for_port(process: subprocess.Popen[bytes], port_file: Path, output: Path) -> int:
    deadline = time.monotonic() + _STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"proxy.py exited with {process.returncode} before listening:\n"
                + output.read_text(errors="replace")[-2000:]
            )
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise TimeoutError(f"proxy.py did not report its port within {_STARTUP_DEADLINE} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(_SHUTDOWN_DEADLINE)
        except subprocess.TimeoutExpired:
            # Its own process group (start_new_session): take the acceptors down with it.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(_SHUTDOWN_DEADLINE)


@pytest.fixture
def forward_proxy(_forward_proxy_running: ForwardProxy) -> ForwardProxy:
    """A real HTTP forward proxy (proxy.py) on 127.0.0.1; ``.requests`` starts empty."""
    _forward_proxy_running.reset()
    return _forward_proxy_running
