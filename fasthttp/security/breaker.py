"""Per-origin circuit breaker: a pure state machine driven by an injected clock.

Rules (shared/reliability/RESEARCH.md section 2):

- CLOSED: every request passes. ``failure_threshold`` (5) CONSECUTIVE failures open
  the circuit. A success resets the count; a neutral outcome changes nothing, so a
  flood of 404s neither trips the breaker nor hides the 503s between them.
  "Consecutive" is judged by when attempts STARTED, not when they ended: a failure
  counts only if its attempt started after the latest successful attempt started.
  Requests sent together often fail together (5 stalls in a burst of 200); those
  say the origin was bad before the later successes, not that it is bad now.
- OPEN: requests are refused at once with ``CircuitOpenError`` whose ``retry_after``
  is the time left. The first opening lasts ``open_for`` (30 s); every failed probe
  doubles it up to ``max_open_for`` (300 s): 30, 60, 120, 240, 300, 300. An optional
  ``jitter`` fraction spreads each duration by up to ± that share (``rng`` in [0, 1)).
- HALF_OPEN (once the open time has passed): exactly ONE request, the probe, is let
  through; while it is in flight every other request is refused at once
  (``retry_after=probe_retry_after``). ``success_threshold`` (1) probe successes
  close the circuit (the next opening is ``open_for`` again); a probe failure opens
  it for the doubled time; a neutral probe (4xx, cancellation, a policy block) frees
  the slot and changes nothing else. A probe not reported within ``probe_timeout``
  is abandoned and the next request becomes the probe, so a leaked ticket cannot
  lock an origin out for ever.
- Outcomes are reported with the ``Ticket`` that ``before_request`` returned. A
  ticket counts once; tickets issued before the last state change are ignored (a
  slow request that started while CLOSED can neither reopen nor close a circuit
  whose state it no longer describes).
- What is a failure, a success or neither: ``classify_outcome``. Failures are the
  origin's fault (connect errors, connect/read/write timeouts, protocol and read/write
  errors, 500/502/503/504); neutral are the caller's or our own (4xx incl. 429,
  cancellation, security refusals incl. this breaker's own error, invalid URLs,
  size limits, pool timeouts: an exhausted local pool says nothing about the origin).
- ``BreakerRegistry`` keeps one breaker per origin ``(scheme, host, port)`` in a
  bounded LRU that evicts the least recently used CLOSED breaker first.
- The clock is ``time.monotonic`` by default (wall clocks jump); nothing here sleeps
  or does I/O. State changes are logged on ``fasthttp.security`` (INFO when a circuit
  opens or closes) and passed to ``on_state_change(origin, old, new)``.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Literal

from yarl import URL

from ..exceptions import (
    CircuitOpenError,
    ConnectError,
    PoolTimeout,
    ProtocolError,
    ReadError,
    TimeoutException,
    WriteError,
)

__all__ = [
    "BreakerRegistry",
    "CircuitBreaker",
    "CircuitState",
    "Origin",
    "Outcome",
    "StateChangeCallback",
    "Ticket",
    "classify_outcome",
    "format_origin",
    "origin_of",
]

logger = logging.getLogger("fasthttp.security")

Outcome = Literal["success", "failure", "neutral"]
Origin = tuple[str, str, int]
"""``(scheme, host, port)``: what one breaker protects."""

_DISABLE_HINT: Final = "turn the breaker off with SecurityConfig(circuit_breaker=False)"
_MAX_URLS: Final = 1024  # URL objects remembered by BreakerRegistry.for_url
_FAILURE_STATUSES: Final = frozenset({500, 502, 503, 504})
_FAILURE_ERRORS: Final = (ConnectError, TimeoutException, ProtocolError, ReadError, WriteError)


class CircuitState(str, enum.Enum):
    """The three states of a breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __str__(self) -> str:
        return self.value


# Plain module names for the members: ``CircuitState.CLOSED`` is an attribute lookup through the
# enum's metaclass (~0.1 µs on Python 3.11), and the breaker tests the state on every request.
_CLOSED: Final = CircuitState.CLOSED
_OPEN: Final = CircuitState.OPEN
_HALF_OPEN: Final = CircuitState.HALF_OPEN


StateChangeCallback = Callable[[str, CircuitState, CircuitState], None]
"""``on_state_change(origin, old, new)``."""


