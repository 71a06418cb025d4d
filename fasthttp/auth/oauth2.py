"""OAuth 2.0 client credentials (RFC 6749 section 4.4) with a single-flight token cache."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, urlencode

from yarl import URL

from ..exceptions import SecurityError, TransportError
from ..models import Headers, Request
from ..security.redact import REDACTED, mask_url
from .base import (
    AuthError,
    Send,
    _check_token,
    _discard,
    _retry,
    _TokenCache,
)

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["OAuth2ClientCredentials"]

log = logging.getLogger("fasthttp.auth")


_OAUTH_HINTS = {
    "invalid_client": "check client_id and client_secret",
    "unauthorized_client": "this client may not use the client_credentials grant",
    "invalid_scope": "check the scopes requested",
    "invalid_grant": "the authorization server refused the grant",
    "unsupported_grant_type": "the server does not offer the client_credentials grant",
    "invalid_request": "the server found the token request malformed",
}


class OAuth2ClientCredentials:
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4) as a Bearer auth.

    The first request fetches a token: ``POST token_url`` with the form
    ``grant_type=client_credentials`` (plus ``scope`` and ``audience`` if given),
    the client authenticated by HTTP Basic (RFC 6749 section 2.3.1). The token is
    cached until ``expires_in - refresh_margin`` seconds by ``clock`` (the margin is
    at most half the lifetime), or until a 401 when the server gives no
    ``expires_in``. One task fetches while the others wait; a 401 from the resource
    replaces the token (once, however many requests got it) and retries once.
    Token endpoint failures raise ``AuthError`` naming the status and OAuth error.

    ``token_url`` may be relative (``"/oauth/token"``): it is then resolved
    against the URL of the request being authenticated.
    """

    __slots__ = (
        "_cache",
        "_client_auth",
        "_client_secret",
        "_token_url",
        "audience",
        "client_id",
        "refresh_margin",
        "scopes",
        "token_url",
    )

    def __init__(
        self,
        token_url: str | URL,
        client_id: str,
        client_secret: str,
        scopes: Iterable[str] | str = (),
        *,
        audience: str | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            raise TypeError("OAuth2ClientCredentials client_id and client_secret must be strings.")
        if not client_id:
            raise ValueError("OAuth2ClientCredentials client_id is empty.")
        self.token_url = str(token_url)
        parsed = URL(self.token_url)
        if parsed.is_absolute():
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ValueError(
                    f"OAuth2ClientCredentials token_url={mask_url(parsed)!r} must be an http(s) URL "
                    "or a path like '/oauth/token'."
                )
            if parsed.user is not None:
                raise ValueError(
                    f"OAuth2ClientCredentials token_url={mask_url(parsed)!r} has credentials in it; "
                    "pass them as client_id and client_secret instead."
                )
        elif not self.token_url.startswith("/"):
            raise ValueError(
                f"OAuth2ClientCredentials token_url={mask_url(self.token_url)!r} must be an absolute http(s) URL "
                "or a path starting with '/'."
            )
        self._token_url = parsed
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes: tuple[str, ...] = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        if any(not isinstance(s, str) or not s or s != "".join(s.split()) for s in self.scopes):
            raise ValueError("OAuth2ClientCredentials scopes must be non-empty strings without spaces.")
        self.audience = audience
        if isinstance(refresh_margin, bool) or not isinstance(refresh_margin, (int, float)) or refresh_margin < 0:
            raise ValueError(f"refresh_margin={refresh_margin!r} must be a number of seconds >= 0.")
        self.refresh_margin = float(refresh_margin)
        # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
        pair = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
        self._client_auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self._cache = _TokenCache(clock)

    def __repr__(self) -> str:
        scopes = f", scopes={self.scopes!r}" if self.scopes else ""
        audience = f", audience={self.audience!r}" if self.audience is not None else ""
        return (
            f"OAuth2ClientCredentials(token_url={mask_url(self.token_url)!r}, client_id={self.client_id!r}, "
            f"client_secret={REDACTED}{scopes}{audience})"
        )

    def invalidate(self) -> None:
        """Forget the cached token: the next request fetches a new one."""
        token = self._cache.current()
        if token is not None:
            self._cache.invalidate(token)

    async def __call__(self, request: Request, send: Send) -> Response:
        def fetch() -> Awaitable[tuple[str, float | None]]:
            return self._fetch_token(request, send)

        token = await self._cache.get(fetch)
        request.headers["Authorization"] = f"Bearer {token}"
        response = await send(request)
        if response.status_code != 401:
            return response
        if not request.is_replayable:
            self._cache.invalidate(token)
            return response
        await _discard(response)
        log.debug("401 from %s: replacing the OAuth2 token and retrying once", mask_url(request.url))
        fresh = await self._cache.replace(token, fetch)
        return await send(_retry(request, f"Bearer {fresh}"))

    async def _fetch_token(self, request: Request, send: Send) -> tuple[str, float | None]:
        url = self._token_url if self._token_url.is_absolute() else request.url.join(self._token_url)
        form = [("grant_type", "client_credentials")]
        if self.scopes:
            form.append(("scope", " ".join(self.scopes)))
        if self.audience is not None:
            form.append(("audience", self.audience))
        headers = Headers(
            {
                "Authorization": self._client_auth,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            }
        )
        agent = request.headers.get("user-agent")
        if agent is not None:
            headers["User-Agent"] = agent
        token_request = Request("POST", url, headers=headers, content=urlencode(form).encode(), timeout=request.timeout)
        where = f"The OAuth2 token request to {mask_url(url)} for client_id {self.client_id!r}"
        log.debug("fetching an OAuth2 token from %s", mask_url(url))
        try:
            response = await send(token_request)
        except SecurityError:
            raise
        except TransportError as exc:
            raise AuthError(f"{where} failed: {self._scrub(str(exc))}", request=request) from exc
        if response.status_code != 200:
            raise self._refusal(where, request, response)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise AuthError(
                f"{where} answered 200 but its body is not a JSON object.", request=request, status_code=200
            )
        token_type = payload.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise AuthError(
                f"{where} returned a token of type {token_type!r}; only bearer tokens are supported.",
                request=request,
                status_code=200,
            )
        token = _check_token(payload.get("access_token"), f"{where} returned an access_token that")
        lifetime = self._lifetime(payload.get("expires_in"))
        log.debug(
            "fetched an OAuth2 token from %s (%s)",
            mask_url(url),
            "no expiry given" if lifetime is None else f"reused for {lifetime:g} s",
        )
        return token, lifetime

    def _lifetime(self, expires_in: object) -> float | None:
        if isinstance(expires_in, str):
            try:
                expires_in = float(expires_in)
            except ValueError:
                return None
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
            return None
        seconds = max(float(expires_in), 0.0)
        return seconds - min(self.refresh_margin, seconds / 2)

    def _scrub(self, text: str) -> str:
        """Server-supplied text, cut short and with the client secret removed if echoed."""
        text = text[:300]
        if self._client_secret:
            text = text.replace(self._client_secret, REDACTED)
        return text

    def _refusal(self, where: str, request: Request, response: Response) -> AuthError:
        error: str | None = None
        description = ""
        try:
            payload = response.json()
        except Exception:
            payload = None
        if isinstance(payload, dict):
            if isinstance(payload.get("error"), str):
                error = self._scrub(payload["error"])
            if isinstance(payload.get("error_description"), str):
                description = self._scrub(payload["error_description"])
        detail = f" with error={error!r}" if error else ""
        if description:
            detail += f" ({description})"
        if error in _OAUTH_HINTS:
            hint = _OAUTH_HINTS[error]
        elif response.status_code >= 500:
            hint = "the token endpoint failed; try again later"
        else:
            hint = "check token_url and the client's registration"
        return AuthError(
            f"{where} failed: the token endpoint answered {response.status_code} {response.reason}{detail}; {hint}.",
            request=request,
            status_code=response.status_code,
            error=error,
        )
