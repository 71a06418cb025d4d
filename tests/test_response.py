"""Response over real TCP: status, headers, body decoding, cookies, raise_for_status."""

from __future__ import annotations

import pytest

from fasthttp import AsyncSession, HTTPStatusError, Response
from fasthttp.testing import LocalServer


async def _get(server: LocalServer, path: str) -> Response:
    async with AsyncSession(base_url=server.url, raise_errors=False, follow_redirects=False) as session:
        request = session.build_request("GET", path)
        return await session.send(request)


async def test_status_reason_version_and_repr(shared_server: LocalServer) -> None:
    """status/status_code, reason, http_version and repr describe the response."""
    resp = await _get(shared_server, "/get")
    assert resp.status == resp.status_code == 200
    assert resp.reason == "OK" and resp.http_version == "HTTP/1.1"
    assert repr(resp) == "<Response [200 OK]>"
    assert resp.elapsed.total_seconds() > 0
    assert resp.request is not None and resp.url == resp.request.url


async def test_headers_are_case_insensitive_and_keep_repeats(shared_server: LocalServer) -> None:
    """Repeated response headers are all kept and names match in any case."""
    resp = await _get(shared_server, "/response-headers?X-Multi=one&X-Multi=two")
    assert resp.headers.getall("x-multi") == ["one", "two"]
    assert resp.headers["CONTENT-TYPE"].startswith("application/json")


async def test_text_uses_the_declared_charset(shared_server: LocalServer) -> None:
    """text decodes with the Content-Type charset, and falls back to utf-8."""
    latin = await _get(shared_server, "/encoding/latin1")
    assert latin.encoding.lower() in ("iso-8859-1", "latin-1", "latin1")
    assert "é" in latin.text
    utf = await _get(shared_server, "/encoding/utf8")
    assert utf.encoding == "utf-8"
    assert utf.text == utf.content.decode("utf-8") and not utf.text.isascii()


async def test_json_and_gzip(shared_server: LocalServer) -> None:
    """json() parses the body; a gzip body arrives decoded."""
    plain = await _get(shared_server, "/json")
    assert isinstance(plain.json(), dict)
    zipped = await _get(shared_server, "/gzip")
    assert zipped.json()["gzipped"] is True


async def test_bad_json_raises_value_error(shared_server: LocalServer) -> None:
    """json() on a non-JSON body raises a ValueError."""
    resp = await _get(shared_server, "/html")
    with pytest.raises(ValueError):
        resp.json()


async def test_status_flags_and_bool(shared_server: LocalServer) -> None:
    """is_success/is_redirect/is_client_error/is_server_error/is_error and bool() agree with the status."""
    ok, moved, missing, broken = [
        await _get(shared_server, p) for p in ("/get", "/redirect/1", "/status/404", "/status/503")
    ]
    assert ok.is_success and bool(ok) and not ok.is_error
    assert moved.is_redirect and bool(moved)
    assert missing.is_client_error and missing.is_error and not bool(missing)
    assert broken.is_server_error and not broken.ok


async def test_raise_for_status_chains(shared_server: LocalServer) -> None:
    """raise_for_status() returns the response on success and raises HTTPStatusError on 4xx/5xx."""
    ok = await _get(shared_server, "/json")
    assert ok.raise_for_status().json() == ok.json()
    failed = await _get(shared_server, "/status/502")
    with pytest.raises(HTTPStatusError, match="Server error 502") as info:
        failed.raise_for_status()
    assert info.value.response is failed


async def test_cookies_set_by_the_response(shared_server: LocalServer) -> None:
    """cookies lists the cookies the response set."""
    resp = await _get(shared_server, "/cookies/set?a=1&b=2")
    assert resp.cookies == {"a": "1", "b": "2"}
