"""A counting gate for connection slots: O(1) when a slot is free, FIFO waiters
with a deadline otherwise (``PoolTimeout``), and cancellation-safe.

Hand-written because ``asyncio.Semaphore`` cannot say why a wait ended, and
``asyncio.wait_for`` around it can lose a granted slot when a cancellation races
the grant on Python 3.10/3.11 (the pool-slot leak of encode/httpcore#1093).
Rules:
- ``free`` counts slots not held; a slot is either held or free, never both;
- a waiter is woken by ``release`` handing it the slot directly (the count is
  not incremented), so a newcomer cannot overtake a waiter;
- a waiter that is cancelled or times out after being handed a slot gives it
  back (to the next waiter, or to ``free``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["SlotGate"]


class SlotGate:
    """At most ``limit`` holders at once."""

    __slots__ = ("_waiters", "free", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued (the inline fast path)."""
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return True
        return False

    async def acquire(self, timeout: float | None) -> bool:
        """Wait for a slot; False when ``timeout`` seconds passed first."""
        if self.try_acquire():
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        except asyncio.TimeoutError:
            return False
        except BaseException:
            # Cancelled: if the slot was handed over in the same instant, pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(ValueError):  # already popped by release()
                self._waiters.remove(waiter)
        return True

    def release(self) -> None:
        """Give a slot back: to the first live waiter, else to the free count."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())
