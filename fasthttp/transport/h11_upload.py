"""Request bodies of one HTTP/1.1 connection: large and streamed uploads (a mixin of ``H11Connection``).

Rules:

- Bodies of at most ``SMALL_BODY`` bytes never come here: they go out with the
  head in one ``write()`` (``H11Connection.start``). Larger bytes bodies are
  written in ``WRITE_CHUNK`` pieces (no copy of the whole body into the
  transport's buffer); an async iterable is written as it yields, with chunked
  transfer coding unless the caller announced a ``Content-Length``.
- Flow control: after each piece, if the transport asked us to pause
  (``pause_writing``), the upload waits for ``resume_writing``; that wait is
  bounded by ``Timeout.write`` (the connection's one timer, ``WriteTimeout``).
- An answer that arrives before the body is sent (a 413 from a server that
  stopped reading) ends the upload: the response is returned, and the
  connection, whose request was cut short, is not reused.
- When the connection fails while the upload awaits the caller's body iterator
  (a timeout, a lost connection), ``_fail`` cancels the uploading task; the
  cancellation is turned back into that failure here (and handed back with
  ``Task.uncancel`` on 3.11+, so an outer cancellation is never swallowed).
- ``response_waiter`` then waits for the answer as ``start`` does for small bodies.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from .h11_states import BODY, CLOSED, COMPLETE, INF, WAITING, WRITE_CHUNK

if TYPE_CHECKING:
    from ..config import Timeout

__all__ = ["Uploader"]


class Uploader:
    """The upload half of ``H11Connection`` (the attributes are the connection's own)."""

    if not TYPE_CHECKING:  # empty slots keep H11Connection dict-free; mypy checks the connection's own
        __slots__ = ()
    else:
        transport: asyncio.Transport | None
        loop: asyncio.AbstractEventLoop
        state: int
        keep_alive: bool
        error: BaseException | None
        _timeout: Timeout | None
        _waiter: asyncio.Future[None] | None
        _stream: bool
        _reading: bool
        _read_timeout: float | None
        _last_data: float
        _uploading: bool
        _writer_task: asyncio.Task[object] | None
        _cancelled_writer: bool
        _write_paused: bool
        _write_deadline: float
        _draining: bool

        def _arm(self, at: float) -> None: ...

        async def _wait(self) -> None: ...

    def response_waiter(self) -> asyncio.Future[None] | None:
        """After a slow upload: a future for the response, or None when it is already here."""
        if self.error is not None:
            raise self.error
        if self.state == COMPLETE or (self._stream and self.state == BODY):
            return None
        waiter = self.loop.create_future()
        self._waiter = waiter
        self._reading = True
        if self._read_timeout is not None:
            now = self.loop.time()
            self._last_data = now
            self._arm(now + self._read_timeout)
        return waiter

    async def send_body(self, head: bytes, body: bytes | AsyncIterable[bytes], chunked: bool) -> None:
        """Write the head and a large or streamed body, honouring flow control and the write timeout.

        Stops early (the connection is then not reusable) when the response starts
        arriving before the body is sent: a server may answer 413 without reading."""
        transport = self.transport
        assert transport is not None
        self._uploading = True
        try:
            transport.write(head)
            if isinstance(body, (bytes, bytearray, memoryview)):
                view = memoryview(body)
                for start in range(0, len(view), WRITE_CHUNK):
                    if self.state != WAITING:
                        break
                    transport.write(view[start : start + WRITE_CHUNK])
                    if self._write_paused:
                        await self._drain()
            else:
                await self._send_iterable(body, chunked)
            if self.state != WAITING and self.state != CLOSED:
                self.keep_alive = False  # the request was cut short: this connection's framing is lost
        finally:
            self._uploading = False

    async def _send_iterable(self, body: AsyncIterable[bytes], chunked: bool) -> None:
        transport = self.transport
        assert transport is not None
        task = asyncio.current_task()
        self._writer_task = task
        try:
            async for chunk in body:
                if self.error is not None:
                    raise self.error
                if self.state != WAITING:
                    return
                if isinstance(chunk, str):
                    chunk = chunk.encode()
                if not chunk:
                    continue  # an empty chunk would end a chunked body
                if chunked:
                    transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                else:
                    transport.write(chunk)
                if self._write_paused:
                    await self._drain()
            if chunked and self.state == WAITING:
                transport.write(b"0\r\n\r\n")
        except asyncio.CancelledError:
            if self._cancelled_writer and self.error is not None:
                # _fail() interrupted the caller's body iterator (a timeout, a lost connection): report that.
                self._cancelled_writer = False
                if task is not None and sys.version_info >= (3, 11) and task.uncancel() > 0:
                    raise  # cancelled from outside as well
                raise self.error from None
            raise
        finally:
            self._writer_task = None

    async def _drain(self) -> None:
        write = self._timeout.write if self._timeout is not None else None
        while self._write_paused and self.state == WAITING:
            if write is not None:
                self._write_deadline = self.loop.time() + write
                self._arm(self._write_deadline)
            self._draining = True
            try:
                await self._wait()
            finally:
                self._draining = False
                self._write_deadline = INF
        if self.error is not None:
            raise self.error
