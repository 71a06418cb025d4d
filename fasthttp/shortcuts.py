"""One-off requests without a session: ``await fasthttp.get(url)``.

Each call opens a session, sends one request and closes it, so nothing is
reused between calls: fine for a script's single request, wasteful in a loop
(use ``AsyncSession`` there). Session options (``security=``, ``timeout=``,
``headers=``...) and request options (``params=``, ``json=``...) are both
accepted; the result follows the session's contract (a Response, or None on
an error or 4xx/5xx unless ``raise_errors=True``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import AsyncSession

if TYPE_CHECKING:
    from yarl import URL

    from .response import Response

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request"]

_SESSION_OPTIONS = frozenset(
    {
        "timeout", "http2", "proxy", "security", "middleware", "cookie_jar", "debug", "secret_key",
        "raise_errors", "follow_redirects", "max_redirects", "limits", "verify", "cert", "default_encoding",
        "event_hooks", "retry", "raise_for_status", "json_serialize", "trust_env",
    }
)


async def request(method: str, url: str | URL, **options: Any) -> Response | None:
    """Send one request with a session of its own; see the module docstring."""
    session_options = {key: options.pop(key) for key in list(options) if key in _SESSION_OPTIONS}
    if "raise_errors" in session_options:
        options["raise_errors"] = session_options["raise_errors"]
    async with AsyncSession(**session_options) as session:
        return await session.request(method, url, **options)


async def get(url: str | URL, **options: Any) -> Response | None:
    """GET ``url`` once; see ``request``."""
    return await request("GET", url, **options)


async def head(url: str | URL, **options: Any) -> Response | None:
    """HEAD ``url`` once; see ``request``."""
    return await request("HEAD", url, **options)


async def options(url: str | URL, **options: Any) -> Response | None:
    """OPTIONS ``url`` once; see ``request``."""
    return await request("OPTIONS", url, **options)


async def delete(url: str | URL, **options: Any) -> Response | None:
    """DELETE ``url`` once; see ``request``."""
    return await request("DELETE", url, **options)


async def post(url: str | URL, **options: Any) -> Response | None:
    """POST to ``url`` once; see ``request``."""
    return await request("POST", url, **options)


async def put(url: str | URL, **options: Any) -> Response | None:
    """PUT to ``url`` once; see ``request``."""
    return await request("PUT", url, **options)


async def patch(url: str | URL, **options: Any) -> Response | None:
    """PATCH ``url`` once; see ``request``."""
    return await request("PATCH", url, **options)
