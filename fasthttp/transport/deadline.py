"""Total deadlines for many requests with one timer: a watch swept every 50 ms.

Why not one ``loop.call_at`` per request: with ~100 requests in flight, scheduling and
cancelling a timer per request costs ~10 us each in situ (asyncio's timer heap fills
with cancelled 30 s handles and is rebuilt again and again), a tenth of a request's
whole budget. A set insert and discard costs ~0.3 us, and one sweep every 50 ms scans
the few requests in flight. The price is precision: a deadline fires up to one tick
late (50 ms), which is fine for deadlines meant in seconds.

Rules:
- ``start(when)`` registers the current task; ``Deadline.cancel()`` unregisters it;
- the sweep cancels the task of every expired deadline and marks it fired; it runs
  only while deadlines are registered;
- ``Deadline.expired()`` tells a CancelledError caused by the deadline from any other:
  on Python 3.11+ the deadline's own cancellation is withdrawn (``uncancel``), and a
  cancellation requested by someone else at the same moment still wins.
"""

from __future__ import annotations

import asyncio

__all__ = ["TICK", "Deadline", "DeadlineWatch"]

TICK = 0.05


class Deadline:
    """One request's total deadline, registered in a ``DeadlineWatch``."""

    __slots__ = ("_fired", "_task", "_watch", "when")

    def __init__(self, watch: DeadlineWatch, task: asyncio.Task[object] | None, when: float) -> None:
        self._watch = watch
        self._task = task
        self.when = when
        self._fired = False

    def fire(self) -> None:
        task = self._task
        if task is not None and not task.done():
            self._fired = True
            task.cancel()

    def expired(self) -> bool:
        if not self._fired:
            return False
        uncancel = getattr(self._task, "uncancel", None)
        return uncancel is None or uncancel() == 0

    def cancel(self) -> None:
        self._watch.active.discard(self)


class DeadlineWatch:
    """The deadlines of one transport and the one timer that sweeps them."""

    __slots__ = ("_loop", "_timer", "active")

    def __init__(self) -> None:
        self.active: set[Deadline] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop, when: float) -> Deadline:
        """Register a deadline at loop time ``when`` for the current task."""
        deadline = Deadline(self, asyncio.current_task(), when)
        self.active.add(deadline)
        if self._timer is None:
            self._loop = loop
            self._timer = loop.call_at(min(when, loop.time() + TICK), self._sweep)
        return deadline

    def _sweep(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        expired = [deadline for deadline in self.active if deadline.when <= now]
        for deadline in expired:
            self.active.discard(deadline)
            deadline.fire()
        if self.active:
            soonest = min(deadline.when for deadline in self.active)
            self._timer = loop.call_at(max(now + 0.001, min(soonest, now + TICK)), self._sweep)
        else:
            self._timer = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.active.clear()
