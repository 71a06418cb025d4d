"""HTTP Digest authentication (RFC 7616), with the WWW-Authenticate parser."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from yarl import URL

from ..models import Request
from ..security.redact import REDACTED, mask_url
from .base import (
    AuthError,
    Send,
    _discard,
    _origin,
)

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["DigestAuth", "parse_challenges"]

log = logging.getLogger("fasthttp.auth")


_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_BARE_VALUE = re.compile(r"[^\s,]*")
_UNESCAPE = re.compile(r"\\(.)")

# RFC 7616 section 6.1 algorithms, plus SHA-512 (not registered, but served by some servers).
_DIGEST_HASHES: Mapping[str, str] = {
    "MD5": "md5",
    "SHA-256": "sha256",
    "SHA-512-256": "sha512_256",
    "SHA-512": "sha512",
}
_MAX_REMEMBERED = 256


def parse_challenges(values: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """``WWW-Authenticate`` field values -> ``[(scheme, {param: value})]``, schemes and
    parameter names lower-cased, quoted values unescaped (RFC 9110 section 11.6.1).
    Several challenges may share one field value; unparsable parts are skipped."""
    challenges: list[tuple[str, dict[str, str]]] = []
    for value in values:
        current: dict[str, str] | None = None
        pos, end = 0, len(value)
        while pos < end:
            while pos < end and value[pos] in " \t,":
                pos += 1
            match = _TOKEN_CHARS.match(value, pos)
            if match is None:
                pos += 1
                continue
            name, pos = match.group(), match.end()
            after = pos
            while after < end and value[after] in " \t":
                after += 1
            if after < end and value[after] == "=":  # an auth-param of the current challenge
                pos = after + 1
                while pos < end and value[pos] in " \t":
                    pos += 1
                quoted = _QUOTED.match(value, pos)
                if quoted is not None:
                    param, pos = _UNESCAPE.sub(r"\1", quoted.group(1)), quoted.end()
                else:
                    bare = _BARE_VALUE.match(value, pos)
                    assert bare is not None  # the pattern matches the empty string
                    param, pos = bare.group(), bare.end()
                if current is not None:
                    current.setdefault(name.lower(), param)
            else:  # a new challenge: its scheme
                current = {}
                challenges.append((name.lower(), current))
                pos = after
    return challenges


def _cnonce() -> str:
    return secrets.token_hex(16)


def _quote_param(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _DigestChallenge:
    """One Digest challenge, and how many times its nonce has been used (``nc``)."""

    __slots__ = ("algorithm", "domain", "hash_name", "nc", "nonce", "opaque", "qop", "realm", "session", "userhash")

    def __init__(self, params: dict[str, str]) -> None:
        self.realm = params.get("realm", "")
        self.nonce = params["nonce"]
        self.opaque = params.get("opaque")
        self.algorithm = params.get("algorithm")  # echoed as given; absent means MD5
        name = (self.algorithm or "MD5").upper()
        self.session = name.endswith("-SESS")
        self.hash_name = _DIGEST_HASHES[name.removesuffix("-SESS")]
        offered = [q.strip().lower() for q in params["qop"].split(",")] if "qop" in params else []
        if not offered:
            self.qop: str | None = None  # RFC 2069 compatibility
        elif "auth" in offered:
            self.qop = "auth"
        elif "auth-int" in offered:
            self.qop = "auth-int"
        else:
            raise ValueError(f"qop {params['qop']!r}")
        self.userhash = params.get("userhash", "").lower() == "true"
        self.domain = tuple(params.get("domain", "").split())
        self.nc = 0

    def covers(self, url: URL) -> bool:
        """True when ``url`` is in the challenge's protection space (``domain``, else the origin)."""
        if not self.domain:
            return True
        path = url.raw_path
        for entry in self.domain:
            try:
                target = URL(entry)
            except (ValueError, TypeError):
                continue
            if target.is_absolute():
                if _origin(target) != _origin(url):
                    continue
                prefix = target.raw_path
            else:
                prefix = entry
            if path.startswith(prefix):
                return True
        return False


