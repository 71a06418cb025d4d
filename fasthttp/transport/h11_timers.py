"""The one timer of an HTTP/1.1 connection: deadlines and idle expiry (a mixin of ``H11Connection``).

Rules:

- Exactly one ``TimerHandle`` per open connection (``_arm``), armed from
  ``connection_made`` on, never more. It fires at the earliest of: the request's
  total deadline; the write deadline (while an upload waits for the socket to
  drain); the read-inactivity deadline (while somebody waits for data); and one
  ``keepalive_expiry`` after it was armed (a heartbeat). When it fires it checks
  the real times (``_on_timer``) and re-arms.
- It is cancelled only when something needs an *earlier* time than the one
  armed, so a request normally costs no timer operation at all (its deadline is
  later than the heartbeat already armed), and neither does releasing a
  connection: the heartbeat guarantees the timer runs within
  ``keepalive_expiry`` of any release.
- Arriving data only stores ``loop.time()`` (``_last_data``), and only when a
  read timeout is set: the timer compares it with the read timeout when it fires.
- On an IDLE connection the timer closes it at ``keepalive_expiry`` after it
  became idle and ignores every request deadline: a pooled connection never
  times out (RESEARCH.md scenario 34).
- A timeout fails the request with its sentence (``h11_errors``) and closes the
  connection (``_fail``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, cast

from . import h11_errors as errors
from .h11_states import BODY, COMPLETE, IDLE, INF, WAITING

if TYPE_CHECKING:
    from ..config import Timeout
    from ..models import Request
    from .h11_protocol import ConnectionOwner, H11Connection

__all__ = ["Timers"]

# A timer may run a hair before its time (the loop's clock resolution): count that as on time
# rather than re-arming for a few microseconds.
_SLACK: Final = 1e-4


class Timers:
    """The timer half of ``H11Connection`` (the attributes are the connection's own)."""

    if not TYPE_CHECKING:  # empty slots keep H11Connection dict-free; mypy checks the connection's own
        __slots__ = ()
    else:
        loop: asyncio.AbstractEventLoop
        state: int
        request: Request | None
        idle_since: float
        _owner: ConnectionOwner
        _expiry: float
        _timeout: Timeout | None
        _timer: asyncio.TimerHandle | None
        _timer_at: float
        _deadline: float
        _write_deadline: float
        _read_timeout: float | None
        _reading: bool
        _last_data: float

        def _fail(self, error: BaseException) -> None: ...

    def _arm(self, at: float) -> None:
        # Never sleep past keepalive_expiry: then a connection released at any moment is checked for
        # expiry on time without touching the timer on release (see the module rules).
        latest = self.loop.time() + self._expiry
        if at > latest:
            at = latest
        timer = self._timer
        if timer is not None:
            if self._timer_at <= at:
                return
            timer.cancel()
        self._timer_at = at
        self._timer = self.loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = INF
        state = self.state
        now = self.loop.time() + _SLACK
        if state == IDLE:
            expires = self.idle_since + self._expiry
            if now >= expires:
                self._owner.expire(cast("H11Connection", self))
            else:
                self._arm(expires)
            return
        if not WAITING <= state <= BODY:
            if state == COMPLETE:  # a streamed response read but not closed yet: keep the heartbeat
                self._arm(INF)
            return
        request, timeout = self.request, self._timeout
        assert request is not None and timeout is not None
        due = self._deadline
        if now >= due:
            self._fail(errors.total_timeout(request, timeout))
            return
        write_due = self._write_deadline
        if write_due < INF:
            if now >= write_due:
                self._fail(errors.write_timeout(request, timeout))
                return
            due = min(due, write_due)
        read = self._read_timeout
        if read is not None and self._reading:
            read_due = self._last_data + read
            if now >= read_due:
                self._fail(errors.read_timeout(request, timeout))
                return
            due = min(due, read_due)
        self._arm(due)  # at the latest one keepalive_expiry from now (the heartbeat)
