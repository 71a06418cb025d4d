"""Every seed 001 example under examples/stream runs as written against the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fasthttp.testing import LocalServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "stream"


def _run(name: str, server: LocalServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    server.reset()
    env = {**os.environ, "FASTHTTP_EXAMPLE_URL": server.url, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    return subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(EXAMPLES / name)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def test_basic_usage(shared_server: LocalServer, tmp_path: Path) -> None:
    """basic_usage.py prints the 5 streamed lines."""
    done = _run("basic_usage.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5


def test_sse_chat(shared_server: LocalServer, tmp_path: Path) -> None:
    """sse_chat.py prints the streamed tokens as one reply and stops at [DONE]."""
    done = _run("sse_chat.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello! How can I help you today?"
    seen = shared_server.requests[0]
    assert seen.header("authorization") == "Bearer YOUR_API_KEY" and b'"stream": true' in seen.body


def test_raw_bytes_body(shared_server: LocalServer, tmp_path: Path) -> None:
    """raw_bytes_body.py sends its JSON with content= and gets every chunk back."""
    done = _run("raw_bytes_body.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"query": "stream this"}'
    assert shared_server.requests[0].header("authorization") == "Bearer token"


def test_download(shared_server: LocalServer, tmp_path: Path) -> None:
    """download.py writes the whole body to disk."""
    done = _run("download.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "file.zip").stat().st_size == 1048576


def test_session_headers(shared_server: LocalServer, tmp_path: Path) -> None:
    """session_headers.py streams /events with the session's Authorization header."""
    done = _run("session_headers.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "data: event 0 (authorized: True)" in done.stdout.splitlines()


def test_check_status(shared_server: LocalServer, tmp_path: Path) -> None:
    """check_status.py checks the status, then prints the 3 lines."""
    done = _run("check_status.py", shared_server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