class DigestAuth:
    """HTTP Digest (RFC 7616): answer a ``WWW-Authenticate: Digest`` challenge.

    The first request to an origin goes out bare; its 401 challenge is answered by
    sending the request once more with ``Authorization: Digest ...``. The challenge
    is remembered per origin, so later requests there send credentials up front
    (``nc`` counts the uses of the nonce); a ``stale=true`` answer is retried once
    with the new nonce. Algorithms MD5, SHA-256, SHA-512-256 (and SHA-512), each
    with its ``-sess`` variant; qop ``auth`` and ``auth-int``; ``userhash``.
    The body must be bytes (it may be sent twice), or AuthError is raised.
    """

    __slots__ = ("_challenges", "_password", "username")

    def __init__(self, username: str, password: str) -> None:
        if not isinstance(username, str) or not isinstance(password, str):
            raise TypeError("DigestAuth(username, password) takes two strings.")
        self.username = username
        self._password = password
        self._challenges: dict[tuple[str, str | None, int | None], _DigestChallenge] = {}

    def __repr__(self) -> str:
        return f"DigestAuth(username={self.username!r}, password={REDACTED})"

    async def __call__(self, request: Request, send: Send) -> Response:
        if not request.is_replayable:
            raise AuthError(
                f"DigestAuth cannot send {request.method} {mask_url(request.url)}: its body is streamed, and "
                "Digest may have to send it twice (the first answer can be a 401 challenge). "
                "Pass the body as bytes, or use BasicAuth/BearerAuth.",
                request=request,
            )
        origin = _origin(request.url)
        known = self._challenges.get(origin)
        if known is not None and known.covers(request.url):
            request.headers["Authorization"] = self._authorization(request, known)
        response = await send(request)
        answered = stale_retried = False
        while response.status_code == 401:
            challenge = self._challenge_of(request, response)
            if challenge is None:
                break  # a 401 without a Digest challenge: nothing to answer
            if not answered:
                answered = True
            elif challenge.stale and not stale_retried:
                stale_retried = True  # right password, expired nonce: once more with the new one
            else:
                break  # the credentials were refused
            digest = challenge.challenge
            self._remember(origin, digest)
            log.debug(
                "answering the Digest challenge of %s (algorithm=%s, qop=%s%s)",
                mask_url(request.url),
                digest.algorithm or "MD5",
                digest.qop,
                ", stale nonce" if challenge.stale else "",
            )
            await _discard(response)
            retry = request.copy_with()
            retry.headers["Authorization"] = self._authorization(retry, digest)
            response = await send(retry)
        return response

    def _remember(self, origin: tuple[str, str | None, int | None], challenge: _DigestChallenge) -> None:
        self._challenges.pop(origin, None)
        if len(self._challenges) >= _MAX_REMEMBERED:
            self._challenges.pop(next(iter(self._challenges)))
        self._challenges[origin] = challenge

    @staticmethod
    def _challenge_of(request: Request, response: Response) -> _ParsedChallenge | None:
        """The first Digest challenge we can answer; AuthError if there are only ones we cannot."""
        refused: list[str] = []
        for scheme, params in parse_challenges(response.headers.getall("www-authenticate", ())):
            if scheme != "digest" or "nonce" not in params:
                continue
            try:
                challenge = _DigestChallenge(params)
            except KeyError:
                refused.append(f"algorithm={params.get('algorithm')}")
                continue
            except ValueError:
                refused.append(f"qop={params.get('qop')}")
                continue
            return _ParsedChallenge(challenge, params.get("stale", "").lower() == "true")
        if refused:
            raise AuthError(
                f"{mask_url(request.url)} asks for Digest authentication with {', '.join(refused)}, "
                f"which DigestAuth does not support (algorithms: {', '.join(_DIGEST_HASHES)}, each also -sess; "
                "qop: auth, auth-int).",
                request=request,
            )
        return None

    def _authorization(self, request: Request, challenge: _DigestChallenge) -> str:
        """The ``Authorization: Digest ...`` value for ``request`` (uses the next ``nc``)."""
        hash_name = challenge.hash_name

        def h(text: str | bytes) -> str:
            data = text.encode() if isinstance(text, str) else text
            return hashlib.new(hash_name, data, usedforsecurity=False).hexdigest()

        challenge.nc += 1
        nc = f"{challenge.nc:08x}"
        cnonce = _cnonce()
        uri = request.url.raw_path_qs
        realm, nonce = challenge.realm, challenge.nonce
        ha1 = h(f"{self.username}:{realm}:{self._password}")
        if challenge.session:
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        if challenge.qop == "auth-int":
            ha2 = h(f"{request.method}:{uri}:{h(request.body or b'')}")
        else:
            ha2 = h(f"{request.method}:{uri}")
        if challenge.qop is None:
            response = h(f"{ha1}:{nonce}:{ha2}")
        else:
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{challenge.qop}:{ha2}")
        if challenge.userhash:
            user = f"username={_quote_param(h(f'{self.username}:{realm}'))}"
        elif self.username.isascii() and self.username.isprintable():
            user = f"username={_quote_param(self.username)}"
        else:  # RFC 7616 section 3.4.4: username* in RFC 8187 encoding
            user = f"username*=UTF-8''{quote(self.username, safe='')}"
        parts = [user, f"realm={_quote_param(realm)}", f"nonce={_quote_param(nonce)}", f"uri={_quote_param(uri)}"]
        if challenge.algorithm is not None:
            parts.append(f"algorithm={challenge.algorithm}")
        parts.append(f'response="{response}"')
        if challenge.opaque is not None:
            parts.append(f"opaque={_quote_param(challenge.opaque)}")
        if challenge.qop is not None:
            parts.extend((f"qop={challenge.qop}", f"nc={nc}", f'cnonce="{cnonce}"'))
        if challenge.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


class _ParsedChallenge:
    __slots__ = ("challenge", "stale")

    def __init__(self, challenge: _DigestChallenge, stale: bool) -> None:
        self.challenge = challenge
        self.stale = stale
