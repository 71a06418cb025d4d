"""Streamed response bodies of ``HTTP11Transport``: the consumer's side of a connection's queue.

Rules:

- In stream mode the protocol queues each body chunk as it arrives
  (``H11Connection.on_body``) and pauses reading once more than ``HIGH_WATER``
  bytes wait unread; ``pop_chunk`` resumes it at ``LOW_WATER``. Memory stays flat
  whatever the body's size and however slow the consumer.
- The read timeout runs only while the consumer waits (``wait_data``): a
  consumer slower than the read timeout is never cut off; a server silent for
  that long while the consumer waits is a ``ReadTimeout``.
- ``H11ByteStream`` is the ``fasthttp.streaming.ByteStream`` a ``StreamResponse``
  reads: queued chunks first, then ``b""`` once the response is complete (and the
  connection goes back to the pool at once), or the connection's error. Its
  ``aclose``/``abort`` give the connection back: pooled when the response was
  read to its end, closed otherwise (never drained), and release the slot(s).
  ``abort`` is what ``StreamResponse`` calls when a stream is garbage-collected
  unclosed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Protocol

from . import h11_errors as errors
from .h11_states import CLOSED, COMPLETE, LOW_WATER

if TYPE_CHECKING:
    from .gate import SlotGate
    from .h11_protocol import H11Connection

__all__ = ["H11ByteStream", "StreamOwner", "StreamReader"]


class StreamReader:
    """The streamed-body half of ``H11Connection`` (the attributes are the connection's own)."""

    if not TYPE_CHECKING:  # empty slots keep H11Connection dict-free; mypy checks the connection's own
        __slots__ = ()
    else:
        transport: asyncio.Transport | None
        loop: asyncio.AbstractEventLoop
        queue: deque[bytes]
        queued: int
        _paused: bool
        _reading: bool
        _read_timeout: float | None
        _last_data: float

        def _arm(self, at: float) -> None: ...

        async def _wait(self) -> None: ...

    async def wait_data(self) -> None:
        """Wait until a streamed body has more data, ends, or fails (the read timeout runs meanwhile)."""
        read = self._read_timeout
        if read is not None:
            now = self.loop.time()
            self._last_data = now
            self._arm(now + read)
        self._reading = True
        try:
            await self._wait()
        finally:
            self._reading = False

    def pop_chunk(self) -> bytes:
        """The next queued chunk of a streamed body (resumes reading at LOW_WATER)."""
        chunk = self.queue.popleft()
        self.queued -= len(chunk)
        if self._paused and self.queued <= LOW_WATER and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk


class StreamOwner(Protocol):
    """What a stream needs from its transport."""

    def finish_stream(self, conn: H11Connection, host_gate: SlotGate | None) -> None:
        """Pool or close ``conn`` and release the slot(s) of its request."""


class H11ByteStream:
    """A streamed response body read from its connection's queue (``fasthttp.streaming.ByteStream``)."""

    __slots__ = ("_conn", "_host_gate", "_owner")

    def __init__(self, conn: H11Connection, owner: StreamOwner, host_gate: SlotGate | None) -> None:
        self._conn: H11Connection | None = conn
        self._owner = owner
        self._host_gate = host_gate

    async def read(self) -> bytes:
        conn = self._conn
        while conn is not None:
            if conn.queue:
                return conn.pop_chunk()
            if conn.state == COMPLETE:
                self._release()  # read to its end: the connection can serve the next request now
                return b""
            if conn.error is not None:
                raise conn.error
            if conn.state == CLOSED:
                assert conn.request is not None
                raise errors.broken(conn.request, None)
            await conn.wait_data()
        return b""

    async def aclose(self) -> None:
        self._release()

    def abort(self) -> None:
        """Release at once, from ``StreamResponse.__del__`` (a stream dropped unclosed): a half-read
        connection is closed, never pooled, and the slot comes back."""
        with contextlib.suppress(RuntimeError):  # the event loop is already closed: the socket closes with it
            self._release()

    def _release(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._owner.finish_stream(conn, self._host_gate)
