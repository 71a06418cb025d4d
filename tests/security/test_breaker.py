"""CircuitBreaker and BreakerRegistry: every transition on a fake clock (no sleeps), and classify_outcome."""

from __future__ import annotations

import asyncio
import logging

import pytest
from yarl import URL

from fasthttp.exceptions import (
    CircuitOpenError,
    ConnectError,
    ConnectTimeout,
    DecodingError,
    InvalidURL,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    ResponseTooLarge,
    SSRFBlocked,
    TLSError,
    TooManyRedirects,
    WriteError,
    WriteTimeout,
)
from fasthttp.security.breaker import (
    BreakerRegistry,
    CircuitBreaker,
    CircuitState,
    Ticket,
    classify_outcome,
    format_origin,
    origin_of,
)

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fail(breaker: CircuitBreaker, times: int) -> None:
    """Report ``times`` failed attempts."""
    for _ in range(times):
        breaker.record_failure(breaker.before_request())


def tripped(clock: FakeClock, **kwargs: object) -> CircuitBreaker:
    """A breaker that has just opened after 5 failures."""
    breaker = CircuitBreaker(clock, origin="https://api.test:443", **kwargs)  # type: ignore[arg-type]
    fail(breaker, 5)
    assert breaker.state is OPEN
    return breaker


def test_starts_closed_and_lets_requests_through() -> None:
    """A new breaker is CLOSED, with nothing to wait for."""
    breaker = CircuitBreaker(FakeClock())
    ticket = breaker.before_request()
    assert isinstance(ticket, Ticket) and not ticket.probe
    assert (breaker.state, breaker.retry_after, breaker.failures) == (CLOSED, 0.0, 0)


def test_opens_at_exactly_five_consecutive_failures() -> None:
    """Four failures keep it closed; the fifth consecutive one opens it."""
    breaker = CircuitBreaker(FakeClock())
    fail(breaker, 4)
    assert (breaker.state, breaker.failures) == (CLOSED, 4)
    fail(breaker, 1)
    assert breaker.state is OPEN


def test_a_success_in_between_resets_the_count() -> None:
    """Failures must be consecutive: one success starts the count again."""
    breaker = CircuitBreaker(FakeClock())
    fail(breaker, 4)
    breaker.record_success(breaker.before_request())
    fail(breaker, 4)
    assert (breaker.state, breaker.failures) == (CLOSED, 4)
    fail(breaker, 1)
    assert breaker.state is OPEN


def test_open_refuses_at_once_with_retry_after() -> None:
    """OPEN refuses with CircuitOpenError whose retry_after and message give the time left and the opt-out."""
    clock = FakeClock()
    breaker = tripped(clock)
    clock.advance(10)
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_request()
    assert info.value.retry_after == pytest.approx(20.0)
    assert breaker.retry_after == pytest.approx(20.0)
    message = str(info.value)
    assert "https://api.test:443" in message
    assert "after 5 consecutive failures" in message
    assert "retry in 20.0 s" in message
    assert "SecurityConfig(circuit_breaker=False)" in message


def test_half_open_once_the_open_time_has_passed() -> None:
    """The circuit stays OPEN until exactly open_for seconds have passed, then reads HALF_OPEN."""
    clock = FakeClock()
    breaker = tripped(clock)
    clock.advance(29.999)
    assert breaker.state is OPEN
    clock.advance(0.001)
    assert breaker.state is HALF_OPEN
    assert breaker.retry_after == 0.0


def test_half_open_admits_exactly_one_probe() -> None:
    """In HALF_OPEN one probe goes through; everyone else is refused at once while it is in flight."""
    clock = FakeClock()
    breaker = tripped(clock, probe_retry_after=2.5)
    clock.advance(30)
    probe = breaker.before_request()
    assert probe.probe
    for _ in range(3):
        with pytest.raises(CircuitOpenError, match="half-open and one probe request") as info:
            breaker.before_request()
        assert info.value.retry_after == 2.5
    assert breaker.retry_after == 2.5