def classify_outcome(error: BaseException | None, status: int | None) -> Outcome:
    """Whether a finished attempt counts against the origin ("failure"), for it ("success"),
    or not at all ("neutral"); ``error`` wins over ``status`` when both are given."""
    if error is not None:
        if isinstance(error, PoolTimeout):
            return "neutral"  # our own pool was full: nothing was learnt about the origin
        if isinstance(error, _FAILURE_ERRORS):
            return "failure"
        return "neutral"  # cancellation, SecurityError (incl. CircuitOpenError), InvalidURL, local errors
    if status is None:
        return "neutral"
    if status in _FAILURE_STATUSES:
        return "failure"
    if 400 <= status < 500:
        return "neutral"
    return "success"


def format_origin(origin: Origin) -> str:
    """``("https", "api.example.com", 443)`` -> ``"https://api.example.com:443"``."""
    scheme, host, port = origin
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def origin_of(url: URL) -> Origin:
    """The origin a URL belongs to: scheme, lower-cased host, effective port."""
    return (url.scheme, (url.raw_host or "").lower(), url.port or 0)


class Ticket:
    """Permission for one attempt; report its outcome exactly once (later reports are ignored)."""

    __slots__ = ("done", "epoch", "probe", "seq")

    def __init__(self, epoch: int, probe: bool, seq: int = 0) -> None:
        self.epoch = epoch
        self.probe = probe
        self.done = False
        self.seq = seq  # when the attempt started, in the breaker's own order

    def __repr__(self) -> str:
        kind = "probe" if self.probe else "normal"
        return f"<Ticket {kind} epoch={self.epoch}{' done' if self.done else ''}>"


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"CircuitBreaker {name}={value!r} must be a positive number of seconds.")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"CircuitBreaker {name}={value!r} must be a whole number >= 1.")
    return value


