"""StreamResponse: a response whose body is read as it arrives, in flat memory.

``session.stream(...)`` yields one, at the first byte of the response, with the
body unread. Rules:
- the body can be consumed once, by one of ``aiter_bytes``, ``aiter_text``,
  ``aiter_lines``, ``aiter_sse``, ``aiter_raw`` or ``aread``; a second read
  raises ``StreamConsumed`` (after ``aread()`` the bytes stay in ``content``);
- after the ``async with`` block exits the connection is gone and any read
  raises ``StreamClosed``;
- leaving early (break, exception, cancellation) closes the connection instead
  of draining it; a body read to its end gives the connection back to the pool;
- content codings are decoded incrementally (``fasthttp.decoders``), at most
  two stacked, each step bounded, with a cap on the decoded size of a compressed
  body (a decompression bomb fails with ``ResponseTooLarge``); ``aread()`` also
  caps plain bodies at ``max_body_size``;
- ``num_bytes_downloaded`` counts raw bytes received, for progress bars.

Why our own class rather than the ``httpx.Response`` the seed mentions: see the
README section "Streaming" (measured throughput and the reasons).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .decoders import LineDecoder, TextDecoder, build_decoder
from .exceptions import DecodingError, ResponseTooLarge, StreamClosed, StreamConsumed, StreamError
from .response import Response
from .sse import EventStreamDecoder, ServerSentEvent

if TYPE_CHECKING:
    from yarl import URL

    from .models import Request

__all__ = ["ByteStream", "StreamResponse"]


class ByteStream(Protocol):
    """What a transport hands over for a streamed body: raw (still encoded) chunks."""

    async def read(self) -> bytes:
        """The next chunk as it arrived; ``b""`` at the end of the body."""
        ...

    async def aclose(self) -> None:
        """Release the connection: back to the pool if the body was read to its end, else closed."""
        ...

    def abort(self) -> None:
        """Close the connection at once, without awaiting (used when a stream is garbage-collected)."""
        ...


_OPEN, _READING, _CONSUMED, _CLOSED = "open", "reading", "consumed", "closed"


class StreamResponse(Response):
    """A Response whose body has not been read yet (see the module docstring)."""

    __slots__ = (
        "_content_read",
        "_max_body",
        "_max_decoded",
        "_on_close",
        "_state",
        "_stream",
        "num_bytes_downloaded",
    )

    def __init__(
        self,
        status_code: int,
        *,
        stream: ByteStream,
        headers: Any = None,
        reason: str | None = None,
        http_version: str = "HTTP/1.1",
        url: URL | None = None,
        request: Request | None = None,
        elapsed: float = 0.0,
        default_encoding: str = "utf-8",
        max_decoded_size: int | None = None,
        max_body_size: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            status_code,
            headers=headers,
            content=b"",
            reason=reason,
            http_version=http_version,
            url=url,
            request=request,
            elapsed=elapsed,
            default_encoding=default_encoding,
        )
        self._stream = stream
        self._state = _OPEN
        self._max_decoded = max_decoded_size
        self._max_body = max_body_size
        self._on_close = on_close
        self._content_read = False
        self.num_bytes_downloaded = 0

    @classmethod
    def from_response(cls, response: Response) -> StreamResponse:
        """A stream over a response that is already in memory (one a middleware answered from cache)."""
        stream = cls(
            response.status_code,
            stream=_MemoryStream(response.content),
            headers=[(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"],
            reason=response.reason,
            http_version=response.http_version,
            url=response.url,
            request=response.request,
            default_encoding=response.default_encoding,
        )
        stream.history = response.history
        stream.extensions = response.extensions
        return stream

    # -- state --------------------------------------------------------------------
    @property
    def is_closed(self) -> bool:
        return self._state == _CLOSED

    @property
    def is_stream_consumed(self) -> bool:
        return self._state in (_CONSUMED, _CLOSED) or self._state == _READING

    def _start_reading(self, how: str) -> None:
        if self._state == _OPEN:
            self._state = _READING
            return
        if self._state == _CLOSED:
            raise StreamClosed(
                f"Cannot {how}: the stream's 'async with' block has exited and its connection is closed. "
                "Read the body inside the block."
            )
        raise StreamConsumed(
            f"Cannot {how}: the body of this response has already been read once. "
            "Call 'await resp.aread()' first if you need it more than once (then use resp.content)."
        )

    async def aclose(self) -> None:
        """Close the stream (idempotent); an unread rest of the body closes the connection."""
        if self._state == _CLOSED:
            return
        self._state = _CLOSED
        try:
            await self._stream.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # A stream dropped without aclose(): close its connection (never pooled half-read) and give its
        # pool slot back, so it cannot leak (encode/httpcore#1093); then say so.
        if getattr(self, "_state", _CLOSED) == _CLOSED:
            return
        self._state = _CLOSED
        try:
            self._stream.abort()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()
        _warn(
            f"{self!r} was garbage-collected while open; its connection was closed. Use "
            "'async with session.stream(...)' or 'await resp.aclose()'.",
            ResourceWarning,
            source=self,
            stacklevel=2,
        )

    # -- reading ------------------------------------------------------------------
    async def _raw_chunks(self) -> AsyncIterator[bytes]:
        read = self._stream.read
        try:
            while True:
                chunk = await read()
                if not chunk:
                    break
                self.num_bytes_downloaded += len(chunk)
                yield chunk
        except BaseException:
            await self.aclose()
            raise
        self._state = _CONSUMED
        await self._stream.aclose()

    async def _decoded_chunks(self) -> AsyncIterator[bytes]:
        encoding = self.headers.get("content-encoding")
        if not encoding:
            async for chunk in self._raw_chunks():
                yield chunk
            return
        try:
            decoder = build_decoder(encoding, max_decoded_size=self._max_decoded)
            async for chunk in self._raw_chunks():
                for piece in decoder.decode_iter(chunk):
                    yield piece
            for piece in decoder.flush_iter():
                yield piece
        except (DecodingError, ResponseTooLarge) as exc:
            if exc.request is None:
                exc.request = self.request
            raise

    async def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body's bytes exactly as received (content coding not decoded)."""
        self._start_reading("iterate the raw body")
        async for chunk in _rechunk(self._raw_chunks(), chunk_size):
            yield chunk

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The decoded body in chunks of ``chunk_size`` bytes (the last may be shorter),
        or as they arrive when ``chunk_size`` is None."""
        self._start_reading("iterate the body")
        async for chunk in _rechunk(self._decoded_chunks(), chunk_size):
            yield chunk

    async def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """The decoded body as text (charset from Content-Type), a character split across chunks kept whole."""
        self._start_reading("iterate the body as text")
        decoder = TextDecoder(self.encoding)  # charset from Content-Type, else default_encoding
        async for chunk in _rechunk(self._decoded_chunks(), chunk_size):
            text = decoder.decode(chunk)
            if text:
                yield text
        rest = decoder.flush()
        if rest:
            yield rest

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body line by line, terminators (``\\n``, ``\\r\\n``, ``\\r``) removed."""
        self._start_reading("iterate the body as lines")
        text_decoder = TextDecoder(self.encoding)  # charset from Content-Type, else default_encoding
        lines = LineDecoder()
        async for chunk in self._decoded_chunks():
            for line in lines.feed(text_decoder.decode(chunk)):
                yield line
        for line in lines.feed(text_decoder.flush()):
            yield line
        for line in lines.flush():
            yield line

    async def aiter_sse(self) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events, decoded by the WHATWG rules (``fasthttp.sse``)."""
        self._start_reading("iterate the body as server-sent events")
        decoder = EventStreamDecoder()
        async for chunk in self._decoded_chunks():
            for event in decoder.feed(chunk):
                yield event
        decoder.close()

    async def aread(self) -> bytes:
        """Read the whole (decoded) body; afterwards ``content``, ``text`` and ``json()`` work."""
        if self._state == _CONSUMED and self._content_read:
            return self._content
        self._start_reading("read the body")
        cap = self._max_body
        parts: list[bytes] = []
        size = 0
        async for chunk in self._decoded_chunks():
            size += len(chunk)
            if cap is not None and size > cap:
                await self.aclose()
                raise ResponseTooLarge(
                    f"Refusing to read the whole body of {self._describe()}: it grew past the {cap}-byte "
                    "limit. Iterate it with aiter_bytes() instead, or raise SecurityConfig(max_body_size=...).",
                    request=self.request,
                )
            parts.append(chunk)
        self._content = b"".join(parts)
        self._content_read = True
        return self._content

    read = aread

    def _describe(self) -> str:
        from .security.redact import mask_url

        if self.request is None:
            return "the response"
        return f"{self.request.method} {mask_url(self.url)}"

    @property
    def content(self) -> bytes:
        if not self._content_read:
            raise StreamError(
                "The body of a streamed response has not been read: call 'await resp.aread()' first, "
                "or iterate it with aiter_bytes()/aiter_lines()."
            )
        return self._content

    @property
    def text(self) -> str:
        return self._content_text()

    def _content_text(self) -> str:
        content = self.content
        return content.decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            import json

            return json.loads(self.content, **kwargs)
        return orjson.loads(self.content)

    def __repr__(self) -> str:
        return f"<StreamResponse [{self.status_code} {self.reason}]>"


class _MemoryStream:
    """A ByteStream over bytes already in memory."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        data, self._data = self._data, b""
        return data

    async def aclose(self) -> None:
        self._data = b""

    def abort(self) -> None:
        self._data = b""


async def _rechunk(chunks: AsyncIterator[bytes], size: int | None) -> AsyncIterator[bytes]:
    """Chunks of exactly ``size`` bytes (the last may be shorter); as they come when None."""
    if size is None:
        async for chunk in chunks:
            yield chunk
        return
    if size <= 0:
        raise ValueError(f"chunk_size={size!r} must be a positive number of bytes, or None.")
    buffer = bytearray()
    async for chunk in chunks:
        if not buffer and len(chunk) == size:
            yield chunk  # the common case: no copy
            continue
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