def test_probe_success_closes_the_circuit() -> None:
    """One probe success closes the circuit and resets the failure count."""
    clock = FakeClock()
    breaker = tripped(clock)
    clock.advance(30)
    breaker.record_success(breaker.before_request())
    assert (breaker.state, breaker.failures) == (CLOSED, 0)
    assert not breaker.before_request().probe


def test_probe_failure_reopens_with_doubled_time_up_to_the_cap() -> None:
    """Each failed probe doubles the open time: 30, 60, 120, 240, 300, 300."""
    clock = FakeClock()
    breaker = tripped(clock)
    periods = [breaker.retry_after]
    for _ in range(5):
        clock.advance(periods[-1])
        assert breaker.state is HALF_OPEN
        breaker.record_failure(breaker.before_request())
        assert breaker.state is OPEN
        periods.append(breaker.retry_after)
    assert periods == [30, 60, 120, 240, 300, 300]


def test_closing_resets_the_open_time() -> None:
    """After a probe success the next trip opens for open_for again, not the doubled time."""
    clock = FakeClock()
    breaker = tripped(clock)
    clock.advance(30)
    breaker.record_failure(breaker.before_request())
    assert breaker.retry_after == 60
    clock.advance(60)
    breaker.record_success(breaker.before_request())
    fail(breaker, 5)
    assert breaker.retry_after == 30


def test_neutral_outcomes_neither_trip_nor_reset() -> None:
    """A flood of 404s between 503s changes nothing: the 503s still add up to a trip."""
    breaker = CircuitBreaker(FakeClock())
    for _ in range(4):
        breaker.record(breaker.before_request(), classify_outcome(None, 503))
        for _ in range(25):
            breaker.record(breaker.before_request(), classify_outcome(None, 404))
    assert (breaker.state, breaker.failures) == (CLOSED, 4)
    breaker.record(breaker.before_request(), classify_outcome(None, 503))
    assert breaker.state is OPEN


def test_cancelled_probe_frees_the_slot() -> None:
    """A cancelled (neutral) probe frees the half-open slot without changing state or counters."""
    clock = FakeClock()
    breaker = tripped(clock)
    clock.advance(30)
    probe = breaker.before_request()
    breaker.record(probe, classify_outcome(asyncio.CancelledError(), None))
    assert breaker.state is HALF_OPEN
    second = breaker.before_request()
    assert second.probe
    breaker.record_success(second)
    assert breaker.state is CLOSED


def test_stale_and_repeated_reports_are_ignored() -> None:
    """Reports from tickets issued before the last state change, or reported twice, count for nothing."""
    clock = FakeClock()
    breaker = CircuitBreaker(clock)
    slow = [breaker.before_request() for _ in range(3)]
    fail(breaker, 5)
    assert breaker.state is OPEN
    breaker.record_success(slow[0])  # started while CLOSED: cannot close the open circuit
    assert breaker.state is OPEN
    clock.advance(30)
    probe = breaker.before_request()
    breaker.record_failure(slow[1])  # nor can it fail the probe's turn
    assert breaker.state is HALF_OPEN
    breaker.record_success(probe)
    assert breaker.state is CLOSED
    ticket = breaker.before_request()
    breaker.record_failure(ticket)
    breaker.record_failure(ticket)
    assert breaker.failures == 1


def test_unreported_probe_is_abandoned_after_probe_timeout() -> None:
    """A probe that never reports is abandoned after probe_timeout; its late report is ignored."""
    clock = FakeClock()
    breaker = tripped(clock, probe_timeout=10.0)
    clock.advance(30)
    lost = breaker.before_request()
    clock.advance(9.9)
    with pytest.raises(CircuitOpenError):
        breaker.before_request()
    clock.advance(0.1)
    replacement = breaker.before_request()
    assert replacement.probe
    breaker.record_success(lost)
    assert breaker.state is HALF_OPEN
    breaker.record_success(replacement)
    assert breaker.state is CLOSED


