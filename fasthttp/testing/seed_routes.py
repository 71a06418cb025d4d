"""Endpoints the founding documents' examples call, so they run as written against this server.

- ``POST /auth/login`` -> ``{"token": ...}``; ``GET /protected/data`` needs ``Authorization: Bearer <that token>``;
- ``POST /login`` sets a session cookie; ``GET /dashboard`` needs it (401 otherwise);
- ``GET /data`` -> a small JSON document, cacheable for 60 s (the CacheMiddleware example);
- ``GET /slow-endpoint`` -> answers after a short pause.
"""

from __future__ import annotations

import asyncio

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


def seed_routes() -> list[web.RouteDef]:
    """The routes above, for ``create_app``."""
    return [
        web.post("/auth/login", _auth_login),
        web.get("/protected/data", _protected_data),
        web.post("/login", _login),
        web.get("/dashboard", _dashboard),
        web.get("/data", _data),
        web.get("/slow-endpoint", _slow_endpoint),
    ]
