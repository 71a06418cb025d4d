"""Every seed 002 example under examples/app runs as written against the embedded server,
and examples/demo.py runs on its own. The examples run as subprocesses, all at once (each
with its own server), so the whole module costs about as much as its slowest example."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from fasthttp.testing import LocalServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "app"
LINE = re.compile(r"^(INFO|ERROR|WARNING|DEBUG)\s+│ fasthttp\s+│ . (.*)$")


@dataclass
class Ran:
    server: LocalServer
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(level, message) of every log line fasthttp printed."""
        found = (LINE.match(line) for line in self.stderr.splitlines())
        return [(m.group(1), m.group(2)) for m in found if m]

    def messages(self, level: str = "INFO") -> list[str]:
        return [message for lvl, message in self.lines if lvl == level]

    def seen(self) -> list[tuple[str, str]]:
        return sorted((r.method, r.path) for r in self.server.requests)


@pytest.fixture(scope="module")
def ran() -> Iterator[dict[str, Ran]]:
    """Run every example once, concurrently, each against a server of its own."""
    with contextlib.ExitStack() as stack:
        started = {}
        for path in sorted(EXAMPLES.glob("*.py")):
            server = stack.enter_context(serve_in_thread())
            env = {
                **os.environ, "FASTHTTP_EXAMPLE_URL": server.url,
                "FASTHTTP_ALLOW_HOSTS": "127.0.0.1", "API_TOKEN": "",
            }
            env.pop("CI", None)
            process = subprocess.Popen(
                [sys.executable, "-W", "error", str(path)], env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(EXAMPLES),
            )
            started[path.name] = (server, process)
        results = {}
        for name, (server, process) in started.items():
            out, err = process.communicate(timeout=60)
            results[name] = Ran(server, process.returncode, out, err)
        yield results


def ok(ran: dict[str, Ran], name: str) -> Ran:
    result = ran[name]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def summary_lines(result: Ran, count: int) -> None:
    """The seed's frame: started, Sending N, Done in X.XXs, and the one-line summary."""
    messages = [m for _, m in result.lines]
    assert messages[:2] == ["FastHTTP started", f"Sending {count} requests"]
    assert re.fullmatch(r"Done in \d+\.\d\ds", messages[-2])
    assert re.fullmatch(r"\d+ succeeded, \d+ failed.*", messages[-1])


def test_every_example_has_a_test(ran: dict[str, Ran]) -> None:
    """Each file in examples/app is covered by a test in this module."""
    tested = {name[5:] + ".py" for name in globals() if name.startswith("test_")}
    assert set(ran) <= tested | {"every_example_has_a_test.py"}, set(ran) - tested


def test_first_request(ran: dict[str, Ran]) -> None:
    """first_request.py logs exactly the seed's four lines (plus the summary) for GET /posts/1."""
    result = ok(ran, "first_request.py")
    summary_lines(result, 1)
    assert re.fullmatch(
        rf"✔ GET {re.escape(result.server.url)}/posts/1 200 \d+\.\d\dms", result.messages()[2]
    )
    assert result.seen() == [("GET", "/posts/1")]
    assert "\x1b[" not in result.stderr  # a pipe gets plain text, no colours or progress


def test_application_structure(ran: dict[str, Ran]) -> None:
    """application_structure.py runs in debug mode: headers, bodies and timings appear."""
    result = ok(ran, "application_structure.py")
    summary_lines(result, 1)
    debug = "\n".join(result.messages("DEBUG"))
    assert "headers=" in debug and "my_request ← 200 OK" in debug and "timings: send" in debug
    assert result.seen() == [("GET", "/anything/data")]


def test_http_methods(ran: dict[str, Ran]) -> None:
    """http_methods.py sends all seven verbs; the OPTIONS 405 is an ERROR line that still ran."""
    result = ok(ran, "http_methods.py")
    summary_lines(result, 7)
    assert result.seen() == sorted([
        ("GET", "/users"), ("POST", "/users"), ("PUT", "/users/1"), ("PATCH", "/users/1"),
        ("DELETE", "/users/1"), ("HEAD", "/users"), ("OPTIONS", "/users"),
    ])
    bodies = {r.method: r.body for r in result.server.requests}
    assert orjson.loads(bodies["POST"]) == {"name": "John", "email": "john@example.com"}
    assert orjson.loads(bodies["PATCH"]) == {"age": 25}
    assert any(m.startswith("✘ OPTIONS") and " 405 " in m for m in result.messages("ERROR"))
    assert result.messages()[-1] == "7 succeeded, 0 failed; 1 response with a 4xx/5xx status"


def test_query_params(ran: dict[str, Ran]) -> None:
    """query_params.py sends q, page and limit in the query string, and logs the full URL."""
    result = ok(ran, "query_params.py")
    (request,) = result.server.requests
    assert request.query_string == "q=fasthttp&page=1&limit=10"
    assert any("/anything/search?q=fasthttp&page=1&limit=10 200" in m for m in result.messages())


def test_json_body(ran: dict[str, Ran]) -> None:
    """json_body.py POSTs the JSON document with a JSON content type."""
    result = ok(ran, "json_body.py")
    (request,) = result.server.requests
    assert orjson.loads(request.body) == {"name": "John", "email": "john@example.com", "age": 25}
    assert request.header("content-type") == "application/json"


def test_raw_data(ran: dict[str, Ran]) -> None:
    """raw_data.py sends the raw bytes unchanged."""
    result = ok(ran, "raw_data.py")
    (request,) = result.server.requests
    assert request.body == b"raw bytes data"


