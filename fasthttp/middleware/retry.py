"""RetryMiddleware: bounded, deadline-aware retries with full jitter and a retry budget.

Rules (the recommended defaults of shared/reliability/RESEARCH.md section 3):

- **Attempts and deadline.** At most ``attempts`` (3) attempts in total, all under
  ONE deadline: ``request.timeout.total`` measured from the start of the first
  attempt. Each attempt gets a copy of the request whose ``timeout.total`` is the
  time left, so the transport enforces the whole-request deadline. No attempt
  starts and no backoff sleep begins when it would end past the deadline.
- **What is retried.**
  - connect-phase failures, for ANY method (the request was not sent):
    ``ConnectError`` (except ``TLSError`` of kind ``certificate``/``hostname``,
    which is not transient), ``ConnectTimeout``, ``PoolTimeout``;
  - only for idempotent methods (GET HEAD OPTIONS PUT DELETE TRACE) or requests
    carrying an ``Idempotency-Key`` header, because the server may already have
    acted on them: statuses in ``retry_statuses`` (502 503 504), a 429 that
    carries ``Retry-After``, ``ReadTimeout``, and a dropped connection
    (``ProtocolError`` such as "server disconnected", ``ReadError``,
    ``WriteError``, ``WriteTimeout``). A POST that failed after its bytes were
    sent is NOT retried;
  - a request whose body is streamed (an async iterable: ``not
    request.is_replayable``) is never retried; a bytes body is replayed as is;
  - ``SecurityError`` (``CircuitOpenError``, ``SSRFBlocked``, ...) and every other
    error end the loop at once; cancellation is never caught.
- **Waiting.** ``Retry-After`` (delay-seconds or an HTTP-date, RFC 9110 section
  10.2.3) is honoured on 429 and 503 when ``respect_retry_after``: the wait must
  fit in ``min(max_retry_after, time left before the deadline)``, otherwise the
  response is returned at once instead of sleeping. Without it the wait is
  exponential backoff with full jitter: ``U(0, min(backoff_max, backoff_base * 2**n))``
  before retry ``n`` (0-based).
- **Budget.** A ``RetryBudget`` (gRPC A6 ``retryThrottling``) is shared by every
  request through this middleware instance, i.e. by the session: each failed
  attempt (a retryable status or error) takes one token, each other response
  gives back ``token_ratio``; no retry is made while tokens <= ``max_tokens / 2``,
  so a failing server is not hammered by 3x its traffic.
- **Logging.** Every retry is one DEBUG line on ``fasthttp.retry`` with the masked
  URL, the attempt number, the cause (status code or exception type) and the wait;
  never headers, bodies or exception texts.
- Discarded responses are released: a streamed one (``session.stream()``, it has
  ``aclose()``) is closed before the backoff wait, so it holds no connection while
  waiting; a buffered one is dropped when the next attempt starts (it is returned
  instead if the deadline passes during the wait).

Place it first (outermost) in ``middleware=[...]`` so a cache answers before it
and a rate limiter paces every attempt; signing runs after the chain, so each
attempt is re-signed.

Why no stamina or tenacity: both are built to wrap a function and retry on
exceptions. Our loop retries on *responses* (a 503 is not an exception), hands
each attempt a request carrying the time left, returns the last response
instead of raising, and consults a budget shared across requests; those do
not fit ``stamina.retry_context`` or ``tenacity.AsyncRetrying`` without
sentinel exceptions. The only piece they could supply is the backoff formula:
tenacity's ``wait_random_exponential`` is full jitter but needs a
``RetryCallState`` and uses the global ``random`` module; stamina's backoff is
``base * 2**n`` plus an *additive* ``U(0, jitter)``, which is not full jitter.
The formula is one line here, with an injectable ``rng`` for tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..config import Timeout
from ..exceptions import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    SecurityError,
    TLSError,
    WriteError,
    WriteTimeout,
)
from ..security.redact import mask_url

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response
    from .base import CallNext

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryBudget",
    "RetryMiddleware",
    "RetryPolicy",
    "parse_retry_after",
]

log = logging.getLogger("fasthttp.retry")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_NOT_TRANSIENT_TLS = frozenset({"certificate", "hostname"})
_CONNECT_PHASE = (ConnectError, ConnectTimeout, PoolTimeout)
_AFTER_SEND = (ReadTimeout, ProtocolError, ReadError, WriteError, WriteTimeout)
ATTEMPT_EXTENSION = "fasthttp.retry.attempt"

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


def _number(name: str, value: object, *, minimum: float = 0.0, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}= must be a number, got {type(value).__name__}.")
    if not math.isfinite(value) or value < minimum or (not allow_zero and value == minimum):
        bound = f"> {minimum:g}" if not allow_zero else f">= {minimum:g}"
        raise ValueError(f"{name}={value!r} must be a finite number {bound}.")
    return float(value)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date), or None if invalid.

    A date in the past gives 0; ``now`` is the wall clock (``time.time()``) for dates.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text)) if len(text) <= 12 else math.inf
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


class RetryBudget:
    """A gRPC A6 style retry throttle, shared by all requests of one session.

    Starts full at ``max_tokens``. ``record_failure()`` takes one token (a failed
    attempt), ``record_success()`` adds ``token_ratio`` (up to ``max_tokens``).
    ``can_retry()`` is False while tokens <= ``max_tokens / 2``.
    """

    __slots__ = ("max_tokens", "token_ratio", "tokens")

    def __init__(self, max_tokens: float = 100.0, token_ratio: float = 0.1) -> None:
        self.max_tokens = _number("max_tokens", max_tokens, allow_zero=False)
        self.token_ratio = _number("token_ratio", token_ratio, allow_zero=False)
        self.tokens = self.max_tokens

    def record_failure(self) -> None:
        self.tokens = max(0.0, self.tokens - 1.0)

    def record_success(self) -> None:
        if self.tokens < self.max_tokens:
            self.tokens = min(self.max_tokens, self.tokens + self.token_ratio)

    def can_retry(self) -> bool:
        return self.tokens > self.max_tokens / 2

    def __repr__(self) -> str:
        return f"<RetryBudget tokens={self.tokens:g}/{self.max_tokens:g} ratio={self.token_ratio:g}>"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The knobs of ``RetryMiddleware`` as one frozen value (``retry=RetryPolicy(...)``).

    ``budget=True`` gives each middleware built from the policy its own
    ``RetryBudget(budget_max_tokens, budget_token_ratio)`` (one per session);
    ``budget=False`` turns the budget off.
    """

    attempts: int = 3
    backoff_base: float = 0.2
    backoff_max: float = 10.0
    retry_statuses: tuple[int, ...] = (502, 503, 504)
    respect_retry_after: bool = True
    max_retry_after: float = 60.0
    budget: bool = True
    budget_max_tokens: float = 100.0
    budget_token_ratio: float = 0.1

    def __post_init__(self) -> None:
        attempts = self.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise TypeError(f"attempts= must be a whole number, got {type(attempts).__name__}.")
        if attempts < 1:
            raise ValueError(f"attempts={attempts!r} must be >= 1 (1 means: send once, never retry).")
        _number("backoff_base", self.backoff_base)
        _number("backoff_max", self.backoff_max)
        _number("max_retry_after", self.max_retry_after)
        statuses = tuple(self.retry_statuses)
        for status in statuses:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError(f"retry_statuses= must hold HTTP status codes (100..599); got {status!r}.")
        object.__setattr__(self, "retry_statuses", statuses)
        if self.budget:
            RetryBudget(self.budget_max_tokens, self.budget_token_ratio)  # validates both


