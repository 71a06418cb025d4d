"""SSRFGuard: the SSRF policy enforced where connections are made.

The transports call it in two places:
- ``check_target(url)`` for every request, before anything else: the checks that
  need no DNS (REJECT rules, always-internal names, forbidden IP literals in any
  spelling, ports). Results are cached per origin, so a repeated host costs one
  dict lookup. This is all that can be checked when a proxy resolves the name.
- ``resolve(host, port)`` as the transport's resolver when it opens a connection:
  resolve once (the configured resolver, else the system's, without blocking the
  loop), check every address, return only approved ones; the transport dials one
  of them and keeps the host name for the Host header and TLS. Every redirect hop
  and every new connection passes here, which also defeats DNS rebinding: the
  address dialled is the address approved.
The explicitly configured proxy is the one destination exempt from the address
check (the user named it); its own egress rules are its business.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from typing import TYPE_CHECKING

from yarl import URL

from .ssrf import ParsedTarget, SSRFPolicy, system_resolver

if TYPE_CHECKING:
    from ..config import SecurityConfig
    from .ssrf import Resolver

__all__ = ["SSRFGuard"]

_MAX_CACHED = 4096

# The URL of the request being sent, set by the transport around its connect, so a block decided at
# DNS time names the real URL (the resolver hook itself only sees a host and a port).
current_url: ContextVar[URL | None] = ContextVar("fasthttp_current_url", default=None)


class SSRFGuard:
    """One per transport; built from the session's SecurityConfig."""

    __slots__ = ("_checked", "_proxy", "policy", "resolver")

    def __init__(self, config: SecurityConfig, *, proxy: str | None = None) -> None:
        self.policy = SSRFPolicy(
            allow=config.allow,
            block_mixed=config.block_mixed_dns,
            allowed_ports=config.allowed_ports,
        )
        self.resolver: Resolver = config.resolver or system_resolver
        self._checked: dict[tuple[str, str | None, int | None], ParsedTarget] = {}
        self._proxy: tuple[str, int] | None = None
        if proxy is not None:
            proxy_url = URL(proxy)
            if proxy_url.host is not None and proxy_url.port is not None:
                self._proxy = (proxy_url.host.lower().rstrip("."), proxy_url.port)

    def check_target(self, url: URL) -> ParsedTarget:
        """The DNS-free checks for a request's URL (cached per origin); raises InvalidURL or SSRFBlocked.
        Also remembers the URL for this task, for the messages of ``resolve``."""
        current_url.set(url)
        key = (url.scheme, url.host, url.port)
        target = self._checked.get(key)
        if target is None:
            target = self.policy.precheck(url)
            if len(self._checked) < _MAX_CACHED:
                self._checked[key] = target
        return target

    def is_proxy(self, host: str, port: int) -> bool:
        return self._proxy is not None and (host.lower().rstrip("."), port) == self._proxy

    async def resolve(self, host: str, port: int) -> list[str]:
        """The approved addresses of ``host`` (resolved once); raises SSRFBlocked or ConnectError."""
        if self.is_proxy(host, port):
            try:
                return [str(ipaddress.ip_address(host))]
            except ValueError:
                return list(dict.fromkeys(await self.resolver(host)))
        url = current_url.get()
        if url is None or url.host != host:
            url = URL.build(scheme="http", host=host, port=port)
        target = self._checked.get((url.scheme, url.host, url.port))  # passed check_target already
        if target is None:
            target = self.policy.precheck(url)
        if target.ip is not None:
            return [target.ip]
        return self.policy.approve(target, await self.resolver(target.host))