class CircuitBreaker:
    """The breaker for one origin (see the module docstring for the rules)."""

    __slots__ = (
        "_clock",
        "_epoch",
        "_failures",
        "_jitter",
        "_last_success_seq",
        "_max_open_for",
        "_on_state_change",
        "_open_for",
        "_open_period",
        "_open_reason",
        "_open_until",
        "_probe_retry_after",
        "_probe_started",
        "_probe_timeout",
        "_rng",
        "_seq",
        "_state",
        "_success_threshold",
        "_successes",
        "failure_threshold",
        "origin",
    )

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        failure_threshold: int = 5,
        success_threshold: int = 1,
        open_for: float = 30.0,
        max_open_for: float = 300.0,
        jitter: float = 0.0,
        rng: Callable[[], float] = random.random,
        probe_retry_after: float = 1.0,
        probe_timeout: float | None = 60.0,
        origin: str = "this origin",
        on_state_change: StateChangeCallback | None = None,
    ) -> None:
        self._clock = clock
        self.failure_threshold = _count("failure_threshold", failure_threshold)
        self._success_threshold = _count("success_threshold", success_threshold)
        self._open_for = _positive("open_for", open_for)
        self._max_open_for = _positive("max_open_for", max_open_for)
        if self._max_open_for < self._open_for:
            raise ValueError(f"CircuitBreaker max_open_for={max_open_for!r} must be >= open_for={open_for!r}.")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ValueError(f"CircuitBreaker jitter={jitter!r} must be a fraction in [0, 1), e.g. 0.2 for ±20%.")
        self._jitter = float(jitter)
        self._rng = rng
        self._probe_retry_after = _positive("probe_retry_after", probe_retry_after)
        self._probe_timeout = None if probe_timeout is None else _positive("probe_timeout", probe_timeout)
        self.origin = origin
        self._on_state_change = on_state_change
        self._state = _CLOSED
        self._epoch = 0
        self._seq = 0  # attempts issued
        self._last_success_seq = 0  # the start order of the latest successful attempt
        self._failures = 0
        self._successes = 0
        self._open_period = self._open_for
        self._open_until = 0.0
        self._open_reason = ""
        self._probe_started: float | None = None

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.origin} {self._state.value} failures={self._failures}>"

    # -- reading ----------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        """The current state (an OPEN circuit whose time has passed reads HALF_OPEN)."""
        self._refresh(self._clock())
        return self._state

    @property
    def retry_after(self) -> float:
        """Seconds until a request may be let through (0.0 when one may be now)."""
        now = self._clock()
        self._refresh(now)
        if self._state is _OPEN:
            return max(0.0, self._open_until - now)
        if self._state is _HALF_OPEN and self._probe_started is not None:
            return self._probe_retry_after
        return 0.0

    @property
    def failures(self) -> int:
        """Consecutive failures counted while CLOSED."""
        return self._failures

    @property
    def open_period(self) -> float:
        """How long the circuit stays open the next (or current) time, before jitter."""
        return self._open_period

    # -- the state machine ------------------------------------------------------------------

    def before_request(self) -> Ticket:
        """A ticket for one attempt, or CircuitOpenError when the origin must not be tried now."""
        self._seq += 1
        if self._state is _CLOSED:  # the common case: no clock, no refresh needed
            return Ticket(self._epoch, False, self._seq)
        now = self._clock()
        self._refresh(now)  # OPEN may become HALF_OPEN here, never CLOSED
        if self._state is _OPEN:
            wait = max(0.0, self._open_until - now)
            raise CircuitOpenError(
                f"The circuit breaker for {self.origin} is open {self._open_reason}, so the request was not "
                f"sent; retry in {wait:.1f} s, or {_DISABLE_HINT}.",
                retry_after=wait,
            )
        if self._probe_started is not None:
            raise CircuitOpenError(
                f"The circuit breaker for {self.origin} is half-open and one probe request is already testing "
                f"the origin, so this request was not sent; retry in {self._probe_retry_after:.1f} s, "
                f"or {_DISABLE_HINT}.",
                retry_after=self._probe_retry_after,
            )
        self._probe_started = now
        return Ticket(self._epoch, True, self._seq)

    def record_success(self, ticket: Ticket) -> None:
        """The attempt succeeded: reset the failure count, or count a probe success."""
        if ticket.seq > self._last_success_seq:
            self._last_success_seq = ticket.seq
        if ticket.done:  # _accept(), inlined: this runs once per successful request
            return
        ticket.done = True
        if ticket.epoch != self._epoch:
            return
        if self._state is _CLOSED:
            self._failures = 0
        elif self._state is _HALF_OPEN and ticket.probe:
            self._probe_started = None
            self._successes += 1
            if self._successes >= self._success_threshold:
                self._failures = 0
                self._open_period = self._open_for
                self._transition(_CLOSED, "its probe request succeeded")

    def record_failure(self, ticket: Ticket) -> None:
        """The attempt failed because of the origin: count it, or reopen after a failed probe."""
        if not self._accept(ticket):
            return
        now = self._clock()
        if self._state is _CLOSED:
            if ticket.seq < self._last_success_seq:
                return  # it started before a request that has since succeeded: not "consecutive"
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open(now, self._open_for, f"after {self._failures} consecutive failures")
        elif self._state is _HALF_OPEN and ticket.probe:
            self._probe_started = None
            self._open(now, min(self._open_period * 2, self._max_open_for), "after its probe request failed")

    def record_neutral(self, ticket: Ticket) -> None:
        """The attempt says nothing about the origin (4xx, cancellation, a policy block): free a
        half-open probe slot and change no counter."""
        if not self._accept(ticket):
            return
        if self._state is _HALF_OPEN and ticket.probe:
            self._probe_started = None

    def record(self, ticket: Ticket, outcome: Outcome) -> None:
        """Report ``outcome`` (from ``classify_outcome``) for ``ticket``."""
        if outcome == "success":
            self.record_success(ticket)
        elif outcome == "failure":
            self.record_failure(ticket)
        elif outcome == "neutral":
            self.record_neutral(ticket)
        else:
            raise ValueError(f"outcome must be 'success', 'failure' or 'neutral'; got {outcome!r}.")

    # -- internals --------------------------------------------------------------------------

    def _accept(self, ticket: Ticket) -> bool:
        """True the first time a current ticket reports; stale and repeated reports are ignored."""
        if ticket.done:
            return False
        ticket.done = True
        return ticket.epoch == self._epoch

    def _refresh(self, now: float) -> None:
        if self._state is _OPEN:
            if now >= self._open_until:
                self._successes = 0
                self._probe_started = None
                self._transition(_HALF_OPEN, "its open time has passed")
        elif (
            self._state is _HALF_OPEN
            and self._probe_started is not None
            and self._probe_timeout is not None
            and now - self._probe_started >= self._probe_timeout
        ):
            logger.debug("circuit breaker for %s abandoned a probe that did not report in time", self.origin)
            self._epoch += 1  # the late probe's report is now ignored
            self._probe_started = None

    def _open(self, now: float, period: float, reason: str) -> None:
        self._open_period = period
        duration = period
        if self._jitter:
            duration *= 1 + self._jitter * (2 * self._rng() - 1)
        self._open_until = now + duration
        self._open_reason = reason
        self._transition(_OPEN, f"{reason}; refusing requests for {duration:.1f} s")

    def _transition(self, new: CircuitState, why: str) -> None:
        old = self._state
        self._state = new
        self._epoch += 1
        level = logging.DEBUG if new is _HALF_OPEN else logging.INFO
        logger.log(level, "circuit breaker for %s is now %s (was %s): %s", self.origin, new.value, old.value, why)
        if self._on_state_change is not None:
            try:
                self._on_state_change(self.origin, old, new)
            except Exception:  # a monitoring hook must never break a request
                logger.warning("on_state_change callback for %s raised", self.origin, exc_info=True)


