"""Handlers and routes of the embedded test server (httpbin-like plus jsonplaceholder-like)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import hashlib
import hmac
import math
import random
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from .auth_routes import auth_routes
from .seed_routes import seed_routes
from .signing_routes import signing_routes

if TYPE_CHECKING:
    from .server import LocalServer

__all__ = [
    "HTML_DOCUMENT",
    "JSON_DOCUMENT",
    "LARGE_PATTERN",
    "LATIN1_TEXT",
    "UTF8_TEXT",
    "XML_DOCUMENT",
    "create_app",
    "digest_response",
    "random_bytes",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSONDict = dict[str, Any]

SERVER_KEY: web.AppKey[LocalServer] = web.AppKey("fasthttp_testing_server")

_OCTET = "application/octet-stream"
_JSON_CT = "application/json"
_BYTES_CHUNK = 64 * 1024
_LARGE_CHUNK = 256 * 1024
_MAX_DELAY = 30.0
_MAX_BODY = 10 * 1024**3  # generated bodies; far above any benchmark, stops typos eating RAM/CPU
_SLOW_UPLOAD_LIMIT = 1024
_DIGEST_REALM = "me@fasthttp.test"
_DIGEST_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512": "sha512"}

# --------------------------------------------------------------------------- static documents

JSON_DOCUMENT: JSONDict = {
    "slideshow": {
        "author": "Yours Truly",
        "date": "date of publication",
        "slides": [
            {"title": "Wake up to WonderWidgets!", "type": "all"},
            {
                "items": [
                    "Why <em>WonderWidgets</em> are great",
                    "Who <em>buys</em> WonderWidgets",
                ],
                "title": "Overview",
                "type": "all",
            },
        ],
        "title": "Sample Slide Show",
    }
}
_JSON_BYTES = orjson.dumps(JSON_DOCUMENT)

HTML_DOCUMENT = (
    '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
    "    <title>Herman Melville - Moby-Dick</title>\n  </head>\n  <body>\n"
    "    <h1>Herman Melville - Moby-Dick</h1>\n"
    "    <p>Availing himself of the mild, summer-cool weather that now reigned in these "
    "latitudes, and in preparation for the peculiarly active pursuits shortly to be "
    "anticipated, Perth, the begrimed, blistered old blacksmith, had not removed his "
    "portable forge to the hold again.</p>\n  </body>\n</html>\n"
)

XML_DOCUMENT = (
    '<?xml version="1.0" encoding="us-ascii"?>\n'
    '<slideshow title="Sample Slide Show" date="Date of publication" author="Yours Truly">\n'
    '  <slide type="all">\n    <title>Wake up to WonderWidgets!</title>\n  </slide>\n'
    '  <slide type="all">\n    <title>Overview</title>\n'
    "    <item>Why <em>WonderWidgets</em> are great</item>\n"
    "    <item>Who <em>buys</em> WonderWidgets</item>\n  </slide>\n</slideshow>\n"
)

_ROBOTS_TXT = "User-agent: *\nDisallow: /deny\n"
UTF8_TEXT = "Unicode: café, naïve, Grüße, Ελληνικά, Русский, 日本語, €, ✓ 🚀\n"
LATIN1_TEXT = "Latin-1: café, naïve, Grüße aus Köln, señor, ½ £ © ¿¡\n"

# Repeated pattern for /large: byte i of the body is i % 256.
LARGE_PATTERN = bytes(range(256)) * (_LARGE_CHUNK // 256)

# --------------------------------------------------------------------------- small helpers


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=_JSON_CT, headers=headers)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=orjson.dumps({"error": message}).decode(), content_type=_JSON_CT)


def _int(value: str | None, name: str, default: int | None = None, *, lo: int = 0) -> int:
    if value is None or value == "":
        if default is None:
            raise _bad_request(f"missing {name}")
        return default
    try:
        result = int(value)
    except ValueError:
        raise _bad_request(f"{name} must be an integer") from None
    if result < lo:
        raise _bad_request(f"{name} must be >= {lo}")
    return result


def _float(value: str | None, name: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except ValueError:
        raise _bad_request(f"{name} must be a number") from None
    if not math.isfinite(result):
        raise _bad_request(f"{name} must be finite")
    return max(0.0, min(result, _MAX_DELAY))


def _title(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _multi(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Collapse pairs into a dict; repeated keys become lists (httpbin's shape)."""
    out: dict[str, Any] = {}
    for key, value in items:
        if key in out:
            current = out[key]
            if isinstance(current, list):
                current.append(value)
            else:
                out[key] = [current, value]
        else:
            out[key] = value
    return out


