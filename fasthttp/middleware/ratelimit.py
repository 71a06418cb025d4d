"""RateLimitMiddleware: pace outgoing requests with a token bucket, per origin or globally.

Rules:
- a bucket holds at most ``burst`` tokens (default 1) and refills at ``rate / per``
  tokens a second on the event loop's monotonic clock; every request takes one
  token before it goes on down the chain. ``burst=1`` spaces requests evenly
  (``per / rate`` seconds apart), which never exceeds a server's sliding-window
  limit of ``rate`` per ``per``; ``burst=n`` lets ``n`` go back to back first;
- ``per_host=True`` (default): one bucket per origin ``(scheme, host, port)``, so a
  slow API does not slow the others; ``per_host=False``: one bucket for everything.
  Idle, full buckets are dropped once more than ``max_hosts`` origins are tracked
  (a full idle bucket is the same as a new one, so nothing is lost);
- waiting requests are served strictly first come, first served: a newcomer never
  takes a token while others wait, and a token is handed to the head of the queue
  directly, so nobody can barge in between;
- waiting counts against the request's deadline (``request.timeout.total``): a
  request that cannot get a token in time raises ``PoolTimeout`` and the one that
  gets it goes on with ``total`` reduced by the time it waited;
- cancellation (or that timeout) while waiting takes nothing and releases nothing;
  a request cancelled after a token was handed to it but before it resumed gives
  that one token back to the next in line, since it never sent anything;
- bad arguments fail at construction with a sentence saying what is allowed.

Place it inside (after) ``RetryMiddleware`` so every retry attempt is paced too.

Why not aiolimiter: ``AsyncLimiter`` (1.3) is a leaky bucket whose burst is tied
to the rate (``max_rate`` per ``time_period``), it has no deadline for the wait,
and it is not FIFO: ``acquire()`` loops on ``has_capacity()``, so a task that
arrives after capacity was freed for a queued waiter, but before that waiter
resumed, takes it; the waiter then re-queues behind it. Reproduced here: with
one waiter queued for 50 ms, a task arriving 0.5 ms before the slot went first,
every run (``test_later_arrival_cannot_barge_ahead`` checks our bucket against
exactly that). The bucket below hands each token to the head of the queue
itself, so it is FIFO by construction, in about 80 lines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections import deque
from typing import TYPE_CHECKING

from ..config import Timeout
from ..exceptions import PoolTimeout
from ..security.redact import mask_url

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response
    from .base import CallNext

__all__ = ["RateLimitMiddleware", "TokenBucket"]

_EPSILON = 1e-9
Origin = tuple[str, str | None, int | None]


def _grant(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class TokenBucket:
    """A FIFO token bucket on the running loop's clock: ``await acquire(timeout)`` -> bool."""

    __slots__ = ("_interval", "_loop", "_timer", "_tokens", "_updated", "_waiters", "capacity")

    def __init__(self, capacity: int, interval: float) -> None:
        self.capacity = capacity
        self._interval = interval  # seconds per token
        self._tokens = float(capacity)
        self._updated: float | None = None
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def idle(self) -> bool:
        """No one waiting and no token missing: indistinguishable from a new bucket."""
        if self._waiters:
            return False
        self._refill()
        return self._tokens >= self.capacity - _EPSILON

    def _refill(self) -> None:
        if self._loop is None:
            return
        now = self._loop.time()
        if self._updated is not None and self._tokens < self.capacity:
            self._tokens = min(float(self.capacity), self._tokens + (now - self._updated) / self._interval)
        self._updated = now

    def try_acquire(self) -> bool:
        """Take a token now if one is free and no one is queued before us."""
        if self._waiters:
            return False
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a token, first come first served; False if ``timeout`` seconds pass first."""
        if self.try_acquire():
            return True
        loop = self._loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(timeout, _grant, waiter, False) if timeout is not None else None
        self._wake()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                # The token was handed over, but this task was cancelled before it could use it.
                self._tokens = min(float(self.capacity), self._tokens + 1.0)
                self._wake()
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    def _wake(self) -> None:
        """Hand tokens to the queue's head, then sleep until the next token is due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiters = self._waiters
        self._refill()
        while waiters:
            head = waiters[0]
            if head.done():  # cancelled or timed out: it took nothing
                waiters.popleft()
                continue
            if self._tokens < 1.0 - _EPSILON:
                break
            self._tokens -= 1.0
            waiters.popleft()
            head.set_result(True)
        if waiters and self._loop is not None:
            delay = max(0.0, (1.0 - self._tokens) * self._interval)
            self._timer = self._loop.call_later(delay, self._wake)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"RateLimitMiddleware {name}= must be a number, got {type(value).__name__}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"RateLimitMiddleware {name}={value!r} must be a positive, finite number "
            "(rate=5, per=1.0 means 5 requests a second)."
        )
    return float(value)


class RateLimitMiddleware:
    """At most ``rate`` requests per ``per`` seconds, per origin or for the whole session.

    ``burst``: how many may go back to back when the bucket is full (default 1:
    evenly spaced). ``max_hosts``: how many per-origin buckets are kept before
    idle ones are dropped. See the module docstring for the rules.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        per_host: bool = True,
        burst: int | None = None,
        max_hosts: int = 1024,
    ) -> None:
        self.rate = _positive("rate", rate)
        self.per = _positive("per", per)
        if burst is None:
            burst = 1
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"RateLimitMiddleware burst={burst!r} must be a whole number >= 1, or None for 1.")
        if isinstance(max_hosts, bool) or not isinstance(max_hosts, int) or max_hosts < 1:
            raise ValueError(f"RateLimitMiddleware max_hosts={max_hosts!r} must be a whole number >= 1.")
        self.burst = burst
        self.per_host = bool(per_host)
        self.max_hosts = max_hosts
        self.interval = self.per / self.rate
        self._global = TokenBucket(burst, self.interval)
        self._buckets: dict[Origin, TokenBucket] = {}

    def __repr__(self) -> str:
        scope = "per host" if self.per_host else "global"
        return f"<RateLimitMiddleware {self.rate:g}/{self.per:g}s burst={self.burst} {scope}>"

    def bucket_for(self, request: Request) -> TokenBucket:
        """The bucket ``request`` draws from."""
        if not self.per_host:
            return self._global
        url = request.url
        key = (url.scheme, url.host, url.port)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_hosts:
                self._prune()
            bucket = self._buckets[key] = TokenBucket(self.burst, self.interval)
        return bucket

    def _prune(self) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.idle]:
            del self._buckets[key]

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        bucket = self.bucket_for(request)
        if bucket.try_acquire():
            return await call_next(request)
        timeout = request.timeout
        total = timeout.total if isinstance(timeout, Timeout) else None
        loop = asyncio.get_running_loop()
        started = loop.time()
        if not await bucket.acquire(total):
            raise PoolTimeout(
                f"{request.method} {mask_url(request.url)} waited its whole {total:g} s deadline for a rate-limit "
                f"slot ({self.rate:g} per {self.per:g} s). Send fewer requests at once, or raise the rate or timeout=.",
                request=request,
            )
        if total is not None:
            assert isinstance(timeout, Timeout)
            remaining = total - (loop.time() - started)
            if remaining <= 0:
                raise PoolTimeout(
                    f"{request.method} {mask_url(request.url)} used its whole {total:g} s deadline waiting for a "
                    "rate-limit slot.",
                    request=request,
                )
            request = request.copy_with(timeout=dataclasses.replace(timeout, total=remaining))
        return await call_next(request)
