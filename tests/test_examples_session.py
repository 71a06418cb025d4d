"""Every seed 000 example under examples/session runs as written against the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fasthttp.testing import LocalServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "session"


def _run(name: str, server: LocalServer) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FASTHTTP_EXAMPLE_URL": server.url, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    return subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(EXAMPLES / name)],
        env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def fresh(shared_server: LocalServer) -> LocalServer:
    shared_server.reset()
    return shared_server


def _seen(server: LocalServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.requests]


def test_basic_usage(fresh: LocalServer) -> None:
    """basic_usage.py prints the todo it fetched."""
    done = _run("basic_usage.py", fresh)
    assert done.returncode == 0, done.stderr
    assert "'id': 1" in done.stdout and _seen(fresh) == [("GET", "/todos/1")]


def test_http_methods(fresh: LocalServer) -> None:
    """http_methods.py sends every verb to the resources it names."""
    done = _run("http_methods.py", fresh)
    assert done.returncode == 0, done.stderr
    assert _seen(fresh) == [
        ("GET", "/posts/1"), ("GET", "/posts"), ("POST", "/posts"), ("PUT", "/posts/1"),
        ("PATCH", "/posts/1"), ("DELETE", "/posts/1"), ("HEAD", "/posts"), ("OPTIONS", "/posts"),
        ("GET", "/posts/1"),
    ]
    assert fresh.requests[1].query_string == "userId=1"
    assert fresh.requests[2].body == b'{"title":"hello","userId":1}'


def test_session_headers(fresh: LocalServer) -> None:
    """session_headers.py sends the session's headers with both requests."""
    done = _run("session_headers.py", fresh)
    assert done.returncode == 0, done.stderr
    assert [r.header("authorization") for r in fresh.requests] == ["Bearer my-token"] * 2
    assert [r.header("accept") for r in fresh.requests] == ["application/json"] * 2


def test_per_request_headers(fresh: LocalServer) -> None:
    """per_request_headers.py adds X-Custom for its one request."""
    done = _run("per_request_headers.py", fresh)
    assert done.returncode == 0, done.stderr
    assert fresh.requests[0].path == "/slow-endpoint" and fresh.requests[0].header("x-custom") == "value"


def test_without_context_manager(fresh: LocalServer) -> None:
    """without_context_manager.py opens and closes the session by hand and prints the user."""
    done = _run("without_context_manager.py", fresh)
    assert done.returncode == 0, done.stderr
    assert "'id': 1" in done.stdout and _seen(fresh) == [("GET", "/users/1")]


def test_working_with_responses(fresh: LocalServer) -> None:
    """working_with_responses.py prints status, JSON, text and masked headers."""
    done = _run("working_with_responses.py", fresh)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "200" and lines[1].startswith("{") and "<Headers(" in lines[-1]


def test_dynamic_logic(fresh: LocalServer) -> None:
    """dynamic_logic.py logs in, then uses the token it got for the protected request."""
    done = _run("dynamic_logic.py", fresh)
    assert done.returncode == 0, done.stderr
    assert _seen(fresh) == [("POST", "/auth/login"), ("GET", "/protected/data")]
    assert fresh.requests[1].header("authorization") == "Bearer seed-token-123"
    assert "'data': [1, 2, 3]" in done.stdout


def test_with_middleware(fresh: LocalServer) -> None:
    """with_middleware.py sends its request through CacheMiddleware."""
    done = _run("with_middleware.py", fresh)
    assert done.returncode == 0, done.stderr
    assert _seen(fresh) == [("GET", "/data")]


def test_with_cookie_jar(fresh: LocalServer) -> None:
    """with_cookie_jar.py gets the login cookie stored and sent to /dashboard."""
    done = _run("with_cookie_jar.py", fresh)
    assert done.returncode == 0, done.stderr
    assert _seen(fresh) == [("POST", "/login"), ("GET", "/dashboard")]
    assert fresh.requests[1].header("cookie") == "session=seed-session-456"
