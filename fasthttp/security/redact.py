"""Secret masking: the one place that decides what a log line, repr or error may show.

Rules (from shared/reliability/RESEARCH.md section 5):
- header values of credential-bearing headers are replaced by ``[REDACTED]``;
  for ``Authorization``-style headers the scheme is kept (``Bearer [REDACTED]``);
- URL userinfo (both user and password) becomes ``[REDACTED]@``;
- values of secret-looking query parameters become ``[REDACTED]``, keys are kept;
- the replacement is a constant, so the length of a secret never leaks;
- masking never raises: on input it cannot parse it masks the whole value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "is_secret_header",
    "is_secret_param",
    "mask_header_value",
    "mask_headers",
    "mask_url",
]

REDACTED = "[REDACTED]"

_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-amz-security-token",
        "x-goog-api-key",
        "signature",
        "signature-input",
        "x-csrf-token",
        "x-xsrf-token",
    }
)
_SECRET_HEADER_PARTS = ("token", "secret", "password", "passwd", "apikey", "api-key", "session", "credential")
_SCHEMED_HEADERS = frozenset({"authorization", "proxy-authorization"})

_SECRET_PARAMS = frozenset(
    {
        "api_key", "apikey", "api-key", "key", "token", "access_token", "refresh_token", "id_token",
        "client_secret", "code", "password", "passwd", "pwd", "secret", "signature", "sig", "auth",
        "credentials", "private_key", "privatekey", "session", "sessionid", "sid", "sessid", "phpsessid",
        "jsessionid", "csrftoken", "csrf_token",
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "awsaccesskeyid", "x-goog-signature",
    }
)
_SECRET_PARAM_PARTS = ("token", "secret", "password", "passwd", "apikey", "api_key", "signature", "sessid", "session")

_header_cache: dict[str, bool] = {}


def is_secret_header(name: str) -> bool:
    """True when a header of this name carries credentials (case-insensitive)."""
    cached = _header_cache.get(name)
    if cached is not None:
        return cached
    lower = name.lower()
    secret = lower in _SECRET_HEADERS or any(part in lower for part in _SECRET_HEADER_PARTS)
    if len(_header_cache) < 4096:
        _header_cache[name] = secret
    return secret


def is_secret_param(name: str) -> bool:
    """True when a query parameter of this name carries a secret (case-insensitive)."""
    lower = name.lower()
    return lower in _SECRET_PARAMS or any(part in lower for part in _SECRET_PARAM_PARTS)


def mask_header_value(name: str, value: str) -> str:
    """The value to show for header ``name``: masked when the header is secret."""
    if not is_secret_header(name):
        return value
    if name.lower() in _SCHEMED_HEADERS:
        scheme, sep, _ = value.partition(" ")
        if sep and scheme.isalpha():
            return f"{scheme} {REDACTED}"
    return REDACTED


def mask_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every (name, value) pair with secret values masked."""
    return [(name, mask_header_value(name, value)) for name, value in headers]


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@]*@")


def mask_url(url: object) -> str:
    """The URL as text with userinfo and secret query values masked. Never raises."""
    text = str(url)
    if "@" not in text and "?" not in text:
        return text  # fast path: nothing that can hold a secret
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_param(k) for k, _ in pairs):
                query = "&".join(
                    f"{quote(k, safe='')}={REDACTED if is_secret_param(k) else quote(v, safe='')}"
                    for k, v in pairs
                )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except Exception:  # masking must never raise: fall back to the crudest safe form
        masked = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
        return masked.split("?", 1)[0] + (f"?{REDACTED}" if "?" in masked else "")