def _is_retryable_error(error: Exception) -> Literal["connect", "sent"] | None:
    """``connect``: the request never left (retry any method); ``sent``: it may have been
    processed (retry idempotent requests only); None: never retry."""
    if isinstance(error, SecurityError):
        return None
    if isinstance(error, TLSError) and error.kind in _NOT_TRANSIENT_TLS:
        return None
    if isinstance(error, _CONNECT_PHASE):
        return "connect"
    if isinstance(error, _AFTER_SEND):
        return "sent"
    return None


def _finish(response: Response, attempts: int) -> Response:
    if attempts > 1:
        response.extensions["retries"] = attempts - 1
    return response


async def _release(response: object) -> None:
    close = getattr(response, "aclose", None)
    if close is not None:
        await close()


class RetryMiddleware:
    """Retry failed attempts of a request (rules in the module docstring).

    ``budget``: None (default) gives this middleware, hence its session, its own
    ``RetryBudget()``; pass a ``RetryBudget`` to share or tune one, or False for none.
    ``rng`` draws the jitter, ``sleep`` waits and ``clock`` (monotonic seconds)
    measures the deadline; all three are injectable for tests.
    """

    def __init__(
        self,
        attempts: int = 3,
        *,
        backoff_base: float = 0.2,
        backoff_max: float = 10.0,
        retry_statuses: Iterable[int] = (502, 503, 504),
        respect_retry_after: bool = True,
        max_retry_after: float = 60.0,
        budget: RetryBudget | Literal[False] | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if budget is not None and budget is not False and not isinstance(budget, RetryBudget):
            raise TypeError(
                f"budget= must be a RetryBudget, None (a new default budget) or False (no budget); got {budget!r}."
            )
        self.policy = RetryPolicy(
            attempts=attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            retry_statuses=tuple(retry_statuses),
            respect_retry_after=respect_retry_after,
            max_retry_after=max_retry_after,
            budget=budget is not False,
            **(
                {"budget_max_tokens": budget.max_tokens, "budget_token_ratio": budget.token_ratio}
                if isinstance(budget, RetryBudget)
                else {}
            ),
        )
        self.attempts = attempts
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.retry_statuses = frozenset(self.policy.retry_statuses)
        self.respect_retry_after = bool(respect_retry_after)
        self.max_retry_after = float(max_retry_after)
        self.budget: RetryBudget | None = (
            None if budget is False else budget if isinstance(budget, RetryBudget) else RetryBudget()
        )
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_policy(
        cls,
        policy: RetryPolicy,
        *,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> RetryMiddleware:
        """A middleware with ``policy``'s knobs (and a fresh budget of its own when ``policy.budget``)."""
        budget: RetryBudget | Literal[False] = (
            RetryBudget(policy.budget_max_tokens, policy.budget_token_ratio) if policy.budget else False
        )
        return cls(
            policy.attempts,
            backoff_base=policy.backoff_base,
            backoff_max=policy.backoff_max,
            retry_statuses=policy.retry_statuses,
            respect_retry_after=policy.respect_retry_after,
            max_retry_after=policy.max_retry_after,
            budget=budget,
            rng=rng,
            sleep=sleep,
            clock=clock,
        )

    @classmethod
    def from_option(cls, value: object) -> RetryMiddleware | None:
        """The session's ``retry=`` option: None/False (no retries), True (the defaults),
        an int (that many attempts), a ``RetryPolicy``, or a ``RetryMiddleware`` (used as is)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, RetryMiddleware):
            return value
        if isinstance(value, RetryPolicy):
            return cls.from_policy(value)
        if isinstance(value, int):
            return cls(value)
        raise TypeError(
            f"retry= must be True, False, None, a number of attempts, or a fasthttp RetryPolicy; "
            f"got {type(value).__name__}."
        )

    def __repr__(self) -> str:
        return f"<RetryMiddleware attempts={self.attempts} statuses={sorted(self.retry_statuses)} {self.budget!r}>"

    def backoff(self, retry_number: int) -> float:
        """Full jitter: ``U(0, min(backoff_max, backoff_base * 2**retry_number))``."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(retry_number, 64))
        return self._rng.uniform(0.0, ceiling)

    # -- the loop -----------------------------------------------------------------------
    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if self.attempts == 1:
            return await call_next(request)
        clock = self._clock
        timeout = request.timeout
        deadline = clock() + timeout.total if isinstance(timeout, Timeout) and timeout.total is not None else None
        may_resend = request.is_replayable and (
            request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers
        )
        budget = self.budget
        attempt = 0
        last_response: Response | None = None
        last_error: Exception | None = None
        while True:
            attempt += 1
            # A fresh copy per attempt: whatever inner layers (signing) add to one attempt's
            # headers never leaks into the next.
            attempt_request = request.copy_with()
            attempt_request.extensions[ATTEMPT_EXTENSION] = attempt
            if deadline is not None and attempt > 1:
                assert isinstance(timeout, Timeout)
                remaining = deadline - clock()
                if remaining <= 0:  # the backoff sleep overran the deadline
                    log.debug("%s %s: deadline passed during backoff; giving up", request.method, mask_url(request.url))
                    if last_response is not None:
                        return _finish(last_response, attempt - 1)
                    if last_error is not None:
                        raise last_error
                    raise ReadTimeout(  # the failed attempt was a stream, already closed before the wait
                        f"{request.method} {mask_url(request.url)} used its whole {timeout.total:g} s deadline "
                        "waiting to retry.",
                        request=request,
                    )
                attempt_request.timeout = dataclasses.replace(timeout, total=remaining)
            last_response = last_error = None
            try:
                response = await call_next(attempt_request)
            except Exception as error:
                kind = _is_retryable_error(error)
                if kind is None:
                    raise
                if budget is not None:
                    budget.record_failure()
                if (kind == "sent" and not may_resend) or not request.is_replayable:
                    raise
                delay = self._next_delay(request, attempt, deadline, type(error).__name__, None)
                if delay is None:
                    raise
                last_error = error
            else:
                if not self._is_retryable_status(response):
                    if budget is not None:
                        budget.record_success()
                    return _finish(response, attempt)
                if budget is not None:
                    budget.record_failure()
                if not may_resend:
                    return _finish(response, attempt)
                delay = self._next_delay(request, attempt, deadline, str(response.status_code), response)
                if delay is None:
                    return _finish(response, attempt)
                if hasattr(response, "aclose"):
                    await _release(response)  # a streamed response: free its connection before waiting
                else:
                    last_response = response  # buffered: kept, in case the deadline passes while waiting
            await self._sleep(delay)

    def _is_retryable_status(self, response: Response) -> bool:
        status = response.status_code
        if status in self.retry_statuses:
            return True
        return status == 429 and self.respect_retry_after and "retry-after" in response.headers

    def _next_delay(
        self, request: Request, attempt: int, deadline: float | None, cause: str, response: Response | None
    ) -> float | None:
        """The wait before the next attempt, or None when no further attempt may be made."""
        method, url = request.method, request.url
        if attempt >= self.attempts:
            log.debug(
                "%s %s: attempt %d/%d failed (%s); no attempts left",
                method,
                mask_url(url),
                attempt,
                self.attempts,
                cause,
            )
            return None
        if self.budget is not None and not self.budget.can_retry():
            log.debug(
                "%s %s: attempt %d failed (%s); retry budget exhausted, not retrying",
                method,
                mask_url(url),
                attempt,
                cause,
            )
            return None
        remaining = math.inf if deadline is None else deadline - self._clock()
        delay: float | None = None
        if response is not None and self.respect_retry_after and response.status_code in _RETRY_AFTER_STATUSES:
            delay = parse_retry_after(response.headers.get("retry-after"))
            if delay is not None and delay > min(self.max_retry_after, remaining):
                log.debug(
                    "%s %s: attempt %d got %s with Retry-After %.1f s, past min(max_retry_after, deadline); "
                    "returning it",
                    method,
                    mask_url(url),
                    attempt,
                    cause,
                    delay,
                )
                return None
        if delay is None:
            delay = self.backoff(attempt - 1)
        if delay >= remaining:
            log.debug(
                "%s %s: attempt %d failed (%s); a %.3f s wait would pass the deadline",
                method,
                mask_url(url),
                attempt,
                cause,
                delay,
            )
            return None
        log.debug(
            "retrying %s %s: attempt %d/%d failed (%s); next attempt in %.3f s",
            method,
            mask_url(url),
            attempt,
            self.attempts,
            cause,
            delay,
        )
        return delay
