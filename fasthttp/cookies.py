"""Client cookie jar following RFC 6265 (plus the security parts of RFC 6265bis).

The session calls :meth:`CookieJar.store` after every response and
:meth:`CookieJar.cookie_header` before every request. Neither does I/O, and both return
at once when there is nothing to do (an empty ``Set-Cookie`` list, an empty jar).
This module imports neither aiohttp nor httpx: it deals in URL strings and header values.

What comes from the standard library's ``http.cookiejar``, and what does not:

- Parsing is the standard library's: ``parse_ns_headers`` splits a ``Set-Cookie`` value
  into the name/value pair and attributes (RFC 6265 §5.2), and ``http2time`` reads
  ``Expires`` dates. Neither is hand-written here.
- The storage and sending rules are written here (§5.3, §5.4), and we do not go
  through ``CookieJar.extract_cookies``/``add_cookie_header`` with request/response
  adapters as httpx does. Probing CPython 3.11 showed these problems in that path:
  it deletes the stored cookie named by an expired ``Set-Cookie``
  *before* the policy checks the domain (so ``evil.test`` can delete ``bank.test``'s
  session cookie); its default policy sends host-only cookies to subdomains and
  accepts ``Domain=0.0.1`` from ``127.0.0.1``; it keeps the *first* of repeated
  attributes where RFC 6265 says the last wins; it drops the whole cookie on a bad
  ``Max-Age`` where RFC 6265 says ignore the attribute; it turns a dotless host
  into ``localhost.local``; and one ``Expires`` date that ``http2time`` fails on
  (``Wed, 32 Foo 2030``: it raises instead of returning None) drops every cookie of
  the response with an "http.cookiejar bug!" warning. Here such a value is parsed
  again without its ``Expires``.

Storage (RFC 6265 §5.3):

- The key is (name, domain, path). A later cookie with the same key replaces the
  earlier one but keeps its creation time (§5.3 step 11.3).
- Without a ``Domain`` attribute a cookie is *host-only*: it goes back only to the
  exact host. This includes IP addresses and dotless hosts such as ``localhost``, and
  these keep their real name (there is no ``.local`` suffix).
- ``Domain=example.test`` (a leading dot is dropped) makes a domain cookie for
  example.test and its subdomains. It is rejected when the request host does not
  domain-match it (§5.1.3). A single-label domain (``Domain=test``) or a
  ``co.uk``-style one is treated as a public suffix: it is rejected, or made host-only
  when it equals the request host (§5.3 step 5). For an IP host, ``Domain`` must equal
  the IP. We do not ship the full Public Suffix List, so ``Domain=github.io`` from
  ``a.github.io`` is accepted.
- ``Path`` that is missing, empty or not starting with ``/`` becomes the default path
  of the request URL (§5.1.4: the directory of the path, ``/`` at most).
- ``Max-Age`` wins over ``Expires`` whatever their order. A non-numeric ``Max-Age``
  or an unreadable ``Expires`` is ignored, leaving a session cookie. Both are capped at
  400 days, as RFC 6265bis and browsers do. ``Max-Age<=0``
  or a past ``Expires`` deletes the stored cookie with the same key, but only after
  all the checks above pass. For repeated attributes, the last one wins.
- Attribute names match in any case. Quoted values are kept as is, quotes included
  (§5.2: they are part of the value), and a ``=`` inside a value is kept. A line with
  no ``=``, an empty name, control characters, or name plus value over 4096 bytes
  is ignored. Junk lines never raise.
- ``Secure`` (RFC 6265bis §5.7): a ``Secure`` cookie from a non-secure origin is
  dropped. A non-secure origin may not set or delete a cookie that would shadow a
  stored ``Secure`` cookie of the same name (the "strict secure cookies" rule).
  ``__Secure-``/``__Host-`` name prefixes are enforced as in 6265bis.
  *Secure origins* are https/wss URLs plus loopback hosts (``localhost``,
  ``*.localhost``, 127.0.0.0/8, ``::1``), which browsers treat as secure contexts:
  loopback traffic never leaves the machine, and a local test server can then use
  ``Secure`` cookies over plain http.
- Limits (RFC 6265 §6.1): at most 180 cookies per domain and 3000 in all. Past that,
  the oldest are evicted (expired ones first).

Sending (RFC 6265 §5.4):

- A cookie is sent when the host matches (the exact host for host-only cookies, and
  the domain or a subdomain for domain cookies, never a suffix of an IP address), the
  path matches (``Path=/a`` goes to ``/a``, ``/a/`` and ``/a/b``, not to ``/ab``), it
  has not expired, and it is not ``Secure`` or the target is a secure origin as
  defined above. Ports are ignored, as RFC 6265 says.
- Order: longer paths first, then earlier creation (§5.4 step 2).
- ``HttpOnly`` and ``SameSite`` are recorded but do not affect sending. A client has
  no scripts and no cross-site context.
- Expired cookies are never sent. They are removed lazily: each operation compares
  the clock to the earliest expiry in the jar.

Cookies set with :meth:`CookieJar.set` (or the constructor's mapping) and
``domain=""`` go to every host, as in aiohttp and httpx; for example, a ``--cookie``
option on the command line.

Persistence is JSON, written atomically (temp file + ``os.replace``, mode 0o600). We
use JSON rather than the stdlib's LWP or Mozilla formats because those lose
information or misbehave:

- LWP writes flag attributes such as ``HttpOnly`` as the string ``"None"``.
- ``CookieJar`` iterates sorted by domain/path/name, so creation order, the §5.4
  tie-break, is lost.
- Both formats are read and written in the locale's encoding, and saved in place
  (``O_TRUNC``), not atomically.
- Both turn unexpected input into an "http.cookiejar bug!" warning.
- The Mozilla format also drops ``HttpOnly``.

The file is ``{"format": "fasthttp-cookies", "version": 1, "cookies": [...]}`` with the
cookies in creation order. A corrupt file raises :class:`ValueError` naming the path
and the fault.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from http import cookiejar as _stdlib
from typing import Any, TypeAlias
from urllib.parse import urlsplit

__all__ = ["Cookie", "CookieConflict", "CookieJar", "DummyCookieJar"]

# Untyped in typeshed, stable since Python 2: the stdlib's Set-Cookie tokenizer (returns,
# per header, [(name, value), (attr, value-or-None), ...], with Expires already converted
# by http2time to epoch seconds or None).
_parse_ns_headers: Callable[[list[str]], list[list[tuple[str, Any]]]] = _stdlib.parse_ns_headers  # type: ignore[attr-defined]

MAX_COOKIE_SIZE = 4096  # name + value, RFC 6265bis §5.7 step 4
MAX_COOKIES_PER_DOMAIN = 180
MAX_COOKIES = 3000
MAX_LIFETIME = 400 * 86400  # RFC 6265bis §5.5/§5.6: Expires and Max-Age capped at 400 days

_FILE_FORMAT = "fasthttp-cookies"
_FILE_VERSION = 1
_SECURE_SCHEMES = frozenset({"https", "wss"})
_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_CTL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_AGE_RE = re.compile(r"-?[0-9]+")
_EXPIRES_ATTR_RE = re.compile(r";\s*expires\s*(=[^;]*)?", re.IGNORECASE)
_BAD_NAME_RE = re.compile(r"[\x00-\x20\x7f=;,]")
# Second-level labels that, under a two-letter ccTLD, form a public suffix (co.uk, com.au).
# Same heuristic as the stdlib's DefaultCookiePolicy.set_ok_domain.
_SLD_SUFFIXES = frozenset(
    {
        "co", "ac", "com", "edu", "org", "net", "gov", "mil", "int", "aero", "biz", "cat",
        "coop", "info", "jobs", "mobi", "museum", "name", "pro", "travel", "eu", "or", "ne",
        "go",
    }
)  # fmt: skip

PathArg: TypeAlias = "str | os.PathLike[str]"


class CookieConflict(ValueError):
    """``CookieJar.get`` matched several cookies; pass ``domain``/``path`` to choose."""


@dataclass(frozen=True, slots=True)
class Cookie:
    """One stored cookie. Its repr leaves out the value, which is a secret.

    ``domain`` has no leading dot. ``host_only`` marks cookies set without a Domain
    attribute (sent to that exact host only). ``domain == ""`` means any host.
    ``expires`` is a Unix timestamp, or None for a session cookie.
    """

    name: str
    value: str = field(repr=False)
    domain: str
    path: str = "/"
    secure: bool = False
    expires: float | None = None
    host_only: bool = False
    http_only: bool = False
    same_site: str | None = None

    def is_expired(self, now: float | None = None) -> bool:
        """True if the cookie has an expiry time that has passed."""
        if self.expires is None:
            return False
        return self.expires <= (time.time() if now is None else now)


# --- URL and matching helpers ------------------------------------------------------------


def _canonical_host(host: str) -> str:
    host = host.lower()
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host


def _is_ip(host: str) -> bool:
    if not host or (":" not in host and not host[-1].isdigit()):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str, is_ip: bool) -> bool:
    if is_ip:
        return ipaddress.ip_address(host).is_loopback
    return host == "localhost" or host.endswith(".localhost")


# RFC 3986 appendix B: "scheme://authority" then the path, up to '?' or '#'.
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)([^?#]*)")
_USERINFO_RE = re.compile(r"//[^/?#@]*@")


@lru_cache(maxsize=256)
def _origin(origin: str) -> tuple[bool, str, bool]:
    """(secure origin, canonical host, host is an IP) for "scheme://authority"."""
    parts = urlsplit(origin)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _SCHEMES or not host:
        raise _bad_url(origin)
    host = _canonical_host(host)
    is_ip = _is_ip(host)
    return scheme in _SECURE_SCHEMES or _is_loopback(host, is_ip), host, is_ip


def _target(url: str) -> tuple[bool, str, bool, str]:
    """(secure origin, canonical host, host is an IP, path) for an absolute URL."""
    m = _URL_RE.match(url)
    if m is None:
        raise _bad_url(url)
    return (*_origin(m[1]), m[2] or "/")


def _bad_url(url: str) -> ValueError:
    shown = url.split("?", 1)[0].split("#", 1)[0]  # the query may hold secrets
    shown = _USERINFO_RE.sub("//", shown, count=1)  # and so may user:password@
    return ValueError(f"cookies need an absolute http(s) URL, got {shown!r}")


def _domain_match(host: str, domain: str) -> bool:
    """RFC 6265 §5.1.3: host equals domain, or is a subdomain of it (never for IPs)."""
    if host == domain:
        return True
    return host.endswith(domain) and host[-len(domain) - 1] == "." and not _is_ip(host)


def _path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 §5.1.4 path-match."""
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    )