def test_headers(ran: dict[str, Ran]) -> None:
    """headers.py: the app-wide headers and the route's own header all reach the server."""
    result = ok(ran, "headers.py")
    (request,) = result.server.requests
    assert request.header("authorization") == "Bearer my-secret-token"
    assert request.header("user-agent") == "MyApp/1.0"
    assert request.header("accept") == "application/json"
    assert request.header("x-custom-header") == "value"
    assert "my-secret-token" not in result.stderr


def test_error_handling(ran: dict[str, Ran]) -> None:
    """error_handling.py: the 404 and 500 reach their handlers and are logged as ERROR lines."""
    result = ok(ran, "error_handling.py")
    errors = result.messages("ERROR")
    assert any(m.startswith("✘ GET") and "/status/404 404 " in m for m in errors)
    assert any(m.startswith("✘ GET") and "/status/500 500 " in m for m in errors)
    debug = "\n".join(result.messages("DEBUG"))
    assert "returned 'Status: 404'" in debug and "returned 'Status: 500'" in debug
    assert result.messages()[-1] == "2 succeeded, 0 failed; 2 responses with a 4xx/5xx status"


def test_status_and_body(ran: dict[str, Ran]) -> None:
    """status_and_body.py reads status, JSON, text and headers without error."""
    result = ok(ran, "status_and_body.py")
    assert result.messages()[-1] == "1 succeeded, 0 failed"


def test_parallel(ran: dict[str, Ran]) -> None:
    """parallel.py sends its three GETs and logs three 200 lines."""
    result = ok(ran, "parallel.py")
    summary_lines(result, 3)
    assert result.seen() == [("GET", "/comments/1"), ("GET", "/posts/1"), ("GET", "/users/1")]
    assert sum(1 for m in result.messages() if m.startswith("✔ GET") and " 200 " in m) == 3


def test_single_request(ran: dict[str, Ran]) -> None:
    """single_request.py (run() at import, as in the seed) sends its one request."""
    result = ok(ran, "single_request.py")
    summary_lines(result, 1)
    assert result.seen() == [("GET", "/anything/data")]


def test_return_values(ran: dict[str, Ran]) -> None:
    """return_values.py returns a dict, a list, a str, an int and the Response itself."""
    result = ok(ran, "return_values.py")
    assert result.stdout.splitlines() == [
        "return_dict: {'message': 'Hello', 'status': 200}",
        "return_list: [1, 2, 3, 4, 5]",
        "return_string: 'Hello, World!'",
        "return_number: 200",
        "return_response: <Response [200 OK]>",
    ]


def test_tags(ran: dict[str, Ran]) -> None:
    """tags.py runs only the two "users" routes; /posts is never requested."""
    result = ok(ran, "tags.py")
    summary_lines(result, 2)
    assert result.seen() == [("GET", "/users"), ("POST", "/users")]


def test_dependencies(ran: dict[str, Ran]) -> None:
    """dependencies.py: the Authorization header added by the dependency reaches the server."""
    result = ok(ran, "dependencies.py")
    (request,) = result.server.requests
    assert request.path == "/anything/protected"
    assert request.header("authorization") == "Bearer my-token"


def test_request_validation(ran: dict[str, Ran]) -> None:
    """request_validation.py: the invalid user is never sent and the ERROR line names its fields."""
    result = ok(ran, "request_validation.py")
    summary_lines(result, 3)
    assert result.seen() == [("POST", "/anything/login"), ("POST", "/users")]
    users = [r for r in result.server.requests if r.path == "/users"]
    assert orjson.loads(users[0].body)["name"] == "John"
    (error,) = result.messages("ERROR")
    assert error.startswith("Request validation failed for create_user_2")
    assert "json.name: String should have at least 1 character" in error
    assert "json.email: String should match pattern" in error
    assert "json.age: Input should be less than or equal to 150" in error
    login = next(r for r in result.server.requests if r.path == "/anything/login")
    assert login.body == b"username=john&password=secret123"


def test_lifespan_basic(ran: dict[str, Ran]) -> None:
    """lifespan_basic.py prints its startup before the run's log and its shutdown after."""
    result = ok(ran, "lifespan_basic.py")
    assert result.stdout.splitlines() == ["Starting up...", "Shutting down..."]
    summary_lines(result, 1)


def test_lifespan_token(ran: dict[str, Ran]) -> None:
    """lifespan_token.py loads the token in startup and the handler sees app.api_token."""
    result = ok(ran, "lifespan_token.py")
    assert result.messages()[-1] == "1 succeeded, 0 failed"


def test_lifespan_stats(ran: dict[str, Ran]) -> None:
    """lifespan_stats.py counts the requests its handlers saw and prints them at shutdown."""
    result = ok(ran, "lifespan_stats.py")
    assert result.stdout.splitlines()[0] == "Total requests: 2"
    assert re.fullmatch(r"Total time: \d+\.\d\ds", result.stdout.splitlines()[1])


def test_without_lifespan(ran: dict[str, Ran]) -> None:
    """without_lifespan.py runs like any app."""
    result = ok(ran, "without_lifespan.py")
    summary_lines(result, 1)


def test_demo_runs_and_prints_its_table() -> None:
    """examples/demo.py starts its own server, runs 13 routes and prints the results table."""
    env = {k: v for k, v in os.environ.items() if k not in ("FASTHTTP_ALLOW_HOSTS", "CI")}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "demo.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert "create_invalid_post" in table and "RequestValidationError: invalid title, userId" in table
    assert "missing_post" in table and "'handled a 404'" in table
    assert "admin_stats" in table and "'demo-key-123'" in table
    assert "HTTPStatusError: 500 Internal Server Error" in table
    assert "11 succeeded, 2 failed; 2 responses with a 4xx/5xx status" in table
    assert "Sending 13 requests" in done.stderr
