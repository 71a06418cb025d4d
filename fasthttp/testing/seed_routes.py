"""Endpoints the founding documents' examples call, so they run as written against this server.

- ``POST /auth/login`` -> ``{"token": ...}``; ``GET /protected/data`` needs ``Authorization: Bearer <that token>``;
- ``POST /login`` sets a session cookie; ``GET /dashboard`` needs it (401 otherwise);
- ``GET /data`` -> a small JSON document, cacheable for 60 s (the CacheMiddleware example);
- ``GET /slow-endpoint`` -> answers after a short pause;
- ``POST /v1/chat/completions`` with ``"stream": true`` -> an OpenAI-style token stream
  (``data: {...}`` lines, then ``data: [DONE]``), without: one JSON completion;
- ``POST /stream`` -> the request body streamed back in small chunks;
- ``GET /events`` -> a short Server-Sent Events stream.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

__all__ = ["SEED_TOKEN", "seed_routes"]

SEED_TOKEN = "seed-token-123"
_SESSION_COOKIE = "session"
_SESSION_VALUE = "seed-session-456"


async def _auth_login(request: web.Request) -> web.StreamResponse:
    return web.json_response({"token": SEED_TOKEN, "token_type": "bearer"})


async def _protected_data(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") != f"Bearer {SEED_TOKEN}":
        return web.json_response({"error": "missing or wrong bearer token"}, status=401)
    return web.json_response({"data": [1, 2, 3], "secret": False})


async def _login(request: web.Request) -> web.StreamResponse:
    response = web.json_response({"logged_in": True})
    response.set_cookie(_SESSION_COOKIE, _SESSION_VALUE, path="/", httponly=True)
    return response


async def _dashboard(request: web.Request) -> web.StreamResponse:
    if request.cookies.get(_SESSION_COOKIE) != _SESSION_VALUE:
        return web.json_response({"error": "not logged in"}, status=401)
    return web.json_response({"dashboard": "welcome back"})


async def _data(request: web.Request) -> web.StreamResponse:
    return web.json_response({"data": "cacheable"}, headers={"Cache-Control": "max-age=60"})


async def _slow_endpoint(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(0.05)
    return web.json_response({"slow": True, "custom": request.headers.get("X-Custom")})


_REPLY = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not payload.get("stream"):
        message = {"role": "assistant", "content": "".join(_REPLY)}
        return web.json_response({"object": "chat.completion", "choices": [{"index": 0, "message": message}]})
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    for token in _REPLY:
        chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": token}}]}
        await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def _stream_echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    resp = web.StreamResponse(headers={"Content-Type": request.content_type or "application/octet-stream"})
    await resp.prepare(request)
    for start in range(0, len(body), 7):
        await resp.write(body[start : start + 7])
    await resp.write_eof()
    return resp


async def _events(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    authorized = request.headers.get("Authorization", "").startswith("Bearer ")
    for n in range(3):
        await resp.write(f"id: {n}\ndata: event {n} (authorized: {authorized})\n\n".encode())
    await resp.write_eof()
    return resp


def seed_routes() -> list[web.RouteDef]:
    """The routes above, for ``create_app``."""
    return [
        web.post("/auth/login", _auth_login),
        web.get("/protected/data", _protected_data),
        web.post("/login", _login),
        web.get("/dashboard", _dashboard),
        web.get("/data", _data),
        web.get("/slow-endpoint", _slow_endpoint),
        web.post("/v1/chat/completions", _chat_completions),
        web.post("/stream", _stream_echo),
        web.get("/events", _events),
    ]