def test_success_threshold_needs_that_many_probe_successes() -> None:
    """With success_threshold=2 two probes, one at a time, must succeed before it closes."""
    clock = FakeClock()
    breaker = tripped(clock, success_threshold=2)
    clock.advance(30)
    first = breaker.before_request()
    with pytest.raises(CircuitOpenError):
        breaker.before_request()
    breaker.record_success(first)
    assert breaker.state is HALF_OPEN
    breaker.record_success(breaker.before_request())
    assert breaker.state is CLOSED


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 24.0), (0.5, 30.0), (0.75, 33.0)])
def test_jitter_spreads_the_open_time(draw: float, expected: float) -> None:
    """jitter=0.2 makes an open period last between 0.8x and 1.2x of its nominal length."""
    clock = FakeClock()
    breaker = tripped(clock, jitter=0.2, rng=lambda: draw)
    assert breaker.retry_after == pytest.approx(expected)
    assert breaker.open_period == 30


def test_state_changes_are_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """on_state_change sees every transition; opening and closing are INFO on fasthttp.security."""
    caplog.set_level(logging.DEBUG, logger="fasthttp.security")
    seen: list[tuple[str, CircuitState, CircuitState]] = []
    clock = FakeClock()
    breaker = tripped(clock, on_state_change=lambda origin, old, new: seen.append((origin, old, new)))
    clock.advance(30)
    breaker.record_success(breaker.before_request())
    origin = "https://api.test:443"
    assert seen == [(origin, CLOSED, OPEN), (origin, OPEN, HALF_OPEN), (origin, HALF_OPEN, CLOSED)]
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "fasthttp.security"]
    assert [level for level, _ in records] == [logging.INFO, logging.DEBUG, logging.INFO]
    assert all(origin in message for _, message in records)
    assert "is now open" in records[0][1] and "is now closed" in records[2][1]


def test_a_failing_callback_does_not_break_the_breaker(caplog: pytest.LogCaptureFixture) -> None:
    """An exception in on_state_change is logged and the transition still happens."""

    def broken(origin: str, old: CircuitState, new: CircuitState) -> None:
        raise RuntimeError("monitoring is down")

    breaker = tripped(FakeClock(), on_state_change=broken)
    assert breaker.state is OPEN
    assert any("on_state_change callback" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"success_threshold": 0},
        {"open_for": 0},
        {"open_for": 60, "max_open_for": 30},
        {"jitter": 1.0},
        {"probe_timeout": -1},
    ],
)
def test_invalid_settings_fail_early(kwargs: dict[str, float]) -> None:
    """Nonsensical settings raise ValueError at construction."""
    with pytest.raises(ValueError, match="CircuitBreaker"):
        CircuitBreaker(FakeClock(), **kwargs)  # type: ignore[arg-type]


def test_record_rejects_unknown_outcomes() -> None:
    """record() accepts only the three outcomes."""
    breaker = CircuitBreaker(FakeClock())
    with pytest.raises(ValueError, match="outcome"):
        breaker.record(breaker.before_request(), "maybe")  # type: ignore[arg-type]


# -- the registry ------------------------------------------------------------------------------


def test_registry_isolates_origins() -> None:
    """Each origin has its own breaker: one opening leaves the others closed."""
    registry = BreakerRegistry(clock=FakeClock())
    a, b = ("https", "a.test", 443), ("https", "b.test", 443)
    fail(registry.get(a), 5)
    assert registry.get(a).state is OPEN
    assert registry.get(b).state is CLOSED
    assert registry.get(("http", "a.test", 80)).state is CLOSED
    assert registry.get(a) is registry.get(a)
    assert registry.get(a).origin == "https://a.test:443"


