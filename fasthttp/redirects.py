"""The redirect policy: what the next hop of a redirect is, or why there is none.

Rules (RFC 9110 section 15.4, and the CVEs in shared/reliability/RESEARCH.md section 6):
- only http and https targets are followed, resolved against the current URL;
- https -> http is refused (``InsecureRedirect``);
- 303 turns any method but HEAD into a body-less GET; 301/302 do so for POST
  (as every browser does); 307/308 repeat the method and body, which must be
  in memory (a streamed body raises ``StreamConsumed``);
- when the origin (scheme, host, port) changes, ``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, signature headers, every other
  credential-looking header (``X-API-Key``, ``*-Token``, ``*-Secret``: the
  masking rules' list) and an explicit ``Host`` are dropped;
- every hop shares the request's total deadline.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from yarl import URL

from .config import Timeout
from .exceptions import InsecureRedirect, InvalidURL, ReadTimeout, StreamConsumed
from .security.redact import is_secret_header, mask_url

if TYPE_CHECKING:
    from .models import Request
    from .response import Response

__all__ = ["deadline_of", "next_hop", "origin_of"]

_CROSS_ORIGIN_DROP = ("authorization", "proxy-authorization", "cookie", "signature", "signature-input", "host")
_BODY_HEADERS = ("content-type", "content-length", "content-encoding", "transfer-encoding", "content-digest")


def origin_of(url: URL) -> tuple[str, str | None, int | None]:
    """(scheme, host, port): what "the same origin" compares."""
    return (url.scheme, url.host, url.port)


def deadline_of(timeout: Timeout) -> float | None:
    """The loop time at which the whole request (all hops) must be done."""
    if timeout.total is None:
        return None
    return asyncio.get_running_loop().time() + timeout.total


def next_hop(request: Request, response: Response, *, deadline: float | None, cookie_jar_in_use: bool) -> Request:
    """The request for the redirect ``response`` answered to ``request``."""
    location = response.headers["location"]
    try:
        target = request.url.join(URL(location))
    except (ValueError, TypeError):
        raise InvalidURL(f"The redirect Location {location!r} is not a valid URL.", request=request) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise InvalidURL(
            f"Refusing to follow a redirect from {mask_url(request.url)} to {mask_url(target)}: "
            "only http:// and https:// targets are followed.",
            request=request,
        )
    if request.url.scheme == "https" and target.scheme == "http":
        raise InsecureRedirect(
            f"Refusing to follow a redirect from {mask_url(request.url)} to {mask_url(target)}: "
            "it would downgrade https to http. Request the http:// URL yourself if you really mean it.",
            request=request,
        )
    if target.fragment == "" and request.url.fragment:
        target = target.with_fragment(request.url.fragment)
    method = request.method
    content = request.content
    headers = request.headers.copy()
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
        content = None
        for name in _BODY_HEADERS:
            headers.popall(name, None)
    elif content is not None and not isinstance(content, bytes):
        raise StreamConsumed(
            f"Cannot follow the {status} redirect of {request.method} {mask_url(request.url)}: "
            "its body was streamed and cannot be sent again. Send bytes, or follow_redirects=False."
        )
    if origin_of(target) != origin_of(request.url):
        for name in _CROSS_ORIGIN_DROP:
            headers.popall(name, None)
        for name in [name for name in headers if is_secret_header(name)]:
            headers.popall(name, None)  # X-API-Key, *-Token, *-Secret...: credentials of the first origin
    elif cookie_jar_in_use:
        # The jar adds the right cookies for each hop; do not send the previous hop's twice.
        headers.popall("cookie", None)
    return request.copy_with(
        method=method, url=target, headers=headers, content=content, timeout=_remaining(request, deadline)
    )


def _remaining(request: Request, deadline: float | None) -> object:
    timeout = request.timeout
    if deadline is None or not isinstance(timeout, Timeout):
        return timeout
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise ReadTimeout(
            f"{request.method} {mask_url(request.url)} used its whole {timeout.total:g} s deadline "
            "while following redirects.",
            request=request,
        )
    return Timeout(total=remaining, connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool)
