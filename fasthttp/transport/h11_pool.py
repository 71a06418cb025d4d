"""The keep-alive pool of ``HTTP11Transport``: slots, idle connections, and the counts tests look at.

Rules:

- A *slot* is the right to have one request in flight. ``gate`` (a ``SlotGate``:
  FIFO waiters, cancellation-safe) holds ``Limits.max_connections`` of them, and
  with ``Limits.max_per_host`` each origin has its own gate too. A slot is held
  from before a connection is picked until the response is read (or the stream is
  closed), so at most ``max_connections`` connections are ever busy.
- Idle connections wait in one LIFO stack per pool key (origin, or proxy):
  ``pop_idle`` is O(1), and the most recently used connection is reused first,
  so the rest can expire. A connection leaves the stack when it is taken, when
  it closes (the server hung up while it was idle: its protocol reports it at
  once, so checkout never hands out a dead connection it has heard about), or
  when its idle timer passes ``keepalive_expiry``; checkout also refuses one
  older than ``keepalive_expiry``.
- Open connections (busy + idle) stay at or under ``max_connections``: before a
  new connection is opened at the limit, the least recently used idle one of any
  origin is closed.
- Large bodies are received into buffers recycled here (``take_buffer`` /
  ``give_buffer``): at most 4 MiB kept in all, so a session's
  idle memory stays bounded while repeated large downloads stop re-faulting
  fresh pages on every response (see ``_prime_allocator`` for the other half).
- ``aclose()`` fails every request in flight with ``ReadError`` ("the session was
  closed"), closes every connection and waits (briefly) until their sockets are
  gone.
"""

from __future__ import annotations

import asyncio
import platform
from typing import TYPE_CHECKING, Any

from .gate import SlotGate
from .h11_protocol import COMPLETE, IDLE, H11Connection

if TYPE_CHECKING:
    from ..config import Limits

__all__ = ["ConnectionPool"]

PoolKey = tuple[Any, ...]

_CLOSE_WAIT = 1.0  # most seconds aclose() waits for sockets to close
# Body buffers kept for reuse, in bytes over all of them (see take_buffer); larger ones are never kept.
# Measured on the bench's 1 MiB workload at 20 in flight (fresh processes, glibc primed): keeping none
# cost ~600-1100 µs of CPU per MiB (the heap is trimmed and re-faulted), 4 MiB ~340-550 with peak RSS
# +4 MiB over aiohttp's, 8 MiB no faster with +6-10 MiB.
_BUFFERS_KEPT = 4 * 1024 * 1024
_BUFFER_MAX = 4 * 1024 * 1024
# See _prime_allocator.
_PRIME_SIZE = 8 * 1024 * 1024
_primed = False


def _prime_allocator() -> None:
    """Once per process, before the first large body: let glibc's malloc keep bodies on its heap.

    glibc serves a request of at least its mmap threshold (128 KiB at start) with a fresh mmap and
    returns it on free, and raises the threshold only when a *larger* mapped block is freed: so
    equal-sized bodies (1 MiB after 1 MiB) are mapped and page-faulted afresh every time. Measured on
    the bench's 1 MiB workload, fresh driver processes: ~170k page faults and ~950 µs of CPU per MiB,
    against ~30k and ~400 µs once one 8 MiB block has been freed (the same effect as
    MALLOC_MMAP_THRESHOLD_; shared/perf/LIMIT.md section 3 saw it for aiohttp). Freeing that block is
    ordinary glibc behaviour any program that handles 8 MiB of data triggers; under other allocators
    this is one short-lived 8 MiB allocation and nothing else."""
    global _primed
    if _primed:
        return
    _primed = True
    if platform.libc_ver()[0] == "glibc":
        bytes(_PRIME_SIZE)  # calloc: a fresh mapping, never touched (no RSS), freed at once


