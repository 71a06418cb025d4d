"""Authentication: objects that add credentials to a request, and may answer a challenge.

An auth is any object with ``async def __call__(self, request, send) -> Response``,
where ``send(request)`` sends one request through the rest of the pipeline
(middleware, security, transport). The session calls it for every hop whose origin
is the one the request started with, so credentials never follow a redirect to
another origin. ``auth=`` accepts None, a ``(user, password)`` tuple (Basic), or
an auth object.

Rules every auth here keeps:

- **One retry at most.** A challenge (401) is answered by sending the request
  again once; Digest may add one more send for a ``stale=true`` challenge
  (RFC 7616 section 3.3). A request whose body was streamed cannot be sent twice:
  Digest refuses it up front (``AuthError``); the token auths return the 401.
- **Single flight.** A token (``BearerAuth`` with a provider,
  ``OAuth2ClientCredentials``) is fetched by one task while the others wait for
  it under an ``asyncio.Lock``; a fetch that fails fails every task that was
  waiting for it, so a broken token endpoint costs one request, not one per task.
  After a 401 the token is replaced only if it is still the one that failed, so
  1,000 concurrent 401s cause one refresh, not 1,000.
- **Token requests go through ``send``** (middleware, SSRF policy, transport) but
  never through an auth: they carry only the client's own credentials.
- **Secrets never leak.** ``repr`` shows ``[REDACTED]`` for passwords, tokens and
  client secrets; log lines (logger ``fasthttp.auth``, DEBUG) and error messages
  name URLs through ``mask_url`` and never contain a credential.
"""

from __future__ import annotations

from typing import Any

from .base import Auth, AuthError, AuthTypes, Send, TokenProvider
from .basic import BasicAuth
from .bearer import BearerAuth
from .digest import DigestAuth, parse_challenges
from .oauth2 import OAuth2ClientCredentials

__all__ = [
    "Auth",
    "AuthError",
    "AuthTypes",
    "BasicAuth",
    "BearerAuth",
    "DigestAuth",
    "OAuth2ClientCredentials",
    "Send",
    "TokenProvider",
    "coerce_auth",
    "parse_challenges",
]


def coerce_auth(auth: Any) -> Auth | None:
    """``auth=`` values -> an Auth object (or None)."""
    if auth is None:
        return None
    from ..compat import explain_foreign_value

    explain_foreign_value("auth", auth)  # aiohttp.BasicAuth, httpx.BasicAuth...: name ours
    if isinstance(auth, tuple):
        if len(auth) != 2 or not all(isinstance(part, str) for part in auth):
            raise TypeError("auth= as a tuple must be (username, password), both strings.")
        return BasicAuth(auth[0], auth[1])
    if isinstance(auth, type):
        raise TypeError(f"auth= got the class {auth.__name__}; pass an instance, e.g. {auth.__name__}(...).")
    if not callable(auth):
        raise TypeError(
            "auth= must be a (username, password) tuple or an auth object such as BasicAuth, "
            f"BearerAuth or DigestAuth; got {type(auth).__name__}."
        )
    result: Auth = auth
    return result