def _headers(request: web.BaseRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in request.headers.items():
        name = _title(key)
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


async def _body(request: web.BaseRequest) -> bytes:
    """The request body; the recording middleware already read it, so this is the cache."""
    return await request.read() if request.body_exists else b""


def _text_or_data_url(data: bytes, content_type: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # httpbin's convention for binary payloads: keeps the echo valid JSON.
        encoded = base64.b64encode(data).decode("ascii")
        return f"data:{content_type or _OCTET};base64,{encoded}"


def _parse_multipart(content_type_header: str, body: bytes) -> tuple[JSONDict, JSONDict]:
    """Split a multipart/form-data body into (form fields, files)."""
    head = f"Content-Type: {content_type_header}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []
    if not message.is_multipart():
        return {}, {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        text = _text_or_data_url(data, part.get_content_type())
        if part.get_filename() is not None:
            files.append((name, text))
        else:
            fields.append((name, text))
    return _multi(fields), _multi(files)


async def _echo(request: web.BaseRequest, **extra: Any) -> JSONDict:
    """httpbin-style description of the request."""
    body = await _body(request)
    content_type = request.content_type if body else ""
    form: JSONDict = {}
    files: JSONDict = {}
    data = ""
    parsed: Any = None
    if content_type == "application/x-www-form-urlencoded":
        charset = request.charset or "utf-8"
        form = _multi(parse_qsl(body.decode(charset, "replace"), keep_blank_values=True))
    elif content_type == "multipart/form-data":
        form, files = _parse_multipart(request.headers.get("Content-Type", ""), body)
    elif body:
        data = _text_or_data_url(body, content_type)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
    result: JSONDict = {
        "method": request.method,
        "args": _multi(request.query.items()),
        "headers": _headers(request),
        "origin": request.remote or "",
        "url": str(request.url),
        "data": data,
        "json": parsed,
        "form": form,
        "files": files,
    }
    result.update(extra)
    return result


async def _echo_handler(request: web.Request) -> web.StreamResponse:
    return _json(await _echo(request))


# --------------------------------------------------------------------------- request inspection


async def _headers_handler(request: web.Request) -> web.StreamResponse:
    return _json({"headers": _headers(request)})


async def _user_agent(request: web.Request) -> web.StreamResponse:
    return _json({"user-agent": request.headers.get("User-Agent")})


async def _ip(request: web.Request) -> web.StreamResponse:
    return _json({"origin": request.remote or ""})


async def _echo_raw(request: web.Request) -> web.StreamResponse:
    content_type = request.headers.get("Content-Type", _OCTET)
    return web.Response(body=await _body(request), headers={"Content-Type": content_type})


async def _slow_upload_expect(request: web.Request) -> None:
    """Skip "100 Continue" for bodies we will refuse, so the client need not send them."""
    if _upload_too_large(request):
        return
    expect = request.headers.get("Expect", "")
    if request.version >= (1, 1) and expect.lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0
    elif expect:
        raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")


def _upload_too_large(request: web.BaseRequest) -> bool:
    length = request.content_length
    if length is None:
        return request.body_exists  # chunked: size unknown, refuse up front
    return length > _SLOW_UPLOAD_LIMIT


async def _slow_upload(request: web.Request) -> web.StreamResponse:
    if _upload_too_large(request):
        response = _json({"error": "payload too large", "limit": _SLOW_UPLOAD_LIMIT}, 413)
        # Answer before the body is read, then drop the connection so the body is never
        # read (aiohttp would otherwise linger draining it to keep the connection alive).
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        request.protocol.force_close()
        return response
    return _json({"received": len(await _body(request))})


# --------------------------------------------------------------------------- status & redirects


async def _status(request: web.Request) -> web.StreamResponse:
    code = _int(request.match_info["code"], "code")
    if not 200 <= code <= 599:
        raise _bad_request("status code must be in 200..599")
    headers: dict[str, str] = {}
    if 300 <= code < 400:
        headers["Location"] = "/get"
    elif code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Fake Realm"'
    elif code == 407:
        headers["Proxy-Authenticate"] = 'Basic realm="Fake Realm"'
    retry_after = request.query.get("retry_after")
    if retry_after:
        headers["Retry-After"] = retry_after
    return web.Response(status=code, headers=headers)


async def _delay(request: web.Request) -> web.StreamResponse:
    seconds = _float(request.match_info["seconds"], "seconds", 0.0)
    await asyncio.sleep(seconds)
    return _json(await _echo(request))


def _redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _hops(request: web.Request) -> int:
    n = _int(request.match_info["n"], "n")
    if not 1 <= n <= 100:
        raise _bad_request("n must be in 1..100")
    return n


async def _redirect_n(request: web.Request) -> web.StreamResponse:
    n = _hops(request)
    if request.query.get("absolute", "").lower() == "true":
        base = request.app[SERVER_KEY].url
        return _redirect(f"{base}/absolute-redirect/{n - 1}" if n > 1 else f"{base}/get")
    return _redirect(f"/redirect/{n - 1}" if n > 1 else "/get")


async def _relative_redirect(request: web.Request) -> web.StreamResponse:
    n = _hops(request)
    return _redirect(f"/relative-redirect/{n - 1}" if n > 1 else "/get")


async def _absolute_redirect(request: web.Request) -> web.StreamResponse:
    n = _hops(request)
    base = request.app[SERVER_KEY].url
    return _redirect(f"{base}/absolute-redirect/{n - 1}" if n > 1 else f"{base}/get")


async def _redirect_to(request: web.Request) -> web.StreamResponse:
    url = request.query.get("url")
    if url is None:
        raise _bad_request("missing url")
    status = _int(request.query.get("status_code"), "status_code", 302)
    if not 300 <= status <= 399:
        status = 302
    return _redirect(url, status)


# --------------------------------------------------------------------------- cookies


async def _cookies(request: web.Request) -> web.StreamResponse:
    return _json({"cookies": dict(request.cookies)})


async def _cookies_set(request: web.Request) -> web.StreamResponse:
    response = _redirect("/cookies")
    for name, value in request.query.items():
        response.set_cookie(name, value, path="/")
    return response


async def _cookies_set_one(request: web.Request) -> web.StreamResponse:
    response = _redirect("/cookies")
    response.set_cookie(request.match_info["name"], request.match_info["value"], path="/")
    return response


async def _cookies_delete(request: web.Request) -> web.StreamResponse:
    response = _redirect("/cookies")
    for name in request.query:
        response.del_cookie(name, path="/")
    return response


async def _cookies_set_raw(request: web.Request) -> web.StreamResponse:
    values = request.query.getall("v", [])
    response = _json({"set-cookie": values})
    for value in values:
        response.headers.add("Set-Cookie", value)
    return response


async def _response_headers(request: web.Request) -> web.StreamResponse:
    pairs = list(request.query.items())
    response = _json(_multi(pairs))
    for name, value in pairs:
        # Framing headers are computed by aiohttp; letting callers override them would
        # produce a broken response rather than a test fixture.
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        if name.lower() == "content-type":
            response.headers["Content-Type"] = value
        else:
            response.headers.add(name, value)
    return response


# --------------------------------------------------------------------------- bodies


def random_bytes(n: int, seed: int = 0, chunk_size: int = _BYTES_CHUNK) -> Iterator[bytes]:
    """Yield ``random.Random(seed).randbytes(n)`` in pieces of ``chunk_size`` bytes."""
    rng = random.Random(seed)
    remaining = n
    out = bytearray()
    while remaining > 0:
        # Generate in 64 KiB blocks (a multiple of 4) so the byte stream is identical to one
        # big randbytes(n) call whatever chunk_size the caller asks for.
        size = min(_BYTES_CHUNK, remaining)
        remaining -= size
        block = memoryview(rng.randbytes(size))
        pos = 0
        while pos < size:
            take = min(chunk_size - len(out), size - pos)
            out += block[pos : pos + take]
            pos += take
            if len(out) == chunk_size:
                yield bytes(out)
                out.clear()
    if out:
        yield bytes(out)


def _size(request: web.Request) -> int:
    n = _int(request.match_info["n"], "n")
    if n > _MAX_BODY:
        raise _bad_request(f"n must be <= {_MAX_BODY}")
    return n


async def _bytes(request: web.Request) -> web.StreamResponse:
    n = _size(request)
    seed = _int(request.query.get("seed"), "seed", 0)
    if n <= _BYTES_CHUNK:
        return web.Response(body=random.Random(seed).randbytes(n), content_type=_OCTET)
    response = web.StreamResponse(headers={"Content-Type": _OCTET})
    response.content_length = n
    await response.prepare(request)
    if request.method != "HEAD":
        for chunk in random_bytes(n, seed):
            await response.write(chunk)
    await response.write_eof()
    return response


async def _stream_bytes(request: web.Request) -> web.StreamResponse:
    n = _size(request)
    seed = _int(request.query.get("seed"), "seed", 0)
    chunk_size = _int(request.query.get("chunk_size"), "chunk_size", 10 * 1024, lo=1)
    chunk_size = min(chunk_size, 16 * 1024 * 1024)
    response = web.StreamResponse(headers={"Content-Type": _OCTET})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if request.method != "HEAD":
        for chunk in random_bytes(n, seed, chunk_size):
            await response.write(chunk)
    await response.write_eof()
    return response


async def _large(request: web.Request) -> web.StreamResponse:
    n = _size(request)
    response = web.StreamResponse(headers={"Content-Type": _OCTET})
    response.content_length = n
    await response.prepare(request)
    if request.method != "HEAD":
        view = memoryview(LARGE_PATTERN)
        remaining = n
        while remaining > 0:
            size = min(_LARGE_CHUNK, remaining)
            await response.write(view[:size] if size < _LARGE_CHUNK else LARGE_PATTERN)
            remaining -= size
    await response.write_eof()
    return response


async def _start_chunked(request: web.Request, content_type: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


async def _stream(request: web.Request) -> web.StreamResponse:
    n = min(_int(request.match_info["n"], "n"), 10_000)
    response = await _start_chunked(request, _JSON_CT)
    base = {
        "url": str(request.url),
        "args": _multi(request.query.items()),
        "headers": _headers(request),
        "origin": request.remote or "",
    }
    for i in range(n):
        await response.write(orjson.dumps({"id": i, **base}) + b"\n")
        await request.writer.drain()
    await response.write_eof()
    return response


async def _drip(request: web.Request) -> web.StreamResponse:
    numbytes = min(_int(request.query.get("numbytes"), "numbytes", 10), 10 * 1024 * 1024)
    duration = _float(request.query.get("duration"), "duration", 2.0)
    delay = _float(request.query.get("delay"), "delay", 0.0)
    code = _int(request.query.get("code"), "code", 200)
    if not 200 <= code <= 599:
        raise _bad_request("code must be in 200..599")
    await asyncio.sleep(delay)
    response = web.StreamResponse(status=code, headers={"Content-Type": _OCTET})
    response.content_length = numbytes
    await response.prepare(request)
    pause = duration / numbytes if numbytes else 0.0
    for _ in range(numbytes):
        await response.write(b"*")
        if pause:
            await asyncio.sleep(pause)
    await response.write_eof()
    return response


async def _lines(request: web.Request) -> web.StreamResponse:
    count = min(_int(request.query.get("count"), "count", 5), 100_000)
    interval = _float(request.query.get("interval"), "interval", 0.1)
    sep = request.query.get("sep", "lf").lower()
    if sep not in ("lf", "crlf"):
        raise _bad_request("sep must be lf or crlf")
    ending = "\r\n" if sep == "crlf" else "\n"
    response = await _start_chunked(request, "text/plain; charset=utf-8")
    for i in range(count):
        if i and interval:
            await asyncio.sleep(interval)
        await response.write(f"line {i}{ending}".encode())
    await response.write_eof()
    return response


async def _sse(request: web.Request) -> web.StreamResponse:
    status = _int(request.query.get("status"), "status", 200)
    if status != 200:
        if not 200 <= status <= 599:
            raise _bad_request("status must be in 200..599")
        return web.Response(status=status)
    count = min(_int(request.query.get("count"), "count", 3), 100_000)
    interval = _float(request.query.get("interval"), "interval", 0.0)
    retry = request.query.get("retry")
    start = 0
    last_id = request.headers.get("Last-Event-ID")
    if last_id:
        try:
            start = int(last_id) + 1
        except ValueError:
            start = 0
        if start >= count:
            # Nothing left to resume: 204 tells EventSource-style clients to stop reconnecting.
            return web.Response(status=204)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if retry:
        await response.write(f"retry: {_int(retry, 'retry')}\n\n".encode())
    for n in range(start, count):
        if n != start and interval:
            await asyncio.sleep(interval)
        data = orjson.dumps({"n": n}).decode()
        await response.write(f"id: {n}\nevent: message\ndata: {data}\n\n".encode())
    await response.write_eof()
    return response


def _static(body: bytes, content_type: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler


def _load_brotli() -> Callable[[bytes], bytes] | None:
    try:
        import brotli
    except ImportError:  # optional dependency (the "speed" extra)
        return None
    compress: Callable[[bytes], bytes] = brotli.compress
    return compress


_COMPRESSORS: dict[str, Callable[[bytes], bytes] | None] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,  # HTTP "deflate" is the zlib format (RFC 9110 §8.4.1.2)
    "br": _load_brotli(),
}


def _compressed(encoding: str, flag: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        compress = _COMPRESSORS[encoding]
        if compress is None:
            return _json({"error": "brotli is not installed"}, 501)
        payload = {
            flag: True,
            "headers": _headers(request),
            "method": request.method,
            "origin": request.remote or "",
        }
        # A plain Response never compresses unless enable_compression() is called, so the
        # body goes out exactly as encoded here.
        return web.Response(
            body=compress(orjson.dumps(payload)),
            headers={"Content-Type": _JSON_CT, "Content-Encoding": encoding},
        )

    return handler


# --------------------------------------------------------------------------- caching


def _etags(value: str | None) -> list[str]:
    if not value:
        return []
    tags = []
    for item in value.split(","):
        tag = item.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.append(tag.strip('"'))
    return tags


async def _cache(request: web.Request) -> web.StreamResponse:
    if "If-Modified-Since" in request.headers or "If-None-Match" in request.headers:
        return web.Response(status=304)
    return _json(
        await _echo(request),
        headers={"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT", "ETag": '"fasthttp-cache"'},
    )


async def _cache_seconds(request: web.Request) -> web.StreamResponse:
    seconds = _int(request.match_info["seconds"], "seconds")
    return _json(await _echo(request), headers={"Cache-Control": f"public, max-age={seconds}"})


async def _etag(request: web.Request) -> web.StreamResponse:
    etag = request.match_info["etag"]
    headers = {"ETag": f'"{etag}"'}
    if_none_match = _etags(request.headers.get("If-None-Match"))
    if_match = _etags(request.headers.get("If-Match"))
    if if_none_match:
        if etag in if_none_match or "*" in if_none_match:
            return web.Response(status=304, headers=headers)
    elif if_match and etag not in if_match and "*" not in if_match:
        return web.Response(status=412)
    return _json(await _echo(request), headers=headers)


# --------------------------------------------------------------------------- auth


async def _basic_auth(request: web.Request) -> web.StreamResponse:
    user = request.match_info["user"]
    passwd = request.match_info["passwd"]
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        got_user, sep, got_pass = decoded.partition(":")
        if (
            sep
            and hmac.compare_digest(got_user.encode(), user.encode())
            and hmac.compare_digest(got_pass.encode(), passwd.encode())
        ):
            return _json({"authenticated": True, "user": user})
    return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Fake Realm"'})


async def _bearer(request: web.Request) -> web.StreamResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return _json({"authenticated": True, "token": token.strip()})
    return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str = "",
    cnonce: str = "",
    qop: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` value of an RFC 7616 Digest Authorization (hex digest)."""
    name = algorithm.upper()
    session = name.endswith("-SESS")
    if session:
        name = name[: -len("-SESS")]
    hash_name = _DIGEST_HASHES[name]

    def h(data: bytes) -> str:
        return hashlib.new(hash_name, data, usedforsecurity=False).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}".encode())
    if session:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    a2 = f"{method}:{uri}:{h(body)}" if qop == "auth-int" else f"{method}:{uri}"
    ha2 = h(a2.encode())
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())
    return h(f"{ha1}:{nonce}:{ha2}".encode())  # RFC 2069 compatibility (no qop)


_AUTH_PARAM = re.compile(r'([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')


def _parse_auth_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, raw in _AUTH_PARAM.findall(value):
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = raw
    return params


def _digest_challenge(server: LocalServer, qop: str, algorithm: str, stale: bool = False) -> web.Response:
    nonce = server._new_digest_nonce()
    header = (
        f'Digest realm="{_DIGEST_REALM}", qop="{qop}", nonce="{nonce}", '
        f'opaque="{server._digest_opaque}", algorithm={algorithm}, stale={str(stale).upper()}'
    )
    return web.Response(status=401, headers={"WWW-Authenticate": header})


async def _digest_auth(request: web.Request) -> web.StreamResponse:
    qop = request.match_info["qop"].lower()
    user = request.match_info["user"]
    passwd = request.match_info["passwd"]
    algorithm = request.match_info.get("algorithm", "MD5").upper()
    if qop not in ("auth", "auth-int"):
        raise _bad_request("qop must be auth or auth-int")
    if algorithm.removesuffix("-SESS") not in _DIGEST_HASHES:
        raise _bad_request("algorithm must be MD5, SHA-256 or SHA-512 (optionally -sess)")
    server = request.app[SERVER_KEY]
    scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "digest":
        return _digest_challenge(server, qop, algorithm)
    params = _parse_auth_params(rest)
    required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if (
        any(key not in params for key in required)
        or params["username"] != user
        or params["realm"] != _DIGEST_REALM
        or params.get("opaque") != server._digest_opaque
        or params["uri"] != request.raw_path
        or params["qop"].lower() != qop
        or params.get("algorithm", "MD5").upper() != algorithm
    ):
        return _digest_challenge(server, qop, algorithm)
    expected = digest_response(
        algorithm=algorithm,
        username=user,
        realm=_DIGEST_REALM,
        password=passwd,
        method=request.method,
        uri=params["uri"],
        nonce=params["nonce"],
        nc=params["nc"],
        cnonce=params["cnonce"],
        qop=qop,
        body=await _body(request),
    )
    if not hmac.compare_digest(expected, params["response"].lower()):
        return _digest_challenge(server, qop, algorithm)
    if not server._known_digest_nonce(params["nonce"]):
        # Right password, but a nonce we never issued: ask again without re-prompting.
        return _digest_challenge(server, qop, algorithm, stale=True)
    return _json({"authenticated": True, "user": user})


# --------------------------------------------------------------------------- jsonplaceholder

_LOREM = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate"
)
_WORDS = tuple(_LOREM.split())
_USERS = [
    ("Leanne Graham", "Bret", "Gwenborough"),
    ("Ervin Howell", "Antonette", "Wisokyburgh"),
    ("Clementine Bauch", "Samantha", "McKenziehaven"),
    ("Patricia Lebsack", "Karianne", "South Elvis"),
    ("Chelsey Dietrich", "Kamren", "Roscoeview"),
    ("Mrs. Dennis Schulist", "Leopoldo_Corkery", "South Christy"),
    ("Kurtis Weissnat", "Elwyn.Skiles", "Howemouth"),
    ("Nicholas Runolfsdottir V", "Maxime_Nienow", "Aliyaview"),
    ("Glenna Reichert", "Delphine", "Bartholomebury"),
    ("Clementina DuBuque", "Moriah.Stanton", "Lebsackbury"),
]


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi)))


def _build_resources() -> dict[str, list[JSONDict]]:
    rng = random.Random(1234)  # fixed seed: every run serves identical data
    users = [
        {
            "id": i,
            "name": name,
            "username": username,
            "email": f"{username.lower()}@example.com",
            "address": {
                "street": f"{_words(rng, 1, 2).title()} Street",
                "city": city,
                "zipcode": f"{rng.randint(10000, 99999)}",
            },
            "phone": f"1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            "website": f"{username.lower()}.example.org",
            "company": {"name": f"{_words(rng, 1, 2).title()} LLC"},
        }
        for i, (name, username, city) in enumerate(_USERS, start=1)
    ]
    posts = [
        {
            "userId": (i - 1) // 10 + 1,
            "id": i,
            "title": _words(rng, 3, 8),
            "body": _words(rng, 15, 30),
        }
        for i in range(1, 101)
    ]
    comments = [
        {
            "postId": (i - 1) // 5 + 1,
            "id": i,
            "name": _words(rng, 3, 6),
            "email": f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}{i}@example.net",
            "body": _words(rng, 10, 20),
        }
        for i in range(1, 501)
    ]
    todos = [
        {
            "userId": (i - 1) // 20 + 1,
            "id": i,
            "title": _words(rng, 2, 6),
            "completed": rng.random() < 0.5,
        }
        for i in range(1, 201)
    ]
    return {"posts": posts, "users": users, "todos": todos, "comments": comments}


_RESOURCES = _build_resources()
_RESOURCE_LIST_BYTES = {name: orjson.dumps(items) for name, items in _RESOURCES.items()}


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filtered(items: list[JSONDict], filters: Iterable[tuple[str, str]]) -> list[JSONDict]:
    wanted = [(k, v) for k, v in filters if not k.startswith("_")]
    return [item for item in items if all(k in item and _field_text(item[k]) == v for k, v in wanted)]


def _item_id(request: web.Request, items: list[JSONDict]) -> int | None:
    try:
        item_id = int(request.match_info["id"])
    except ValueError:
        return None
    return item_id if 1 <= item_id <= len(items) else None


async def _resource_body(request: web.Request) -> JSONDict:
    body = await _body(request)
    if not body.strip():
        return {}
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _bad_request("body must be JSON or a urlencoded form") from None
    if not isinstance(data, dict):
        raise _bad_request("body must be a JSON object")
    return data


def _resource_routes(name: str) -> list[web.RouteDef]:
    items = _RESOURCES[name]

    async def list_items(request: web.Request) -> web.StreamResponse:
        if not request.query:
            return web.Response(body=_RESOURCE_LIST_BYTES[name], content_type=_JSON_CT)
        return _json(_filtered(items, request.query.items()))

    async def create(request: web.Request) -> web.StreamResponse:
        # Like jsonplaceholder: pretend to create, never mutate the shared data.
        return _json({**await _resource_body(request), "id": len(items) + 1}, 201)

    async def get_item(request: web.Request) -> web.StreamResponse:
        item_id = _item_id(request, items)
        if item_id is None:
            return _json({}, 404)
        return _json(items[item_id - 1])

    async def update(request: web.Request) -> web.StreamResponse:
        item_id = _item_id(request, items)
        if item_id is None:
            return _json({}, 404)
        return _json({**items[item_id - 1], **await _resource_body(request), "id": item_id})

    async def delete(request: web.Request) -> web.StreamResponse:
        if _item_id(request, items) is None:
            return _json({}, 404)
        return _json({})

    return [
        web.get(f"/{name}", list_items),
        web.post(f"/{name}", create),
        web.get(f"/{name}/{{id}}", get_item),
        web.put(f"/{name}/{{id}}", update),
        web.patch(f"/{name}/{{id}}", update),
        web.delete(f"/{name}/{{id}}", delete),
    ]


def _nested(child: str, key: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _json(_filtered(_RESOURCES[child], [(key, request.match_info["id"])]))

    return handler


# --------------------------------------------------------------------------- recording middleware


def _make_recorder(server: LocalServer) -> Middleware:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived_at = time.monotonic()
        body = b""
        # Only read when there is a body; /slow-upload must refuse big ones unread.
        if request.body_exists and not (request.path == "/slow-upload" and _upload_too_large(request)):
            body = await request.read()  # cached by aiohttp for the handler
        server._record(request, body, arrived_at)
        failure = server._take_failure(request.path)
        if failure is not None:
            status, headers = failure
            return web.Response(status=status, headers=headers)
        return await handler(request)

    return record


# --------------------------------------------------------------------------- application


def create_app(server: LocalServer) -> web.Application:
    """Build the aiohttp application serving every test endpoint for ``server``."""
    # Large uploads (benchmarks, /echo) are legitimate here; aiohttp's 1 MiB default is not.
    app = web.Application(middlewares=[_make_recorder(server)], client_max_size=4 * 1024**3)
    app[SERVER_KEY] = server
    routes: list[web.AbstractRouteDef] = [
        web.get("/get", _echo_handler),
        web.post("/post", _echo_handler),
        web.put("/put", _echo_handler),
        web.patch("/patch", _echo_handler),
        web.delete("/delete", _echo_handler),
        web.route("*", "/anything", _echo_handler),
        web.route("*", "/anything/{tail:.*}", _echo_handler),
        web.get("/headers", _headers_handler),
        web.get("/user-agent", _user_agent),
        web.get("/ip", _ip),
        web.route("*", "/echo", _echo_raw),
        web.route("*", "/status/{code}", _status),
        web.route("*", "/delay/{seconds}", _delay),
        web.get("/redirect/{n}", _redirect_n),
        web.get("/relative-redirect/{n}", _relative_redirect),
        web.get("/absolute-redirect/{n}", _absolute_redirect),
        web.route("*", "/redirect-to", _redirect_to),
        web.get("/cookies", _cookies),
        web.get("/cookies/set", _cookies_set),
        web.get("/cookies/set-raw", _cookies_set_raw),
        web.get("/cookies/set/{name}/{value}", _cookies_set_one),
        web.get("/cookies/delete", _cookies_delete),
        web.route("*", "/response-headers", _response_headers),
        web.get("/bytes/{n}", _bytes),
        web.get("/stream-bytes/{n}", _stream_bytes),
        web.get("/large/{n}", _large),
        web.get("/stream/{n}", _stream),
        web.get("/drip", _drip),
        web.get("/lines", _lines),
        web.get("/sse", _sse),
        web.get("/json", _static(_JSON_BYTES, _JSON_CT)),
        web.get("/html", _static(HTML_DOCUMENT.encode(), "text/html; charset=utf-8")),
        web.get("/xml", _static(XML_DOCUMENT.encode(), "application/xml")),
        web.get("/robots.txt", _static(_ROBOTS_TXT.encode(), "text/plain")),
        web.get("/encoding/utf8", _static(UTF8_TEXT.encode(), "text/plain; charset=utf-8")),
        web.get(
            "/encoding/latin1",
            _static(LATIN1_TEXT.encode("latin-1"), "text/plain; charset=iso-8859-1"),
        ),
        web.get("/gzip", _compressed("gzip", "gzipped")),
        web.get("/deflate", _compressed("deflate", "deflated")),
        web.get("/brotli", _compressed("br", "brotli")),
        web.get("/cache", _cache),
        web.get("/cache/{seconds}", _cache_seconds),
        web.get("/etag/{etag}", _etag),
        web.get("/basic-auth/{user}/{passwd}", _basic_auth),
        web.get("/bearer", _bearer),
        web.route("*", "/digest-auth/{qop}/{user}/{passwd}", _digest_auth),
        web.route("*", "/digest-auth/{qop}/{user}/{passwd}/{algorithm}", _digest_auth),
        web.get("/posts/{id}/comments", _nested("comments", "postId")),
        web.get("/users/{id}/posts", _nested("posts", "userId")),
        web.get("/users/{id}/todos", _nested("todos", "userId")),
    ]
    for name in _RESOURCES:
        routes.extend(_resource_routes(name))
    routes.extend(seed_routes())
    routes.extend(auth_routes())
    routes.extend(signing_routes())
    app.add_routes(routes)
    # The expect handler is per route, so /slow-upload is registered by hand.
    app.router.add_route("*", "/slow-upload", _slow_upload, expect_handler=_slow_upload_expect)
    return app
