"""Large buffered bodies of one HTTP/1.1 connection, received in place (a mixin of ``H11Connection``).

Rules:

- A read that fills the whole read buffer while a body arrives marks a bulk
  transfer (``_bulk``, called after such a read).
- A buffered body without content coding whose Content-Length is at least
  ``RAW_BODY_MIN`` then bypasses httptools: ``get_buffer`` hands the kernel the
  unfilled part of one buffer of exactly that length, so a single ``recv`` can
  fill much of it, and the body becomes ``bytes`` with one copy at the end
  (instead of one ``bytes`` per read from httptools plus a join). The parser,
  which never sees the end of that message, is replaced before the connection
  is reused (``stopped``). A Content-Length over ``max_body_size`` is refused
  right there; EOF before the end is a short body (``ProtocolError``).
- Other buffered bodies (chunked, coded) get a ``BULK_BUFFER`` read buffer for
  the rest of the connection's life instead: fewer reads per MiB. Streamed
  bodies keep 64 KiB reads, the chunk size ``aiter_bytes(65536)`` passes on
  without copying.
- The in-place buffers come from the pool (``take_buffer``/``give_buffer``), which
  recycles a bounded few and primes glibc's allocator once (see
  ``h11_pool._prime_allocator``): measured on 1 MiB bodies at 20 in flight, fresh
  buffers cost ~170k page faults per 840 responses and about twice the CPU.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from . import h11_errors as errors
from .h11_head import content_length
from .h11_states import BULK_BUFFER, RAW_BODY_MIN, READ_BUFFER

if TYPE_CHECKING:
    from ..decoders import ContentDecoder
    from ..models import Request
    from .h11_protocol import ConnectionOwner

__all__ = ["BulkReceiver"]


class BulkReceiver:
    """The large-body half of ``H11Connection`` (the attributes are the connection's own)."""

    if not TYPE_CHECKING:  # empty slots keep H11Connection dict-free; mypy checks the connection's own
        __slots__ = ()
    else:
        loop: asyncio.AbstractEventLoop
        request: Request | None
        raw_head: bytes
        chunks: list[bytes]
        decoder: ContentDecoder | None
        cap: int | None
        stopped: bool
        _owner: ConnectionOwner
        _stream: bool
        _buf: bytearray
        _view: memoryview
        _body: bytearray | None
        _body_view: memoryview | None
        _body_pos: int
        _read_timeout: float | None
        _last_data: float

        def _fail(self, error: BaseException) -> None: ...

        def on_message_complete(self) -> None: ...

    def _bulk(self) -> None:
        """A read filled the buffer mid-body: receive a large plain body in place, else grow the buffer
        (a connection starts with FIRST_READ_BUFFER; see h11_states)."""
        length = None if self._stream or self.decoder is not None else content_length(self.raw_head)
        if length is None or length < RAW_BODY_MIN:
            if len(self._buf) < READ_BUFFER:
                self._grow(READ_BUFFER)
            elif not self._stream and len(self._buf) < BULK_BUFFER:
                # Streamed bodies keep 64 KiB reads: the chunks then match aiter_bytes(65536), which hands
                # them on without copying (bigger reads measured 2x the CPU per MiB on the bench's stream).
                self._grow(BULK_BUFFER)  # chunked or coded: bigger reads instead
            return
        cap = self.cap
        request = self.request
        assert request is not None
        if cap is not None and length > cap:
            self._fail(errors.too_large(request, cap, f"its Content-Length is {length} bytes"))
            return
        body = self._owner.take_buffer(length)
        view = memoryview(body)[:length]
        position = 0
        for chunk in self.chunks:
            view[position : position + len(chunk)] = chunk
            position += len(chunk)
        self.chunks = []
        self._body = body
        self._body_view = view
        self._body_pos = position

    def _grow(self, size: int) -> None:
        # Safe between reads: nothing points into the old buffer (a partial head is copied out).
        self._buf = bytearray(size)
        self._view = memoryview(self._buf)

    def _received_in_place(self, nbytes: int) -> None:
        if self._read_timeout is not None:
            self._last_data = self.loop.time()
        position = self._body_pos + nbytes
        self._body_pos = position
        view, body = self._body_view, self._body
        assert view is not None and body is not None
        if position < len(view):
            return
        # The whole body is in: the parser never saw its end, so it is replaced before reuse.
        self.chunks = [bytes(view)]
        self._drop_body_buffer()
        # Recycled now: the loop never writes into the slice it was given after this callback.
        self._owner.give_buffer(body)
        self.stopped = True
        self.on_message_complete()

    def _drop_body_buffer(self) -> None:
        # Only dropped, not release()d: the loop may still hold the slice get_buffer() handed out.
        self._body_view = None
        self._body = None
