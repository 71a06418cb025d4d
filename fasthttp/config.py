"""Frozen configuration objects: Timeout, Limits and SecurityConfig, with float/bool shortcuts."""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "Limits", "SecurityConfig", "Timeout"]


def _check_seconds(name: str, value: float | None, *, zero_ok: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Timeout {name}= must be a number of seconds or None, got {value!r}.")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise ValueError(
            f"Timeout {name}={value!r} must be a positive, finite number of seconds "
            f"{'(0 for: never wait) ' if zero_ok else ''}(use None for no limit on that phase)."
        )


@dataclass(frozen=True, slots=True)
class Timeout:
    """Deadlines for one request, in seconds; ``None`` means no limit for that phase.

    ``total`` bounds the whole request (pool wait, connect, send, and reading the
    body of a buffered response). ``connect`` bounds TCP + TLS, ``read`` the
    silence between two reads, ``write`` each write, ``pool`` the wait for a free
    connection slot. A plain float passed as ``timeout=`` means ``Timeout(total=t)``.
    Streams use ``read`` as an inactivity timeout and no total deadline by default.
    """

    total: float | None = 30.0
    connect: float | None = None
    read: float | None = None
    write: float | None = None
    pool: float | None = None

    def __post_init__(self) -> None:
        for name in ("total", "connect", "read", "write"):
            _check_seconds(name, getattr(self, name))
        _check_seconds("pool", self.pool, zero_ok=True)  # pool=0: take a free connection or fail at once

    @classmethod
    def coerce(cls, value: Timeout | float | None, *, argument: str = "timeout") -> Timeout:
        """Turn the ``timeout=`` shortcuts into a Timeout: float -> total deadline, None -> none."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return NO_TIMEOUT
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"{argument}= must be a number of seconds, a fasthttp.Timeout or None; "
                f"got {type(value).__name__}."
            )
        return cls(total=float(value))

    @classmethod
    def for_stream(cls, value: Timeout | float | None) -> Timeout:
        """Streams: a float is a per-read inactivity timeout, with no total deadline."""
        if isinstance(value, Timeout) or value is None:
            return cls.coerce(value)
        base = cls.coerce(value)
        return cls(total=None, read=base.total, connect=base.total, pool=base.total)


NO_TIMEOUT = Timeout(total=None)
DEFAULT_TIMEOUT = Timeout(total=30.0)


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool limits: at most ``max_connections`` open connections in all,
    ``max_per_host`` per origin (None: no per-origin limit), idle connections
    closed after ``keepalive_expiry`` seconds."""

    max_connections: int = 100
    max_per_host: int | None = None
    keepalive_expiry: float = 15.0

    def __post_init__(self) -> None:
        count = self.max_connections
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"Limits max_connections={self.max_connections!r} must be a whole number >= 1.")
        if self.max_per_host is not None and (
            isinstance(self.max_per_host, bool) or not isinstance(self.max_per_host, int) or self.max_per_host < 1
        ):
            raise ValueError(
                f"Limits max_per_host={self.max_per_host!r} must be a whole number >= 1, or None for no limit."
            )
        _check_seconds("keepalive_expiry", self.keepalive_expiry)


DEFAULT_LIMITS = Limits()

ALLOW_HOSTS_ENV = "FASTHTTP_ALLOW_HOSTS"


def _allow_from_env() -> tuple[str, ...]:
    raw = os.environ.get(ALLOW_HOSTS_ENV, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """What the security layer does. ``security=True`` means ``SecurityConfig()``;
    ``security=False`` turns off SSRF protection and the circuit breaker (the body
    size cap stays: it protects memory; pass ``max_body_size=None`` to lift it).

    - ``allow``: hosts and CIDRs that SSRF protection lets through even though they
      are internal (how tests and users reach their own services on 127.0.0.1). It
      starts with the comma-separated list in the environment variable
      ``FASTHTTP_ALLOW_HOSTS``, so a whole process (a test run, a demo) can allow
      its local server without changing code.
    - ``ssrf``: block requests to non-public addresses, checked at connect time.
      ``resolver`` (an async function host -> list of IP strings) replaces the
      system resolver (tests inject DNS answers with it); ``allowed_ports`` limits
      the ports; ``block_mixed_dns`` refuses a DNS answer that mixes public and
      internal addresses.
    - ``circuit_breaker``: one breaker per origin; it opens after
      ``failure_threshold`` consecutive failures for ``open_for`` seconds
      (doubling per failed probe up to ``max_open_for``).
    - ``sign_hosts``: the hosts whose requests are signed (RFC 9421 HMAC) with the
      session's ``secret_key``. With a generated key (no ``secret_key``) only these
      hosts are signed; with your own key every request is, unless this narrows it.
    - ``max_body_size``: the cap on a buffered body (and on the decoded size of a
      compressed streamed one); None lifts it.
    """

    enabled: bool = True
    allow: tuple[str, ...] = field(default_factory=_allow_from_env)
    ssrf: bool = True
    resolver: Callable[[str], Awaitable[list[str]]] | None = None
    allowed_ports: tuple[int, ...] | None = None
    block_mixed_dns: bool = True
    circuit_breaker: bool = True
    failure_threshold: int = 5
    open_for: float = 30.0
    max_open_for: float = 300.0
    sign_hosts: tuple[str, ...] | None = None
    max_body_size: int | None = 100 * 1024 * 1024

    def __post_init__(self) -> None:
        if isinstance(self.allow, str):
            object.__setattr__(self, "allow", tuple(p.strip() for p in self.allow.split(",") if p.strip()))
        if isinstance(self.sign_hosts, str):
            object.__setattr__(self, "sign_hosts", (self.sign_hosts,))
        if self.failure_threshold < 1:
            raise ValueError(f"SecurityConfig failure_threshold={self.failure_threshold!r} must be at least 1.")
        if self.max_body_size is not None and self.max_body_size < 0:
            raise ValueError(f"SecurityConfig max_body_size={self.max_body_size!r} must be >= 0, or None for no cap.")

    @classmethod
    def coerce(cls, value: SecurityConfig | bool | None) -> SecurityConfig:
        """``True``/``None`` -> defaults, ``False`` -> disabled, a SecurityConfig as given."""
        if isinstance(value, SecurityConfig):
            return value
        if value is None or value is True:
            return cls()
        if value is False:
            return DISABLED_SECURITY
        raise TypeError(
            f"security= must be True, False or a fasthttp.SecurityConfig; got {type(value).__name__}."
        )

    @property
    def ssrf_on(self) -> bool:
        return self.enabled and self.ssrf

    @property
    def breaker_on(self) -> bool:
        return self.enabled and self.circuit_breaker

    def with_allowed(self, hosts: Iterable[str]) -> SecurityConfig:
        """A copy that also allows ``hosts``."""
        return replace(self, allow=(*self.allow, *hosts))


# security=False turns off the access policy (SSRF, circuit breaker); the body cap stays, because it
# protects this process's memory rather than deciding what may be reached (lift it with max_body_size=None).
DISABLED_SECURITY = SecurityConfig(enabled=False, allow=(), ssrf=False, circuit_breaker=False)
