"""Frozen configuration objects: Timeout, Limits and SecurityConfig, with float/bool shortcuts."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "Limits", "SecurityConfig", "Timeout"]


def _check_seconds(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Timeout {name}= must be a number of seconds or None, got {value!r}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Timeout {name}={value!r} must be a positive, finite number of seconds "
            "(use None for no limit on that phase)."
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
        for name in ("total", "connect", "read", "write", "pool"):
            _check_seconds(name, getattr(self, name))

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
    ``security=False`` turns every check off.

    ``allow`` lists hosts and CIDRs that SSRF protection lets through even though
    they are internal (this is how tests and users reach their own services on
    127.0.0.1). It starts with the comma-separated list in the environment
    variable ``FASTHTTP_ALLOW_HOSTS``, so a whole process (a test run, a demo) can
    allow its local server without changing code.
    """

    enabled: bool = True
    allow: tuple[str, ...] = field(default_factory=_allow_from_env)
    max_body_size: int | None = 100 * 1024 * 1024

    @classmethod
    def coerce(cls, value: SecurityConfig | bool | None) -> SecurityConfig:
        """``True``/``None`` -> defaults, ``False`` -> disabled, a SecurityConfig as given."""
        if isinstance(value, SecurityConfig):
            return value
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(enabled=False, allow=())
        raise TypeError(
            f"security= must be True, False or a fasthttp.SecurityConfig; got {type(value).__name__}."
        )

    def with_allowed(self, hosts: Iterable[str]) -> SecurityConfig:
        """A copy that also allows ``hosts``."""
        return SecurityConfig(
            enabled=self.enabled,
            allow=(*self.allow, *hosts),
            max_body_size=self.max_body_size,
        )