class BreakerRegistry:
    """One CircuitBreaker per origin in a bounded LRU; ``breaker_kwargs`` go to each breaker."""

    __slots__ = ("_breakers", "_by_url", "_kwargs", "max_origins")

    def __init__(self, max_origins: int = 1024, **breaker_kwargs: Any) -> None:
        if isinstance(max_origins, bool) or not isinstance(max_origins, int) or max_origins < 1:
            raise ValueError(f"BreakerRegistry max_origins={max_origins!r} must be a whole number >= 1.")
        if "origin" in breaker_kwargs:
            raise TypeError("BreakerRegistry names each breaker after its origin; do not pass origin=.")
        CircuitBreaker(**breaker_kwargs)  # fail now, not on the first request, on a bad setting
        self.max_origins = max_origins
        self._kwargs = breaker_kwargs
        self._breakers: OrderedDict[Origin, CircuitBreaker] = OrderedDict()
        # The breaker of each URL object last seen, by id(): one int-keyed lookup per request instead of
        # three yarl properties, a tuple and an LRU move. The entry holds the URL, so its id stays unique.
        # Cleared on every eviction, so it never hands out a breaker the registry has dropped.
        self._by_url: dict[int, tuple[URL, CircuitBreaker]] = {}

    def __len__(self) -> int:
        return len(self._breakers)

    def __contains__(self, origin: object) -> bool:
        return origin in self._breakers

    def get(self, origin: Origin) -> CircuitBreaker:
        """The breaker for ``origin`` (created CLOSED on first use; marks it recently used)."""
        breaker = self._breakers.get(origin)
        if breaker is not None:
            self._breakers.move_to_end(origin)
            return breaker
        if len(self._breakers) >= self.max_origins:
            self._evict()
        breaker = CircuitBreaker(origin=format_origin(origin), **self._kwargs)
        self._breakers[origin] = breaker
        return breaker

    def for_url(self, url: URL) -> CircuitBreaker:
        """The breaker for the origin of ``url``.

        A URL object seen before skips the LRU move: recency is then refreshed only when a new URL
        object of the origin arrives, which matters only once more than ``max_origins`` origins
        compete (and eviction prefers CLOSED breakers, which lose nothing by being recreated)."""
        hit = self._by_url.get(id(url))
        if hit is not None and hit[0] is url:
            return hit[1]
        breaker = self.get((url.scheme, (url.raw_host or "").lower(), url.port or 0))  # origin_of, inlined
        by_url = self._by_url
        if len(by_url) >= _MAX_URLS:
            by_url.clear()
        by_url[id(url)] = (url, breaker)
        return breaker

    def _evict(self) -> None:
        """Drop the least recently used CLOSED breaker, or the least recently used one."""
        victim = next(iter(self._breakers))
        for origin, breaker in self._breakers.items():
            if breaker._state is _CLOSED:
                victim = origin
                break
        evicted = self._breakers.pop(victim)
        self._by_url.clear()
        if evicted._state is not _CLOSED:
            logger.debug("breaker registry full: forgot the %s breaker for %s", evicted._state.value, evicted.origin)
