"""The run's log: the seed's lines, masking, debug details, the terminal progress line,
the user's own logging configuration, and Ctrl-C."""

from __future__ import annotations

import logging
import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fasthttp import FastHTTP
from fasthttp.response import Response
from fasthttp.runlog import preview_body
from fasthttp.testing import LocalServer


def messages(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[str]:
    return [r.getMessage() for r in caplog.records if level is None or r.levelno == level]


async def test_seed_log_lines(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    """The run logs the seed's lines: started, Sending N, one line per request, Done in, summary."""
    caplog.set_level(logging.INFO, logger="fasthttp")
    app = FastHTTP(base_url=server.url)

    @app.get("/posts/1")
    async def ok(resp: Response) -> int:
        return resp.status

    @app.get("/status/404")
    async def missing(resp: Response) -> int:
        return resp.status

    await app.arun()
    lines = messages(caplog)
    assert lines[:2] == ["FastHTTP started", "Sending 2 requests"]
    assert re.fullmatch(r"Done in \d+\.\d\ds", lines[-2])
    assert lines[-1] == "2 succeeded, 0 failed; 1 response with a 4xx/5xx status"
    infos = messages(caplog, logging.INFO)
    errors = messages(caplog, logging.ERROR)
    assert any(re.fullmatch(rf"✔ GET {server.url}/posts/1 200 \d+\.\d\dms", m) for m in infos)
    assert any(re.fullmatch(rf"✘ GET {server.url}/status/404 404 \d+\.\d\dms", m) for m in errors)
    assert {r.name for r in caplog.records} == {"fasthttp"}


async def test_failed_route_makes_the_summary_a_warning(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A raising handler gets an ERROR line with its name and traceback; the summary is a WARNING."""
    caplog.set_level(logging.INFO, logger="fasthttp")
    app = FastHTTP(base_url=server.url)

    @app.get("/get")
    async def broken(resp: Response) -> None:
        raise ZeroDivisionError("boom")

    await app.arun()
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == "Handler broken() raised ZeroDivisionError: boom"
    assert error.exc_info is not None
    assert caplog.records[-1].levelno == logging.WARNING
    assert caplog.records[-1].getMessage() == "0 succeeded, 1 failed"


async def test_secrets_are_masked_in_lines_and_debug_details(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Secrets in URLs, headers and bodies never reach the log, even with debug=True's details."""
    caplog.set_level(logging.DEBUG, logger="fasthttp")
    app = FastHTTP(
        base_url=server.url, debug=True,
        get_request={"headers": {"Authorization": "Bearer sk-live-123"}},
    )

    @app.post("/anything/login", params={"api_key": "key-456", "page": 2},
              json={"user": "ann", "password": "hunter2-secret"})
    async def login(resp: Response) -> str:
        return resp.json()["method"]

    results = await app.arun()
    assert results["login"] == "POST"
    text = caplog.text
    for secret in ("sk-live-123", "key-456", "hunter2-secret"):
        assert secret not in text
    assert "api_key=[REDACTED]&page=2" in text
    assert "Bearer [REDACTED]" in text
    assert '"password":"[REDACTED]"' in text and '"user":"ann"' in text
    assert "login timings: send" in text and "returned 'POST'" in text
    assert logging.getLogger("fasthttp.app").level == logging.NOTSET  # restored after the run


def test_body_preview_masks_and_truncates() -> None:
    """preview_body masks secret JSON and form fields, truncates long text, names binary."""
    assert preview_body(b'{"token": "t", "a": [1]}', "application/json") == '{"token":"[REDACTED]","a":[1]}'
    assert preview_body(b"user=a&password=b", "application/x-www-form-urlencoded") == (
        "user=a&password=%5BREDACTED%5D"
    )
    assert preview_body(b"x" * 400, "text/plain").endswith("… (400 chars)")
    assert preview_body(b"\xff\xfe\x00", None) == "(3 bytes of binary data)"
    assert preview_body(None, None) == "(empty)"


# -- subprocess runs: a real terminal, the user's logging config, Ctrl-C ----------------------

SCRIPT_HEAD = textwrap.dedent(
    """
    import os, sys
    from fasthttp import FastHTTP
    BASE = os.environ["FASTHTTP_EXAMPLE_URL"]
    """
)


def _env(server: LocalServer) -> dict[str, str]:
    env = {**os.environ, "FASTHTTP_EXAMPLE_URL": server.url, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    env.pop("CI", None)
    return env


def test_progress_line_on_a_terminal_only(shared_server: LocalServer, tmp_path: Path) -> None:
    """Over 50 routes on a terminal show a live progress line and colours; a pipe gets neither."""
    script = tmp_path / "many.py"
    script.write_text(SCRIPT_HEAD + textwrap.dedent(
        """
        app = FastHTTP(concurrency=4)
        for i in range(60):
            async def handler(resp):
                return resp.status
            handler.__name__ = f"r{i}"
            app.get(f"{BASE}/delay/0.02?i={i}")(handler)
        app.run()
        """
    ))
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(script)], env=_env(shared_server),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
    )
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert process.wait(timeout=30) == 0
    terminal = b"".join(chunks).decode()
    assert re.search(r"\r\x1b\[K\S+ \d+/60 requests · \d+\.\ds", terminal)
    assert "\x1b[32m" in terminal  # coloured INFO lines
    assert "Sending 60 requests" in terminal

    piped = subprocess.run(
        [sys.executable, str(script)], env=_env(shared_server), capture_output=True, text=True,
        timeout=30,
    )
    assert piped.returncode == 0 and "\x1b[" not in piped.stderr and "\r" not in piped.stderr
    assert "Sending 60 requests" in piped.stderr


def test_user_logging_config_is_respected(shared_server: LocalServer, tmp_path: Path) -> None:
    """When the program configured logging itself, run() adds no handler of its own."""
    script = tmp_path / "configured.py"
    script.write_text(SCRIPT_HEAD + textwrap.dedent(
        """
        import logging
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
        app = FastHTTP()

        @app.get(f"{BASE}/anything/configured")
        async def handler(resp):
            return resp.status

        app.run()
        """
    ))
    done = subprocess.run(
        [sys.executable, str(script)], env=_env(shared_server), capture_output=True, text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "INFO:fasthttp:FastHTTP started" in done.stderr.splitlines()
    assert "│" not in done.stderr


def test_ctrl_c_cancels_cleanly(shared_server: LocalServer, tmp_path: Path) -> None:
    """Ctrl-C cancels in-flight requests, runs the shutdown, logs what finished; run() returns."""
    script = tmp_path / "interrupted.py"
    script.write_text(SCRIPT_HEAD + textwrap.dedent(
        """
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def lifespan(app):
            print("startup", flush=True)
            yield
            print("shutdown", flush=True)

        app = FastHTTP(lifespan=lifespan)

        @app.get(f"{BASE}/anything/fast")
        async def fast(resp):
            return resp.status

        @app.get(f"{BASE}/delay/10?ctrl-c=1")
        async def slow(resp):
            return resp.status

        @app.get(f"{BASE}/delay/10?ctrl-c=2")
        async def slower(resp):
            return resp.status

        results = app.run()
        print("returned", results.interrupted, dict(results), sorted(results.cancelled))
        """
    ))
    before = shared_server.hits("/delay/10")
    process = subprocess.Popen(
        [sys.executable, str(script)], env=_env(shared_server), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    seen = []
    while not any("/anything/fast 200" in line for line in seen):  # the fast route is done
        line = process.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
    deadline = time.monotonic() + 20
    while shared_server.hits("/delay/10") < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # both slow requests are in flight
    process.send_signal(signal.SIGINT)
    out, rest = process.communicate(timeout=8)  # far less than the 10 s the slow routes need
    err = "".join(seen) + rest
    assert process.returncode == 0, err
    assert out.splitlines() == [
        "startup", "shutdown", "returned True {'fast': 200} ['slow', 'slower']",
    ]
    assert "Interrupted after" in err and "1 of 3 requests finished" in err
    assert "2 cancelled" in err and "Traceback" not in err
