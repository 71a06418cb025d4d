"""Request, Headers and the pure helpers that build a request: URL joining, query
parameters and body encoding (JSON, form, multipart)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import IO, Any, TypeAlias, Union
from urllib.parse import urlencode

import orjson
from multidict import CIMultiDict
from yarl import URL

from .exceptions import InvalidHeader, InvalidURL
from .security.redact import mask_header_value, mask_url

__all__ = [
    "URL",
    "FileTypes",
    "Headers",
    "HeadersInput",
    "Request",
    "RequestContent",
    "build_url",
    "check_header",
    "encode_body",
    "join_url",
]

HeadersInput: TypeAlias = Union["Headers", Mapping[str, str], Iterable[tuple[str, str]], None]
RequestContent: TypeAlias = bytes | bytearray | memoryview | str | AsyncIterable[bytes]
FileContent: TypeAlias = bytes | str | IO[bytes]
FileTypes: TypeAlias = (
    FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]
)
ParamValue: TypeAlias = str | int | float | bool | Sequence[str | int | float | bool] | None
ParamsInput: TypeAlias = Mapping[str, ParamValue] | Sequence[tuple[str, str | int | float]] | str | None



_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")


def check_header(name: str, value: str) -> None:
    """Refuse a header that would break the request's framing (RFC 9110 section 5.1 and 5.5).

    Names must be tokens; values may not hold CR, LF or NUL (header injection). The value
    is never quoted in the error: it may be a secret."""
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise InvalidHeader(
            f"Header name {name!r} is not a valid HTTP token: use letters, digits and !#$%&'*+-.^_`|~ only."
        )
    if not isinstance(value, str):
        raise InvalidHeader(f"Header {name!r} must have a str value; got {type(value).__name__}.")
    if _FORBIDDEN_IN_VALUE.search(value):
        raise InvalidHeader(
            f"Header {name!r} has a CR, LF or NUL character in its value, which could inject headers; "
            "remove it."
        )


class Headers(CIMultiDict[str]):
    """Case-insensitive headers that keep repeated fields (``getall``), with a masked repr.

    ``headers["content-type"]`` and ``headers["Content-Type"]`` are the same field;
    ``headers.getall("set-cookie")`` returns every value; ``str``/``repr`` never show
    credentials (see ``fasthttp.security.redact``).
    """

    def __init__(self, headers: HeadersInput = None) -> None:
        if headers is None:
            super().__init__()
        elif isinstance(headers, Mapping) or hasattr(headers, "items"):
            super().__init__(headers)
        else:
            super().__init__(list(headers))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k!r}: {mask_header_value(k, v)!r}" for k, v in self.items())
        return f"<Headers({{{shown}}})>"

    __str__ = __repr__

    def copy(self) -> Headers:
        copied: Headers = super().copy()  # multidict's C copy keeps the subclass
        return copied


def _check_url(url: URL, original: object) -> URL:
    if url.scheme not in ("http", "https"):
        if not url.scheme:
            raise InvalidURL(
                f"URL {mask_url(original)!r} has no scheme: use an absolute http:// or https:// URL, "
                "or set base_url= on the session to resolve relative paths."
            )
        raise InvalidURL(
            f"URL {mask_url(original)!r} uses the scheme {url.scheme!r}: fasthttp sends only http:// and https://."
        )
    if not url.host:
        raise InvalidURL(f"URL {mask_url(original)!r} has no host name.")
    return url


def to_url(url: str | URL) -> URL:
    """Parse ``url`` into an absolute http(s) URL or raise InvalidURL with the reason."""
    if isinstance(url, URL):
        return _check_url(url, url)
    if not isinstance(url, str):
        raise InvalidURL(f"url must be a str or yarl.URL, got {type(url).__name__}.")
    if any(c in url for c in "\r\n\x00\t"):
        raise InvalidURL("URL contains a control character (CR, LF, TAB or NUL); refusing to send it.")
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise InvalidURL(f"URL {mask_url(url)!r} cannot be parsed: {exc}.") from None
    return _check_url(parsed, url)


def join_url(base: URL | None, url: str | URL) -> URL:
    """Resolve ``url`` against ``base`` like httpx: an absolute URL wins; a relative
    path is appended to the base path (``/v1`` + ``/users`` -> ``/v1/users``)."""
    if isinstance(url, URL):
        if url.is_absolute():
            return _check_url(url, url)
        url = str(url)
    if base is None or "://" in url[:12]:
        return to_url(url)
    if any(c in url for c in "\r\n\x00\t"):
        raise InvalidURL("URL contains a control character (CR, LF, TAB or NUL); refusing to send it.")
    if url.startswith("//"):
        return to_url(f"{base.scheme}:{url}")
    path, sep, query = url.partition("?")
    base_path = base.raw_path.rstrip("/")
    merged = f"{base_path}/{path.lstrip('/')}" if path else (base.raw_path or "/")
    try:
        joined = base.with_path(merged, encoded=True)
        if sep:
            joined = URL(f"{joined}?{query}", encoded=False)
    except (ValueError, TypeError) as exc:
        raise InvalidURL(f"URL path {url!r} cannot be joined to base_url {mask_url(base)!r}: {exc}.") from None
    return joined


def _param_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def build_url(url: URL, params: ParamsInput) -> URL:
    """``url`` with ``params`` appended to its query (sequences become repeated keys)."""
    if not params:
        return url
    if isinstance(params, str):
        return url.extend_query(params.lstrip("?"))
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((str(key), _param_value(v)) for v in value)
        else:
            pairs.append((str(key), _param_value(value)))
    return url.extend_query(pairs)


def _file_part(field: str, value: FileTypes, boundary: bytes) -> bytes:
    filename: str | None
    content_type: str | None = None
    if isinstance(value, tuple):
        if len(value) == 2:
            filename, content = value
        else:
            filename, content, content_type = value
    else:
        content = value
        name = getattr(value, "name", None)
        filename = os.path.basename(name) if isinstance(name, str) else field
    if isinstance(content, str):
        data = content.encode()
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        data = content.read()
        if isinstance(data, str):
            data = data.encode()
    disposition = f'form-data; name="{_quote_field(field)}"'
    if filename is not None:
        disposition += f'; filename="{_quote_field(filename)}"'
    head = f"Content-Disposition: {disposition}\r\nContent-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
    return b"--" + boundary + b"\r\n" + head.encode() + data + b"\r\n"


def _quote_field(value: str) -> str:
    # RFC 7578 section 4.2: quotes and line breaks in names are percent-encoded, as browsers do.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _encode_multipart(data: Mapping[str, Any] | None, files: Mapping[str, FileTypes]) -> tuple[bytes, str]:
    """multipart/form-data, hand-written because the body must exist as exact bytes
    (so it can be signed, measured and replayed on a retry or redirect); no
    maintained library builds it without also owning the transport."""
    boundary = uuid.uuid4().hex.encode()
    parts: list[bytes] = []
    for key, value in (data or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            head = f'Content-Disposition: form-data; name="{_quote_field(str(key))}"\r\n\r\n'.encode()
            parts.append(b"--" + boundary + b"\r\n" + head + _param_value(item).encode() + b"\r\n")
    for field, value in files.items():
        parts.append(_file_part(field, value, boundary))
    parts.append(b"--" + boundary + b"--\r\n")
    return b"".join(parts), f"multipart/form-data; boundary={boundary.decode()}"


def encode_body(
    *,
    content: RequestContent | None = None,
    data: Mapping[str, Any] | bytes | str | None = None,
    files: Mapping[str, FileTypes] | None = None,
    json: Any = None,
    json_encoder: Any = None,
) -> tuple[bytes | AsyncIterable[bytes] | None, str | None]:
    """The request body and its default Content-Type from the one body argument given."""
    given = [name for name, v in (("content", content), ("data", data), ("json", json)) if v is not None]
    if len(given) > 1:
        raise TypeError(
            f"pass only one body argument, got {' and '.join(given)}= together: "
            "use json= for JSON, data= for a form (or raw bytes), content= for raw bytes."
        )
    if files:
        if data is not None and not isinstance(data, Mapping):
            raise TypeError("files= can only be combined with a form dict in data=, not raw bytes.")
        return _encode_multipart(data, files)
    if json is not None:
        encoded = json_encoder(json) if json_encoder is not None else orjson.dumps(json)
        return (encoded.encode() if isinstance(encoded, str) else encoded), "application/json"
    if data is not None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data), None
        if isinstance(data, str):
            return data.encode(), "text/plain; charset=utf-8"
        if isinstance(data, Mapping):
            pairs: list[tuple[str, str]] = []
            for key, value in data.items():
                values = value if isinstance(value, (list, tuple)) else [value]
                pairs.extend((str(key), _param_value(v)) for v in values)
            return urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        raise TypeError(
            f"data= must be a dict (form fields), bytes or str; got {type(data).__name__}. "
            "For a JSON body use json=."
        )
    if content is not None:
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content), None
        if isinstance(content, str):
            return content.encode(), "text/plain; charset=utf-8"
        if hasattr(content, "__aiter__"):
            return content, None
        raise TypeError(
            f"content= must be bytes, str or an async iterable of bytes; got {type(content).__name__}."
        )
    return None, None


class Request:
    """One outgoing HTTP request, as the pipeline (middleware, security, transport) sees it.

    ``content`` is the exact body: ``bytes`` (replayable on retries and redirects),
    an async iterable of bytes (sent chunked, not replayable), or ``None``.
    """

    __slots__ = ("content", "extensions", "headers", "method", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str | URL,
        *,
        headers: HeadersInput = None,
        content: bytes | AsyncIterable[bytes] | None = None,
        timeout: Any = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.method = method.upper()
        self.url = url if isinstance(url, URL) and url.scheme in ("http", "https") and url.host else to_url(url)
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content
        self.timeout = timeout
        self.extensions: dict[str, Any] = extensions if extensions is not None else {}

    @property
    def is_replayable(self) -> bool:
        """True when the body can be sent again (a retry, a 307/308 redirect)."""
        return self.content is None or isinstance(self.content, bytes)

    @property
    def body(self) -> bytes | None:
        """The body when it is in memory, else None."""
        return self.content if isinstance(self.content, bytes) else None

    @classmethod
    def _trusted(cls, method: str, url: URL, headers: Headers, content: Any, timeout: Any) -> Request:
        """A Request from parts the session has already validated (the hot path skips the checks)."""
        request = cls.__new__(cls)
        request.method = method
        request.url = url
        request.headers = headers
        request.content = content
        request.timeout = timeout
        request.extensions = {}
        return request

    def copy_with(self, **changes: Any) -> Request:
        """A copy with some attributes replaced (headers are copied, never shared)."""
        clone = Request.__new__(Request)
        clone.method = changes.get("method", self.method)
        clone.url = changes.get("url", self.url)
        clone.headers = changes["headers"] if "headers" in changes else self.headers.copy()
        clone.content = changes.get("content", self.content)
        clone.timeout = changes.get("timeout", self.timeout)
        clone.extensions = changes.get("extensions", dict(self.extensions))
        return clone

    def __repr__(self) -> str:
        return f"<Request [{self.method} {mask_url(self.url)}]>"