class ConnectionPool:
    """Slots and idle connections of one transport (see the module rules)."""

    __slots__ = (
        "_buffers",
        "_buffers_size",
        "_closed_all",
        "_conns",
        "cap",
        "expiry",
        "gate",
        "host_gates",
        "idle_stacks",
        "max_connections",
        "max_per_host",
    )

    def __init__(self, limits: Limits, cap: int | None) -> None:
        self.gate = SlotGate(limits.max_connections)
        self.max_connections = limits.max_connections
        self.max_per_host = limits.max_per_host
        self.host_gates: dict[tuple[str, str, int], SlotGate] | None = {} if limits.max_per_host else None
        self.expiry = limits.keepalive_expiry
        self.cap = cap  # max_body_size, handed to every connection
        # One LIFO stack per pool key, created with the first connection for that key and never
        # replaced: each connection keeps a reference to its stack (``conn.stack``) to go back to it.
        self.idle_stacks: dict[PoolKey, list[H11Connection]] = {}
        self._conns: set[H11Connection] = set()
        self._buffers: list[bytearray] = []
        self._buffers_size = 0
        self._closed_all: asyncio.Future[None] | None = None

    # -- counts (tests and diagnostics) -------------------------------------------------------
    @property
    def connections(self) -> int:
        """Open connections, busy or idle."""
        return len(self._conns)

    @property
    def idle(self) -> int:
        """Idle connections waiting in the pool."""
        return sum(len(stack) for stack in self.idle_stacks.values())

    # -- connections ------------------------------------------------------------------------------
    def host_gate(self, origin: tuple[str, str, int]) -> SlotGate:
        gates = self.host_gates
        assert gates is not None and self.max_per_host is not None
        gate = gates.get(origin)
        if gate is None:
            gate = gates[origin] = SlotGate(self.max_per_host)
        return gate

    def pop_idle(self, key: PoolKey, now: float) -> H11Connection | None:
        """The most recently used live idle connection for ``key``, or None."""
        stack = self.idle_stacks.get(key)
        while stack:
            conn = stack.pop()
            if conn.state == IDLE and now - conn.idle_since < self.expiry:
                conn.reused = True
                return conn
            conn.close()
            self._conns.discard(conn)
        return None

    def push_idle(self, conn: H11Connection, now: float) -> None:
        """A connection whose response was read to its end, keep-alive: back on its stack."""
        conn.park(now)
        conn.stack.append(conn)

    def release(self, conn: H11Connection, now: float) -> None:
        """Return ``conn`` after its response: pooled when clean, else closed."""
        if conn.keep_alive and conn.state == COMPLETE and conn.error is None:
            self.push_idle(conn, now)
        else:
            self.discard(conn)

    def discard(self, conn: H11Connection) -> None:
        """Close ``conn`` at once (an error, a cancellation, an unread body)."""
        conn.abort()
        self._conns.discard(conn)

    def new_connection(self, key: PoolKey, loop: asyncio.AbstractEventLoop) -> H11Connection:
        """A connection object for ``key``, registered; room is made first if the pool is full."""
        if len(self._conns) >= self.max_connections:
            self._evict_one()
        stack = self.idle_stacks.get(key)
        if stack is None:
            stack = self.idle_stacks[key] = []
        conn = H11Connection(self, key, stack, loop, self.expiry, self.cap)
        self._conns.add(conn)
        return conn

    def _evict_one(self) -> None:
        oldest: H11Connection | None = None
        oldest_stack: list[H11Connection] | None = None
        for stack in self.idle_stacks.values():
            if stack and (oldest is None or stack[0].idle_since < oldest.idle_since):
                oldest, oldest_stack = stack[0], stack
        if oldest is not None and oldest_stack is not None:
            oldest_stack.pop(0)
            oldest.close()
            self._conns.discard(oldest)

    # -- ConnectionOwner ------------------------------------------------------------------------
    def connection_lost(self, conn: H11Connection) -> None:
        self._conns.discard(conn)
        stack = conn.stack
        if stack and conn in stack:
            stack.remove(conn)
        if self._closed_all is not None and not self._conns and not self._closed_all.done():
            self._closed_all.set_result(None)

    def expire(self, conn: H11Connection) -> None:
        stack = conn.stack
        if stack and conn in stack:
            stack.remove(conn)
        conn.close()
        self._conns.discard(conn)

    def take_buffer(self, size: int) -> bytearray:
        if not _primed:
            _prime_allocator()
        buffers = self._buffers
        for index, buffer in enumerate(buffers):
            if len(buffer) >= size and len(buffer) <= 2 * size:  # a fit, not a 4 MiB buffer for 130 KiB
                del buffers[index]
                self._buffers_size -= len(buffer)
                return buffer
        return bytearray(size)

    def give_buffer(self, buffer: bytearray) -> None:
        size = len(buffer)
        if size <= _BUFFER_MAX and self._buffers_size + size <= _BUFFERS_KEPT:
            self._buffers.append(buffer)
            self._buffers_size += size

    # -- shutdown ---------------------------------------------------------------------------------
    async def aclose(self, closed_error: Any) -> None:
        """Fail requests in flight (``closed_error(request)`` builds the error), close everything."""
        conns = list(self._conns)
        for stack in self.idle_stacks.values():
            stack.clear()
        if not conns:
            return
        loop = asyncio.get_running_loop()
        self._closed_all = loop.create_future()
        for conn in conns:
            request = conn.request
            if conn.transport is None:  # still connecting: its opener sees the error and discards it
                self._conns.discard(conn)
            elif conn.state != IDLE and conn.state != COMPLETE and request is not None:
                conn.fail(closed_error(request))
            else:
                conn.close()
        # Closing happens on the loop's next iterations; wait for it so no socket outlives the session.
        waiter = self._closed_all
        if not self._conns:
            waiter.set_result(None)
        if not waiter.done():
            handle = loop.call_later(_CLOSE_WAIT, _settle, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
        self._conns.clear()


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
