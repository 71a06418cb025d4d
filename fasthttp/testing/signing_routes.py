"""RFC 9421 signature verification endpoints of the embedded test server.

- ``ANY /signed`` and ``ANY /signed/{tail}``: verify the request's HMAC-SHA256
  signature with ``fasthttp.security.signing.verify_signature`` against the key
  the test configured (``configure_signing(server, key, key_id)``). 200 with
  ``{"verified": true, "keyid", "nonce", "created", "expires", "covered", "tag",
  "alg", "label", "method", "path", "body_length"}``; 401 with
  ``{"verified": false, "reason": <SignatureError.reason>, "error": <its sentence>}``
  and a ``WWW-Authenticate: Signature`` challenge when the signature is missing,
  expired, replayed, tampered with or made with an unknown key; 500 when no key
  was configured for this server (a test set-up mistake, said in the body).
- Replay protection: every configured server keeps one ``NonceCache``, so a
  ``(keyid, nonce)`` pair is accepted once within ``max_age``; a second request
  carrying it is refused as ``"replayed nonce"``.
- ``signing_stats(server)`` reports how many requests were accepted and refused
  and the last refusal's reason, without a request.

Configuration is kept per server object (the ``LocalServer``, or the
``aiohttp.web.Application`` when the routes are mounted on an app without one),
in a weak dictionary, so every ``serve()`` starts unconfigured. Register with
``routes.extend(signing_routes())`` in ``create_app``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from ..exceptions import SignatureError
from ..security.signing import NonceCache, SignatureInfo, verify_signature

__all__ = ["SigningConfig", "SigningStats", "configure_signing", "signing_routes", "signing_stats"]

_DEFAULT_KEY_ID = "fasthttp"  # the key id AsyncSession(secret_key=...) signs with
_REQUIRED: tuple[str, ...] = ("@method", "@authority", "@path", "@query")


@dataclass
class SigningStats:
    """What the verifier of one server did so far."""

    accepted: int = 0
    rejected: int = 0
    last_reason: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class SigningConfig:
    """The keys, window and replay cache of one server's verifier."""

    keys: dict[str, bytes]
    max_age: float
    tag: str | None
    required_components: tuple[str, ...]
    clock: Callable[[], float]
    nonce_cache: NonceCache
    stats: SigningStats = field(default_factory=SigningStats)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, keyid: str) -> bytes | None:
        """The secret configured for ``keyid`` (None: unknown key)."""
        return self.keys.get(keyid)


# Keyed by the LocalServer (or the Application): weak, so a stopped server's state goes with it.
_CONFIGS: weakref.WeakKeyDictionary[Any, SigningConfig] = weakref.WeakKeyDictionary()


def configure_signing(
    server: object,
    key: bytes,
    key_id: str = _DEFAULT_KEY_ID,
    *,
    max_age: float = 300.0,
    tag: str | None = None,
    required_components: Sequence[str] = _REQUIRED,
    clock: Callable[[], float] = time.time,
) -> SigningConfig:
    """Make ``/signed`` on ``server`` verify signatures made with ``key`` under ``key_id``.

    Calling it again for the same server adds (or replaces) a key and keeps the
    replay cache and the counters; ``max_age``, ``tag``, ``required_components``
    and ``clock`` are taken from the latest call. ``server`` is the ``LocalServer``
    from ``serve()``/``serve_in_thread()``, or the ``web.Application`` the routes are
    mounted on."""
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise TypeError("configure_signing() needs the shared secret as non-empty bytes.")
    if not max_age > 0:
        raise ValueError(f"configure_signing() max_age={max_age!r} must be a positive number of seconds.")
    config = _CONFIGS.get(server)
    if config is None:
        config = SigningConfig(
            keys={},
            max_age=max_age,
            tag=tag,
            required_components=tuple(required_components),
            clock=clock,
            nonce_cache=NonceCache(ttl=max_age, clock=clock),
        )
        _CONFIGS[server] = config
    else:
        config.max_age = max_age
        config.tag = tag
        config.required_components = tuple(required_components)
        config.clock = clock
    config.keys[key_id] = bytes(key)
    return config


def signing_stats(server: object) -> SigningStats:
    """The verifier's counters for ``server`` (all zero when it was never configured)."""
    config = _CONFIGS.get(server)
    return config.stats if config is not None else SigningStats()


def _config_for(app: web.Application) -> SigningConfig | None:
    from .app import SERVER_KEY  # imported late: app.py imports this module to register the routes

    server = app.get(SERVER_KEY)
    if server is not None:
        config = _CONFIGS.get(server)
        if config is not None:
            return config
    return _CONFIGS.get(app)


def _json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers)


def _accepted(info: SignatureInfo, request: web.Request, body: bytes) -> dict[str, Any]:
    return {
        "verified": True,
        "label": info.label,
        "keyid": info.keyid,
        "nonce": info.nonce,
        "created": info.created,
        "expires": info.expires,
        "tag": info.tag,
        "alg": info.alg,
        "covered": list(info.covered),
        "method": request.method,
        "path": request.path,
        "body_length": len(body),
    }


async def _signed(request: web.Request) -> web.StreamResponse:
    config = _config_for(request.app)
    if config is None:
        return _json(
            {
                "verified": False,
                "reason": "not configured",
                "error": "No signing key is configured for this server: call "
                "fasthttp.testing.signing_routes.configure_signing(server, key) first.",
            },
            500,
        )
    body = await request.read()
    try:
        with config.lock:  # the nonce cache is shared by every request to this server
            info = verify_signature(
                method=request.method,
                url=request.url,
                headers=request.headers,
                body=body,
                key=config.key_for,
                max_age=config.max_age,
                clock=config.clock,
                nonce_cache=config.nonce_cache,
                required_components=config.required_components,
                tag=config.tag,
            )
    except SignatureError as exc:
        config.stats.rejected += 1
        config.stats.last_reason = exc.reason
        config.stats.reasons.append(exc.reason)
        return _json(
            {"verified": False, "reason": exc.reason, "error": str(exc)},
            401,
            {"WWW-Authenticate": 'Signature realm="fasthttp"'},
        )
    config.stats.accepted += 1
    return _json(_accepted(info, request, body))


def signing_routes() -> list[web.RouteDef]:
    """The routes above, for ``create_app`` (``routes.extend(signing_routes())``)."""
    return [
        web.route("*", "/signed", _signed),
        web.route("*", "/signed/{tail:.*}", _signed),
    ]
