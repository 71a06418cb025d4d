"""Pure request-building helpers: URL joining, params, body encoding, Headers."""

from __future__ import annotations

import pytest
from yarl import URL

from fasthttp import Headers, InvalidURL, Request
from fasthttp.models import build_url, encode_body, join_url


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("https://api.example.com", "/users", "https://api.example.com/users"),
        ("https://api.example.com/v1", "/users", "https://api.example.com/v1/users"),
        ("https://api.example.com/v1/", "users", "https://api.example.com/v1/users"),
        ("https://api.example.com/v1", "users?x=1", "https://api.example.com/v1/users?x=1"),
        ("https://api.example.com/v1", "https://other.example.org/a", "https://other.example.org/a"),
        ("https://api.example.com/v1", "//cdn.example.net/x", "https://cdn.example.net/x"),
    ],
)
def test_join_url(base: str, path: str, expected: str) -> None:
    """Relative paths are appended to the base path; absolute URLs win."""
    assert str(join_url(URL(base), path)) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/users", "no scheme"),
        ("ftp://example.com/x", "scheme 'ftp'"),
        ("http://example.com/\r\nX: y", "control character"),
        ("http:///nohost", "no host"),
    ],
)
def test_invalid_urls_are_explained(url: str, message: str) -> None:
    """Malformed or non-http URLs raise InvalidURL with the reason."""
    with pytest.raises(InvalidURL, match=message):
        Request("GET", url)


def test_build_url_encodes_params() -> None:
    """Params keep the existing query, repeat list values and spell booleans as true/false."""
    url = build_url(URL("http://a.test/p?x=1"), {"q": "fast http", "n": 2, "t": ["a", "b"], "b": True})
    assert url.query_string == "x=1&q=fast http&n=2&t=a&t=b&b=true"


def test_encode_body_kinds() -> None:
    """json, form, bytes, str and multipart bodies get the right bytes and Content-Type."""
    assert encode_body(json={"a": 1}) == (b'{"a":1}', "application/json")
    assert encode_body(data={"a": "b c"}) == (b"a=b+c", "application/x-www-form-urlencoded")
    assert encode_body(data=b"raw") == (b"raw", None)
    assert encode_body(content="é") == ("é".encode(), "text/plain; charset=utf-8")
    body, content_type = encode_body(data={"f": "v"}, files={"up": ("a.txt", b"AAA", "text/plain")})
    assert isinstance(body, bytes) and content_type is not None
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="up"; filename="a.txt"' in body and b"AAA" in body and b'name="f"' in body


def test_encode_body_refuses_wrong_types() -> None:
    """Unsupported body types raise TypeError naming the argument."""
    with pytest.raises(TypeError, match="data="):
        encode_body(data=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content="):
        encode_body(content=3.5)  # type: ignore[arg-type]


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    """Headers match names in any case and keep every value of a repeated field."""
    headers = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-One", "1")])
    assert headers["x-one"] == "1"
    assert headers.getall("SET-COOKIE") == ["a=1", "b=2"]
    assert "X-ONE" in headers


def test_headers_repr_masks_secrets() -> None:
    """Headers' repr never shows credential values."""
    text = repr(Headers({"Authorization": "Bearer abc123", "X-API-Key": "k-999", "Accept": "text/plain"}))
    assert "abc123" not in text and "k-999" not in text and "text/plain" in text


def test_request_repr_masks_url_secrets() -> None:
    """A Request's repr masks secret query values."""
    text = repr(Request("get", "https://example.com/a?token=XYZ&page=2"))
    assert text == "<Request [GET https://example.com/a?token=[REDACTED]&page=2]>"


def test_copy_with_does_not_share_headers() -> None:
    """copy_with() gives the copy its own headers."""
    original = Request("GET", "http://a.test/", headers={"X": "1"})
    clone = original.copy_with(method="POST")
    clone.headers["X"] = "2"
    assert original.headers["X"] == "1" and clone.method == "POST"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Evil": "a\r\nInjected: 1"}, "CR, LF or NUL"),
        ({"X-Nul": "a\x00b"}, "CR, LF or NUL"),
        ({"Bad Name": "v"}, "not a valid HTTP token"),
        ({"naïve": "v"}, "not a valid HTTP token"),
    ],
)
async def test_headers_that_would_break_framing_are_refused(headers: dict[str, str], message: str) -> None:
    """Header injection and non-token names raise InvalidHeader before anything is sent, without the value."""
    from fasthttp import AsyncSession, InvalidHeader

    async with AsyncSession(base_url="http://127.0.0.1:9") as session:
        with pytest.raises(InvalidHeader, match=message) as info:
            await session.get("/", headers=headers)
    assert "Injected" not in str(info.value)
    with pytest.raises(InvalidHeader):
        AsyncSession(headers=headers)