def _default_path(request_path: str) -> str:
    """RFC 6265 §5.1.4 default-path: the request path up to its last '/', at least '/'."""
    if not request_path.startswith("/"):
        return "/"
    last = request_path.rfind("/")
    return request_path[:last] if last > 0 else "/"


def _is_public_suffix(domain: str) -> bool:
    labels = domain.split(".")
    if len(labels) == 1:
        return True
    return len(labels) == 2 and len(labels[1]) == 2 and labels[0] in _SLD_SUFFIXES


def _neg_path_len(cookie: Cookie) -> int:
    return -len(cookie.path)


def _to_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- the jar -----------------------------------------------------------------------------


class CookieJar:
    """Stores cookies from Set-Cookie and returns the ones to send, following RFC 6265."""

    def __init__(
        self, cookies: Mapping[str, str] | None = None, *, path: PathArg | None = None
    ) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}  # insertion = creation order
        self._per_domain: dict[str, int] = {}
        self._next_expiry = math.inf  # no stored cookie expires before this
        self._path = path
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.load(path)
        if cookies:
            for name, value in cookies.items():
                self.set(name, value)

    # -- the two hot paths ---------------------------------------------------------------

    def store(self, url: str, set_cookie_values: Sequence[str]) -> None:
        """Store the cookies of a response's Set-Cookie values; url is the request URL."""
        if not set_cookie_values:
            return
        secure, host, is_ip, path = _target(url)
        now = time.time()
        for value in set_cookie_values:
            self._store_one(value, secure, host, is_ip, path, now)

    def cookie_header(self, url: str) -> str | None:
        """The Cookie header value to send to url (RFC 6265 §5.4), or None."""
        cookies = self._cookies
        if not cookies:
            return None
        m = _URL_RE.match(url)
        if m is None:
            raise _bad_url(url)
        secure, host, is_ip = _origin(m[1])
        path = m[2] or "/"
        if time.time() >= self._next_expiry:
            self._purge_expired()
        matched: list[Cookie] = []
        for c in cookies.values():
            d = c.domain
            if c.host_only:
                if d != host:
                    continue
            elif d and d != host and (is_ip or not host.endswith(d) or host[-len(d) - 1] != "."):
                continue
            p = c.path
            if p != path and (not path.startswith(p) or (p[-1] != "/" and path[len(p)] != "/")):
                continue
            if c.secure and not secure:
                continue
            matched.append(c)
        if not matched:
            return None
        if len(matched) > 1:
            matched.sort(key=_neg_path_len)  # stable: ties keep creation order
        return "; ".join([f"{c.name}={c.value}" for c in matched])

    # -- RFC 6265 §5.2/§5.3 ----------------------------------------------------------------

    def _store_one(
        self, header: str, secure_origin: bool, host: str, is_ip: bool, req_path: str, now: float
    ) -> None:
        try:
            parsed = _parse_ns_headers([header])
        except Exception:
            # http2time raises on some bad dates ("32 Foo 2030"); RFC 6265 says ignore
            # the Expires attribute, so parse again without it. Junk never raises.
            try:
                parsed = _parse_ns_headers([_EXPIRES_ATTR_RE.sub("", header)])
            except Exception:
                return
        if not parsed:
            return
        pairs = parsed[0]
        name, value = pairs[0]
        if not isinstance(value, str) or not name:  # §5.2 step 2: no '=' -> ignore
            return
        if len(name) + len(value) > MAX_COOKIE_SIZE or _CTL_RE.search(name + value):
            return

        expires: float | None = None
        max_age: float | None = None
        domain_attr: str | None = None
        path_attr: str | None = None
        secure = http_only = False
        same_site: str | None = None
        for attr, raw in pairs[1:]:  # later attributes overwrite earlier ones (§5.3 step 1)
            key = attr.lower()
            if key == "expires":
                if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                    expires = min(float(raw), now + MAX_LIFETIME)
            elif key == "max-age":
                text = _to_str(raw)
                if text is not None and _MAX_AGE_RE.fullmatch(text):
                    if text.startswith("-") or text.strip("0") == "":
                        max_age = -math.inf  # delta <= 0: expire now
                    else:  # no int() on huge digit strings (int max_str_digits)
                        delta = int(text) if len(text) <= 12 else MAX_LIFETIME
                        max_age = now + min(delta, MAX_LIFETIME)
            elif key == "domain":
                text = _to_str(raw)
                if text:  # §5.2.3: an empty value is ignored
                    text = text[1:] if text.startswith(".") else text
                    domain_attr = _canonical_host(text)
            elif key == "path":
                text = _to_str(raw)
                path_attr = text if text and text.startswith("/") else None
            elif key == "secure":
                secure = True
            elif key == "httponly":
                http_only = True
            elif key == "samesite":
                same_site = _to_str(raw)
        if max_age is not None:
            expires = max_age
        path = path_attr if path_attr is not None else _default_path(req_path)
        if _CTL_RE.search(path) or ";" in path:
            return

        # §5.3 steps 5-6: host-only vs domain cookie.
        host_only = True
        domain = host
        if domain_attr is not None:
            if domain_attr.startswith("[") and domain_attr.endswith("]"):
                domain_attr = domain_attr[1:-1]
            if is_ip or _is_public_suffix(domain_attr):
                if domain_attr != host:
                    return
            elif _domain_match(host, domain_attr):
                host_only = False
                domain = domain_attr
            else:
                return

        # RFC 6265bis §5.7: Secure only from secure origins; cookie prefixes.
        if secure and not secure_origin:
            return
        lowered = name.lower()
        if lowered.startswith("__secure-") and not (secure and secure_origin):
            return
        if lowered.startswith("__host-") and not (
            secure and secure_origin and host_only and path_attr == "/"
        ):
            return
        if not secure_origin and self._shadows_secure(name, domain, path):
            return

        cookie_key = (domain, path, name)
        if expires is not None and expires <= now:
            self._remove(cookie_key)  # §5.3 step 11 + "expiry in the past": delete, store nothing
            return
        self._insert(
            Cookie(
                name=name,
                value=value,
                domain=domain,
                path=path,
                secure=secure,
                expires=expires,
                host_only=host_only,
                http_only=http_only,
                same_site=same_site,
            )
        )

    def _shadows_secure(self, name: str, domain: str, path: str) -> bool:
        """6265bis strict secure: an insecure origin must not overlay a Secure cookie."""
        for c in self._cookies.values():
            if (
                c.secure
                and c.name == name
                and (
                    not c.domain
                    or _domain_match(c.domain, domain)
                    or _domain_match(domain, c.domain)
                )
                and _path_match(path, c.path)
            ):
                return True
        return False

    # -- storage primitives ------------------------------------------------------------------

    def _insert(self, cookie: Cookie) -> None:
        key = (cookie.domain, cookie.path, cookie.name)
        cookies = self._cookies
        if key in cookies:
            cookies[key] = cookie  # same slot: the replacement keeps the creation time
        else:
            cookies[key] = cookie
            count = self._per_domain.get(cookie.domain, 0) + 1
            self._per_domain[cookie.domain] = count
            if count > MAX_COOKIES_PER_DOMAIN:
                self._evict(cookie.domain)
            if len(cookies) > MAX_COOKIES:
                self._evict(None)
        if cookie.expires is not None and cookie.expires < self._next_expiry:
            self._next_expiry = cookie.expires

    def _remove(self, key: tuple[str, str, str]) -> None:
        if self._cookies.pop(key, None) is not None:
            count = self._per_domain[key[0]] - 1
            if count:
                self._per_domain[key[0]] = count
            else:
                del self._per_domain[key[0]]

    def _evict(self, domain: str | None) -> None:
        """Drop expired cookies, then the oldest one (of ``domain`` if given)."""
        before = len(self._cookies)
        self._purge_expired()
        if len(self._cookies) < before:
            return
        for key in self._cookies:
            if domain is None or key[0] == domain:
                self._remove(key)
                return

    def _purge_expired(self) -> None:
        now = time.time()
        next_expiry = math.inf
        expired: list[tuple[str, str, str]] = []
        for key, c in self._cookies.items():
            if c.expires is not None:
                if c.expires <= now:
                    expired.append(key)
                elif c.expires < next_expiry:
                    next_expiry = c.expires
        for key in expired:
            self._remove(key)
        self._next_expiry = next_expiry

    def _live(self) -> list[Cookie]:
        if time.time() >= self._next_expiry:
            self._purge_expired()
        return list(self._cookies.values())

    # -- programmatic access -----------------------------------------------------------------

    def set(self, name: str, value: str, *, domain: str = "", path: str = "/") -> None:
        """Set a cookie. ``domain=""`` sends it to every host; a domain also covers subdomains.

        Raises ValueError for a name, value, domain or path that could not be sent safely.
        """
        if not name or _BAD_NAME_RE.search(name):
            raise ValueError(f"invalid cookie name {name!r}")
        if _CTL_RE.search(value) or ";" in value:
            raise ValueError(f"invalid value for cookie {name!r} (control character or ';')")
        if not path.startswith("/") or _CTL_RE.search(path) or ";" in path:
            raise ValueError(f"invalid cookie path {path!r}: must start with '/'")
        domain = self._norm_domain(domain)
        if domain and (_BAD_NAME_RE.search(domain) or "/" in domain):
            raise ValueError(f"invalid cookie domain {domain!r}")
        if len(name) + len(value) > MAX_COOKIE_SIZE:
            raise ValueError(f"cookie {name!r} is larger than {MAX_COOKIE_SIZE} bytes")
        self._insert(Cookie(name=name, value=value, domain=domain, path=path))

    def get(
        self,
        name: str,
        default: str | None = None,
        *,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of the cookie called name, or default.

        Raises CookieConflict if several cookies match; narrow with domain/path.
        """
        found = self._select(name, domain, path)
        if not found:
            return default
        if len(found) > 1:
            where = ", ".join(f"{c.domain or '*'}{c.path}" for c in found)
            raise CookieConflict(f"several cookies named {name!r} ({where}); pass domain/path")
        return found[0].value

    def delete(self, name: str, *, domain: str | None = None, path: str | None = None) -> None:
        """Delete the cookies called name (restricted to domain/path if given), if any."""
        for c in self._select(name, domain, path):
            self._remove((c.domain, c.path, c.name))

    def clear(self, domain: str | None = None) -> None:
        """Delete every cookie, or those whose domain is exactly domain."""
        if domain is None:
            self._cookies.clear()
            self._per_domain.clear()
            self._next_expiry = math.inf
            return
        domain = self._norm_domain(domain)
        for key in [k for k in self._cookies if k[0] == domain]:
            self._remove(key)

    def clear_expired(self) -> None:
        """Delete expired cookies now (it also happens lazily on every operation)."""
        self._purge_expired()

    @staticmethod
    def _norm_domain(domain: str) -> str:
        domain = _canonical_host(domain.strip())
        return domain[1:] if domain.startswith(".") else domain

    def _select(self, name: str, domain: str | None, path: str | None) -> list[Cookie]:
        want_domain = None if domain is None else self._norm_domain(domain)
        return [
            c
            for c in self._live()
            if c.name == name
            and (want_domain is None or c.domain == want_domain)
            and (path is None or c.path == path)
        ]

    def __len__(self) -> int:
        return len(self._live())

    def __iter__(self) -> Iterator[Cookie]:
        return iter(self._live())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(c.name == name for c in self._live())

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs in creation order."""
        return [(c.name, c.value) for c in self._live()]

    def as_dict(self) -> dict[str, str]:
        """{name: value}; when several cookies share a name, the latest created wins."""
        return dict(self.items())

    def __repr__(self) -> str:
        cookies = self._live()
        domains = ", ".join(dict.fromkeys(c.domain or "*" for c in cookies))
        noun = "cookie" if len(cookies) == 1 else "cookies"
        suffix = f" for {domains}" if domains else ""
        return f"<{type(self).__name__} {len(cookies)} {noun}{suffix}>"

    # -- persistence ---------------------------------------------------------------------

    def _resolve(self, path: PathArg | None) -> str:
        target = path if path is not None else self._path
        if target is None:
            raise ValueError("no cookie file: pass path= here or to CookieJar()")
        return os.fspath(target)

    def save(self, path: PathArg | None = None, *, ignore_discard: bool = True) -> None:
        """Write the cookies to path (default: the constructor's), atomically, mode 0o600.

        Session cookies are written too unless ignore_discard is False. Blocking file I/O:
        call it outside the event loop's hot path (or in a thread).
        """
        target = self._resolve(path)
        records = [
            {
                "name": c.name,
                "value": c.value,
                "domain": c.domain,
                "path": c.path,
                "host_only": c.host_only,
                "secure": c.secure,
                "http_only": c.http_only,
                "same_site": c.same_site,
                "expires": c.expires,
            }
            for c in self._live()
            if ignore_discard or c.expires is not None
        ]
        text = json.dumps(
            {"format": _FILE_FORMAT, "version": _FILE_VERSION, "cookies": records},
            indent=1,
            ensure_ascii=True,
        )
        directory = os.path.dirname(os.path.abspath(target))
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def load(self, path: PathArg | None = None) -> None:
        """Add the cookies saved in path (default: the constructor's); expired ones are skipped.

        Raises FileNotFoundError if the file is missing and ValueError if it is corrupt
        (nothing is loaded then). Blocking file I/O.
        """
        target = self._resolve(path)
        with open(target, "rb") as f:
            raw = f.read()
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cookie file {target!r} is not valid JSON: {exc}") from None
        cookies = _parse_file(data, target)
        now = time.time()
        for cookie in cookies:
            if not cookie.is_expired(now):
                self._insert(cookie)


def _parse_file(data: object, target: str) -> list[Cookie]:
    def fail(what: str) -> ValueError:
        return ValueError(f"cookie file {target!r} is corrupt: {what}")

    if not isinstance(data, dict) or data.get("format") != _FILE_FORMAT:
        raise fail(f"not a {_FILE_FORMAT} file (missing or wrong 'format')")
    if data.get("version") != _FILE_VERSION:
        raise fail(f"unsupported version {data.get('version')!r} (expected {_FILE_VERSION})")
    records = data.get("cookies")
    if not isinstance(records, list):
        raise fail("'cookies' must be a list")
    out: list[Cookie] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise fail(f"cookies[{i}] is not an object")
        for key in ("name", "value", "domain", "path"):
            if not isinstance(rec.get(key), str):
                raise fail(f"cookies[{i}].{key} must be a string")
        for key in ("host_only", "secure", "http_only"):
            if not isinstance(rec.get(key, False), bool):
                raise fail(f"cookies[{i}].{key} must be true or false")
        expires = rec.get("expires")
        if expires is not None and (
            isinstance(expires, bool) or not isinstance(expires, (int, float))
        ):
            raise fail(f"cookies[{i}].expires must be a number or null")
        same_site = rec.get("same_site")
        if same_site is not None and not isinstance(same_site, str):
            raise fail(f"cookies[{i}].same_site must be a string or null")
        name, value, path = rec["name"], rec["value"], rec["path"]
        if not name or _CTL_RE.search(name) or "=" in name or ";" in name:
            raise fail(f"cookies[{i}].name is not a valid cookie name")
        if _CTL_RE.search(value) or ";" in value:
            raise fail(f"cookies[{i}].value contains a control character or ';'")
        if not path.startswith("/") or _CTL_RE.search(path):
            raise fail(f"cookies[{i}].path must start with '/'")
        out.append(
            Cookie(
                name=name,
                value=value,
                domain=rec["domain"],
                path=path,
                secure=rec.get("secure", False),
                expires=None if expires is None else float(expires),
                host_only=rec.get("host_only", False),
                http_only=rec.get("http_only", False),
                same_site=same_site,
            )
        )
    return out


class DummyCookieJar(CookieJar):
    """A jar that stores nothing and sends nothing (like aiohttp's DummyCookieJar)."""

    def store(self, url: str, set_cookie_values: Sequence[str]) -> None:
        """Ignore the cookies."""

    def cookie_header(self, url: str) -> str | None:
        """Always None."""
        return None

    def set(self, name: str, value: str, *, domain: str = "", path: str = "/") -> None:
        """Ignore the cookie."""

    def load(self, path: PathArg | None = None) -> None:
        """Load nothing."""

    def save(self, path: PathArg | None = None, *, ignore_discard: bool = True) -> None:
        """Save nothing (never overwrite a real cookie file with an empty one)."""
