"""OAuth 2.0 endpoints of the embedded test server: a client credentials token endpoint
(RFC 6749 section 4.4) and a resource protected by its bearer tokens (RFC 6750).

- ``POST /oauth/token``: form ``grant_type=client_credentials`` (optional ``scope``,
  ``audience``), the client authenticated by HTTP Basic with form-urlencoded parts
  (RFC 6749 section 2.3.1; ``client_id``/``client_secret`` form fields are accepted
  too). Answers ``{"access_token", "token_type": "bearer", "expires_in", "scope"}``
  with ``Cache-Control: no-store``; errors are RFC 6749 section 5.2 JSON
  (``invalid_client`` 401, ``invalid_request``/``unsupported_grant_type`` 400).
  Each token issued replaces the previous one: only the newest is valid.
- ``GET|POST /oauth/resource``: 200 ``{"authenticated": true, "token_number": n}``
  for the currently valid token; otherwise 401 with
  ``WWW-Authenticate: Bearer realm="fasthttp", error="invalid_token"`` (no error
  code when no token was sent, RFC 6750 section 3.1).
- ``POST /oauth/control``: JSON to script the server. ``{"expires_in": 2}`` sets the
  lifetime of tokens issued from now on (``null``: omit ``expires_in``);
  ``{"revoke": true}`` invalidates the current token; ``{"fail": {"status": 503,
  "error": "temporarily_unavailable", "times": 1}}`` makes the next token requests fail.
- ``GET /oauth/stats``: ``{"issued", "accepted", "rejected", "last_scope",
  "last_audience", "client_auth"}``: how many tokens were issued, how many resource
  requests were let in or refused, and how the last token request looked.

The client's credentials are ``OAUTH_CLIENT_ID`` / ``OAUTH_CLIENT_SECRET``. State is
kept per application, so every server started by ``serve()`` starts from zero.
Register with ``routes.extend(auth_routes())`` in ``create_app``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import orjson
from aiohttp import web

__all__ = ["OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "auth_routes"]

OAUTH_CLIENT_ID = "fasthttp-client"
OAUTH_CLIENT_SECRET = "fasthttp-client-s3cret"
_DEFAULT_EXPIRES_IN = 3600.0
_REALM = "fasthttp"


@dataclass
class _Failure:
    status: int
    error: str
    times: int


@dataclass
class _OAuthState:
    expires_in: float | None = _DEFAULT_EXPIRES_IN
    token: str | None = None
    expires_at: float | None = None
    issued: int = 0
    accepted: int = 0
    rejected: int = 0
    last_scope: str | None = None
    last_audience: str | None = None
    client_auth: str | None = None
    failures: list[_Failure] = field(default_factory=list)

    def valid(self, token: str) -> bool:
        current = self.token
        if current is None or not hmac.compare_digest(token.encode(), current.encode()):
            return False
        return self.expires_at is None or time.monotonic() < self.expires_at


# Keyed by the application (which is frozen once running, so state cannot live in it).
_STATES: weakref.WeakKeyDictionary[web.Application, _OAuthState] = weakref.WeakKeyDictionary()


def _state(request: web.Request) -> _OAuthState:
    state = _STATES.get(request.app)
    if state is None:
        state = _STATES[request.app] = _OAuthState()
    return state


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = f'Basic realm="{_REALM}"'
    return _json({"error": error, "error_description": description}, status, headers)


def _client_from_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


async def _token(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    if state.failures:
        failure = state.failures[0]
        failure.times -= 1
        if failure.times <= 0:
            state.failures.pop(0)
        return _oauth_error(failure.status, failure.error, "scripted failure")
    if request.content_type != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    form = await request.post()
    header = request.headers.get("Authorization")
    if header is not None:
        client = _client_from_basic(header)
        state.client_auth = "basic"
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        client = (client_id, secret) if isinstance(client_id, str) and isinstance(secret, str) else None
        state.client_auth = "post" if client is not None else None
    if client is None or not (
        hmac.compare_digest(client[0].encode(), OAUTH_CLIENT_ID.encode())
        and hmac.compare_digest(client[1].encode(), OAUTH_CLIENT_SECRET.encode())
    ):
        return _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is offered")
    scope = form.get("scope")
    audience = form.get("audience")
    state.last_scope = scope if isinstance(scope, str) else None
    state.last_audience = audience if isinstance(audience, str) else None
    state.issued += 1
    state.token = f"tok-{state.issued}-{secrets.token_urlsafe(16)}"
    state.expires_at = None if state.expires_in is None else time.monotonic() + state.expires_in
    payload: dict[str, Any] = {"access_token": state.token, "token_type": "bearer"}
    if state.expires_in is not None:
        seconds = state.expires_in
        payload["expires_in"] = int(seconds) if seconds.is_integer() else seconds
    if state.last_scope is not None:
        payload["scope"] = state.last_scope
    return _json(payload, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _resource(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token and state.valid(token.strip()):
        state.accepted += 1
        return _json({"authenticated": True, "token_number": state.issued})
    state.rejected += 1
    challenge = f'Bearer realm="{_REALM}"'
    if scheme:
        challenge += ', error="invalid_token", error_description="the token is unknown, expired or revoked"'
    return _json({"authenticated": False}, 401, {"WWW-Authenticate": challenge})


async def _control(request: web.Request) -> web.StreamResponse:
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="the body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    state = _state(request)
    if "expires_in" in payload:
        value = payload["expires_in"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise web.HTTPBadRequest(text="expires_in must be a number of seconds >= 0, or null")
        state.expires_in = None if value is None else float(value)
    if payload.get("revoke"):
        state.token = None
        state.expires_at = None
    fail = payload.get("fail")
    if isinstance(fail, dict):
        state.failures.append(
            _Failure(int(fail.get("status", 503)), str(fail.get("error", "server_error")), int(fail.get("times", 1)))
        )
    return _json({"ok": True})


async def _stats(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    return _json(
        {
            "issued": state.issued,
            "accepted": state.accepted,
            "rejected": state.rejected,
            "last_scope": state.last_scope,
            "last_audience": state.last_audience,
            "client_auth": state.client_auth,
        }
    )


def auth_routes() -> list[web.RouteDef]:
    """The routes above, for ``create_app``."""
    return [
        web.post("/oauth/token", _token),
        web.route("*", "/oauth/resource", _resource),
        web.post("/oauth/control", _control),
        web.get("/oauth/stats", _stats),
    ]