def test_registry_is_bounded_and_evicts_closed_breakers_first() -> None:
    """Past max_origins the least recently used CLOSED breaker goes; an open one is kept."""
    registry = BreakerRegistry(max_origins=3, clock=FakeClock())
    a, b, c, d = (("https", f"{name}.test", 443) for name in "abcd")
    fail(registry.get(a), 5)
    registry.get(b)
    registry.get(c)
    registry.get(d)
    assert len(registry) == 3
    assert a in registry and b not in registry
    assert registry.get(a).state is OPEN


def test_registry_eviction_follows_recent_use() -> None:
    """Using a breaker makes it recent; the least recently used one is evicted."""
    registry = BreakerRegistry(max_origins=2, clock=FakeClock())
    a, b, c = (("https", f"{name}.test", 443) for name in "abc")
    registry.get(a)
    registry.get(b)
    registry.get(a)
    registry.get(c)
    assert a in registry and c in registry and b not in registry


def test_registry_evicts_the_oldest_when_all_are_open() -> None:
    """When every breaker is open the least recently used one is dropped, keeping the bound."""
    registry = BreakerRegistry(max_origins=2, clock=FakeClock())
    a, b, c = (("https", f"{name}.test", 443) for name in "abc")
    fail(registry.get(a), 5)
    fail(registry.get(b), 5)
    registry.get(c)
    assert len(registry) == 2 and a not in registry


def test_registry_validates_its_settings() -> None:
    """Breaker settings are checked when the registry is built; origin= is the registry's job."""
    with pytest.raises(ValueError, match="failure_threshold"):
        BreakerRegistry(failure_threshold=0)
    with pytest.raises(ValueError, match="max_origins"):
        BreakerRegistry(max_origins=0)
    with pytest.raises(TypeError, match="origin"):
        BreakerRegistry(origin="x")


def test_origins_from_urls() -> None:
    """origin_of keys by scheme, lower-cased host and effective port; format_origin brackets IPv6."""
    assert origin_of(URL("https://API.test/x?y=1")) == ("https", "api.test", 443)
    assert origin_of(URL("http://[::1]:8080/")) == ("http", "::1", 8080)
    assert format_origin(("http", "::1", 8080)) == "http://[::1]:8080"
    registry = BreakerRegistry(clock=FakeClock())
    assert registry.for_url(URL("https://api.test/a")) is registry.get(("https", "api.test", 443))


# -- classify_outcome --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "outcome"),
    [
        (None, 200, "success"),
        (None, 204, "success"),
        (None, 301, "success"),
        (None, 501, "success"),
        (None, 500, "failure"),
        (None, 502, "failure"),
        (None, 503, "failure"),
        (None, 504, "failure"),
        (None, 400, "neutral"),
        (None, 404, "neutral"),
        (None, 429, "neutral"),
        (None, None, "neutral"),
        (ConnectError("refused"), None, "failure"),
        (TLSError("handshake"), None, "failure"),
        (ConnectTimeout("slow"), None, "failure"),
        (ReadTimeout("quiet"), None, "failure"),
        (WriteTimeout("stuck"), None, "failure"),
        (ProtocolError("garbage"), None, "failure"),
        (ReadError("reset"), None, "failure"),
        (WriteError("broken pipe"), None, "failure"),
        (ConnectError("refused"), 200, "failure"),
        (PoolTimeout("pool full"), None, "neutral"),
        (asyncio.CancelledError(), None, "neutral"),
        (SSRFBlocked("internal"), None, "neutral"),
        (CircuitOpenError("open"), None, "neutral"),
        (ResponseTooLarge("big"), None, "neutral"),
        (InvalidURL("bad"), None, "neutral"),
        (ProxyError("proxy said no"), None, "neutral"),
        (DecodingError("bad gzip"), None, "neutral"),
        (TooManyRedirects("loop"), None, "neutral"),
        (ValueError("local bug"), None, "neutral"),
        (KeyboardInterrupt(), None, "neutral"),
    ],
)
def test_classify_outcome(error: BaseException | None, status: int | None, outcome: str) -> None:
    """Origin faults are failures, the caller's and our own refusals are neutral, other statuses succeed."""
    assert classify_outcome(error, status) == outcome
