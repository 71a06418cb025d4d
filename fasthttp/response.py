"""Response: a fully read HTTP response (status, headers, body) with lazy decoding.

Headers, text and JSON are decoded on first use, not when the response arrives,
so a handler that only looks at ``status`` pays for nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

import orjson

from .exceptions import HTTPStatusError
from .models import Headers
from .security.redact import mask_url

if TYPE_CHECKING:
    from yarl import URL

    from .models import Request

__all__ = ["Response", "reason_phrase"]

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def reason_phrase(status: int) -> str:
    """The standard reason phrase of a status code ("" when unknown)."""
    return _REASONS.get(status, "")


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return value.strip().strip('"').strip("'") or None
    return None


class Response:
    """An HTTP response whose body has been read.

    ``status``/``status_code``, ``reason``, ``http_version``, ``headers``
    (case-insensitive, repeated fields kept), ``content`` (bytes), ``text``,
    ``json()``, ``url``, ``request``, ``elapsed``, ``history`` (the redirect
    responses that led here) and ``cookies``. ``bool(response)`` is False for
    4xx and 5xx, so ``if resp:`` reads as "if it worked".
    """

    __slots__ = (
        "_content",
        "_cookies",
        "_elapsed",
        "_headers",
        "_raw_headers",
        "_text",
        "default_encoding",
        "extensions",
        "history",
        "http_version",
        "reason",
        "request",
        "status_code",
        "url",
    )

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content: bytes = b"",
        reason: str | None = None,
        http_version: str = "HTTP/1.1",
        url: URL | None = None,
        request: Request | None = None,
        elapsed: float = 0.0,
        default_encoding: str = "utf-8",
    ) -> None:
        url = url if url is not None else (request.url if request is not None else None)
        self._fill(status_code, headers, content, reason, http_version, url, request, elapsed, default_encoding)

    @classmethod
    def _received(cls, status_code: int, headers: Any, content: bytes, reason: str | None, http_version: str, url: URL,
                  request: Request, elapsed: float, default_encoding: str) -> Response:  # fmt: skip
        """A response a transport read, from parts it has already checked: ``__init__`` without the
        keyword matching and defaults, which cost more than the rest of it (every request makes one)."""
        self = object.__new__(cls)
        self._fill(status_code, headers, content, reason, http_version, url, request, elapsed, default_encoding)
        return self

    def _fill(self, status_code: int, headers: Any, content: bytes, reason: str | None, http_version: str,
              url: URL | None, request: Request | None, elapsed: float, default_encoding: str) -> None:  # fmt: skip
        """Every field, positionally: the one place that sets them (``__init__`` and ``_received``)."""
        self.status_code = status_code
        self.reason = reason if reason is not None else reason_phrase(status_code)
        self.http_version = http_version
        # Kept as given (often the transport's own header object) and wrapped on first use.
        self._raw_headers = headers
        self._headers: Headers | None = None
        self._content = content
        self._text: str | None = None
        self._cookies: dict[str, str] | None = None
        self.url = url
        self.request = request
        self._elapsed: float | datetime.timedelta = elapsed
        self.history: list[Response] = []
        self.default_encoding = default_encoding
        self.extensions: dict[str, Any] = {}

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to the end of its headers (a timedelta, as in httpx)."""
        elapsed = self._elapsed
        if not isinstance(elapsed, datetime.timedelta):
            elapsed = self._elapsed = datetime.timedelta(seconds=elapsed)
        return elapsed

    @elapsed.setter
    def elapsed(self, value: datetime.timedelta | float) -> None:
        self._elapsed = value

    @property
    def reason_phrase(self) -> str:
        """The reason phrase (httpx's name for ``reason``)."""
        return self.reason

    # -- status -----------------------------------------------------------------
    @property
    def status(self) -> int:
        """The status code (aiohttp's name for ``status_code``)."""
        return self.status_code

    @property
    def is_informational(self) -> bool:
        return 100 <= self.status_code < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        """A redirect status that carries a Location header."""
        return self.status_code in _REDIRECT_STATUSES and "location" in self.headers

    @property
    def is_client_error(self) -> bool:
        return 400 <= self.status_code < 500

    @property
    def is_server_error(self) -> bool:
        return 500 <= self.status_code < 600

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    @property
    def ok(self) -> bool:
        """True below 400 (requests' and aiohttp's name)."""
        return self.status_code < 400

    def __bool__(self) -> bool:
        return self.status_code < 400

    def raise_for_status(self) -> Response:
        """Raise HTTPStatusError for a 4xx/5xx status; return the response otherwise, so it chains."""
        if self.status_code < 400:
            return self
        kind = "Client error" if self.status_code < 500 else "Server error"
        where = f" for {self.request.method} {mask_url(self.url)}" if self.request is not None else ""
        message = f"{kind} {self.status_code} {self.reason}{where}."
        if self.request is None:
            raise RuntimeError(f"{message} (this Response has no request attached, so no HTTPStatusError)")
        raise HTTPStatusError(message, request=self.request, response=self)

    # -- headers and body ---------------------------------------------------------
    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            raw = self._raw_headers
            headers = raw if isinstance(raw, Headers) else Headers(raw)
            self._headers = headers
        return headers

    @property
    def content(self) -> bytes:
        return self._content

    @property
    def encoding(self) -> str:
        """The charset from Content-Type, else the default encoding (utf-8)."""
        return _charset_of(self.headers.get("content-type")) or self.default_encoding

    @property
    def text(self) -> str:
        text = self._text
        if text is None:
            try:
                text = self._content.decode(self.encoding, errors="replace")
            except LookupError:  # an unknown charset name: fall back rather than fail
                text = self._content.decode(self.default_encoding, errors="replace")
            self._text = text
        return text

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (orjson; raises ``json.JSONDecodeError``/ValueError on bad JSON)."""
        if kwargs:
            import json

            return json.loads(self._content, **kwargs)
        return orjson.loads(self._content)

    async def aread(self) -> bytes:
        """The body (already read); for code written against streaming responses."""
        return self._content

    read = aread

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies set by this response (name -> value), from its Set-Cookie headers."""
        cookies = self._cookies
        if cookies is None:
            cookies = {}
            for header in self.headers.getall("set-cookie", ()):
                parsed: SimpleCookie = SimpleCookie()
                try:
                    parsed.load(header)
                except CookieError:
                    continue
                for name, morsel in parsed.items():
                    cookies[name] = morsel.value
            self._cookies = cookies
        return cookies

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The parsed Link header, keyed by rel (as httpx and requests do)."""
        result: dict[str, dict[str, str]] = {}
        for header in self.headers.getall("link", ()):
            for part in header.split(","):
                url, _, params = part.strip().partition(";")
                link = {"url": url.strip().strip("<>")}
                for param in params.split(";"):
                    key, _, value = param.strip().partition("=")
                    if key:
                        link[key.strip()] = value.strip().strip('"')
                result[link.get("rel", link["url"])] = link
        return result

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason}]>" if self.reason else f"<Response [{self.status_code}]>"
