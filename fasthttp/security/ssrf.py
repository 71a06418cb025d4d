"""SSRF policy: may this URL be fetched, and which of its addresses may be dialled? Pure, sans-IO.

The policy decides; the transport enforces (it resolves once, dials only an
approved address and keeps the host name for the Host header and TLS). Rules,
in the order they are applied (shared/security/SSRF.md):

1. REJECT (``InvalidURL``, before DNS) what is malformed or ambiguous: a scheme
   other than http/https; no ``//authority``; an empty host; control characters
   (CR, LF, TAB, NUL, any C0 or DEL) anywhere; a backslash in the authority
   (WHATWG parsers read it as ``/``, RFC 3986 parsers as a host character);
   ``%`` in the host (percent-encoded hosts, IPv6 zone ids); characters other
   than ``a-z 0-9 . - _`` in a host name after IDNA; empty labels; a bracketed
   host that is not an IPv6 address; port 0; and userinfo (``user@host``)
   unless ``allow_userinfo=True``. Userinfo is rejected by default because the
   session moves credentials into an ``Authorization`` header before the URL
   reaches the policy; a URL that still carries ``@`` is a parser-confusion
   trick (``http://127.0.0.1:80@evil.test/``). With ``allow_userinfo=True`` the
   userinfo is ignored and the host after the last ``@`` is checked.
2. Numeric hosts are IPv4 addresses in disguise. A host whose last label is a
   number (``127.1``, ``2130706433``, ``0177.0.0.1``, ``0x7f.1``,
   ``0x7f000001``, ``127.000.000.001``, ``0``) is decoded exactly as
   ``inet_aton``/getaddrinfo and the WHATWG URL standard do (``0x`` = hex, a
   leading ``0`` = octal, the last part fills the remaining bytes) and then
   treated like the canonical literal: BLOCK when the address is forbidden,
   ALLOW (without DNS) when it is public. One rule for every spelling, so the
   address the policy checks is the address the transport dials. A numeric host
   that does not decode (``256.0.0.1``, ``1.2.3.4.5``, ``08.0.0.1``) is REJECTed.
   Unicode look-alikes (``①②⑦.0.0.1``) are IDNA-mapped by the URL parser first
   (to ``127.0.0.1``) and then BLOCKed like any literal.
3. BLOCK (``SSRFBlocked``, before DNS) the always-internal names ``localhost``,
   ``*.localhost`` (RFC 6761), ``localhost.localdomain``, ``metadata`` and
   ``metadata.google.internal`` (lower-cased, one trailing dot removed), host
   names and addresses listed in ``extra_blocked``, IP-literal hosts in a
   forbidden range, and ports outside ``allowed_ports`` when that is set.
4. After DNS, every address of the answer is classified against our own table of
   forbidden ranges (``FORBIDDEN_RANGES``: the IANA IPv4/IPv6 special-purpose
   registries, every IPv4-embedding IPv6 form, IPv6 outside 2000::/3, and the
   cloud metadata addresses), not ``ipaddress.is_global``, which calls multicast,
   ``::127.0.0.1`` and NAT64 addresses global. All addresses internal: BLOCK.
   Mixed public and internal answers: BLOCK when ``block_mixed`` (the default,
   it is how DNS rebinding looks), else only the public addresses are approved.
   The approved addresses keep the resolver's order; dial ``pick_address(...)``.
5. The allowlist (``allow=``: exact host names, IP addresses, CIDRs) wins over
   every BLOCK rule above except ``extra_blocked``: an allowed host name approves
   whatever it resolves to, an allowed address or network approves that address
   under any host name. It never overrides a REJECT.
6. Errors are sentences that say what was refused, why, and how to allow it;
   URLs in them are masked (``fasthttp.security.redact``).

Use: ``await policy.check(url)`` does it all (precheck, one DNS query, approve)
and returns the approved addresses. A transport with its own resolver calls
``precheck(url)``, resolves ``target.host`` once, then ``approve(target, answer)``
(or ``check_address`` per address); behind a proxy, which resolves the name
itself, only ``precheck`` applies.

Cost: ``parse`` and ``check_address`` cache their per-host and per-address work
in small bounded dicts, so the per-connection check is a few dict look-ups.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from yarl import URL

from ..exceptions import ConnectError, InvalidURL, SSRFBlocked
from .redact import mask_url

if TYPE_CHECKING:
    from ..config import SecurityConfig

__all__ = [
    "ALWAYS_INTERNAL_NAMES",
    "FORBIDDEN_RANGES",
    "ParsedTarget",
    "Resolver",
    "SSRFPolicy",
    "classify_address",
    "pick_address",
    "system_resolver",
]

Resolver = Callable[[str], Awaitable[list[str]]]
"""An async function from a host name to the IP address strings it resolves to."""

_IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOW_TO_ALLOW: Final = "add it to SecurityConfig(allow=...) or FASTHTTP_ALLOW_HOSTS to permit it"
_CACHE_SIZE: Final = 1024

ALWAYS_INTERNAL_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"})
"""Names blocked before DNS (plus every ``*.localhost``)."""

_METADATA: Final = "cloud metadata"

# The forbidden ranges, most specific first: the first match names the range.
_IPV4_TABLE: Final[tuple[tuple[str, str], ...]] = (
    ("169.254.169.254/32", _METADATA),  # AWS, GCP, Azure, OpenStack IMDS
    ("169.254.170.2/32", _METADATA),  # AWS ECS task metadata
    ("169.254.170.23/32", _METADATA),  # AWS EKS pod identity
    ("100.100.100.200/32", _METADATA),  # Alibaba Cloud
    ("192.0.0.192/32", _METADATA),  # Oracle Cloud
    ("168.63.129.16/32", _METADATA),  # Azure wireserver (otherwise a public address)
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "this network (RFC 1122)"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space / CGNAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"),
    ("192.88.99.0/24", "6to4 relay anycast (RFC 7526, deprecated)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved class E (RFC 1112)"),
)

# Forms that embed an IPv4 address; the value says where it sits.
_LOW32, _SIXTOFOUR = 0, 1  # the IPv4 address is the low 32 bits / bits 16-47
_IPV6_TABLE: Final[tuple[tuple[str, str, int | None], ...]] = (
    ("fd00:ec2::254/128", _METADATA, None),  # AWS IMDS over IPv6
    ("fd00:ec2::23/128", _METADATA, None),  # AWS EKS pod identity over IPv6
    ("::/128", "unspecified", None),
    ("::1/128", "loopback", None),
    ("::ffff:0:0/96", "IPv4-mapped IPv6", _LOW32),
    ("::ffff:0:0:0/96", "IPv4-translated IPv6 (RFC 2765)", _LOW32),
    ("::/96", "IPv4-compatible IPv6 (deprecated)", _LOW32),
    ("64:ff9b::/96", "NAT64 (RFC 6052)", _LOW32),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)", None),
    ("100::/64", "discard-only (RFC 6666)", None),
    ("2001::/32", "Teredo (RFC 4380)", None),
    ("2001:2::/48", "benchmarking (RFC 5180)", None),
    ("2001:10::/28", "ORCHID (RFC 4843, deprecated)", None),
    ("2001:db8::/32", "documentation (RFC 3849)", None),
    ("2002::/16", "6to4 (RFC 3056)", _SIXTOFOUR),
    ("3fff::/20", "documentation (RFC 9637)", None),
    ("5f00::/16", "SRv6 SIDs (RFC 9602)", None),
    ("fc00::/7", "unique local (ULA, RFC 4193)", None),
    ("fe80::/10", "link-local", None),
    ("fec0::/10", "site-local (RFC 3879, deprecated)", None),
    ("ff00::/8", "multicast", None),
)
_IPV6_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_IPV6_OUTSIDE_GLOBAL: Final = "reserved by the IETF (outside 2000::/3 global unicast)"

FORBIDDEN_RANGES: Final[tuple[tuple[_IPNetwork, str], ...]] = tuple(
    [(ipaddress.IPv4Network(net), name) for net, name in _IPV4_TABLE]
    + [(ipaddress.IPv6Network(net), name) for net, name, _ in _IPV6_TABLE]
)
"""Every forbidden network with the name an error gives it, most specific first
(IPv6 outside 2000::/3 is forbidden too, as "reserved by the IETF")."""

# Integer form for the hot path: (network, mask, name[, embedding]).
_V4: Final = tuple((int(n.network_address), int(n.netmask), name) for n, name in FORBIDDEN_RANGES if n.version == 4)
_V6: Final = tuple(
    (int(ipaddress.IPv6Network(net).network_address), int(ipaddress.IPv6Network(net).netmask), name, embed)
    for net, name, embed in _IPV6_TABLE
)
_V6_GLOBAL: Final = (int(_IPV6_GLOBAL_UNICAST.network_address), int(_IPV6_GLOBAL_UNICAST.netmask))


def _classify_v4(value: int) -> str | None:
    for network, mask, name in _V4:
        if value & mask == network:
            return name
    return None


def _embedded_v4(value: int, embedding: int) -> ipaddress.IPv4Address:
    if embedding == _SIXTOFOUR:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def _classify_ip(addr: _IPAddress) -> str | None:
    if addr.version == 4:
        return _classify_v4(int(addr))
    value = int(addr)
    for network, mask, name, embedding in _V6:
        if value & mask == network:
            if embedding is None:
                return name
            inner = _embedded_v4(value, embedding)
            inner_name = _classify_v4(int(inner))
            return f"{name} of {inner}, {inner_name}" if inner_name else name
    if value & _V6_GLOBAL[1] != _V6_GLOBAL[0]:
        return _IPV6_OUTSIDE_GLOBAL
    return None


def _parse_ip(text: str) -> _IPAddress:
    """An address from a resolver or a URL; an IPv6 scope id (``%eth0``) is dropped."""
    if "%" in text:
        text = text.partition("%")[0]
    return ipaddress.ip_address(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def classify_address(ip: str) -> str | None:
    """The name of the forbidden range ``ip`` is in (built-in table only), or None when
    it is public. Raises ValueError when ``ip`` is not an IP address."""
    return _classify_ip(_parse_ip(ip))


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the event loop's non-blocking getaddrinfo; addresses in
    resolver order, deduplicated. A lookup failure raises ConnectError (not SSRFBlocked)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectError(f"Could not resolve the host name {host!r}: {exc.strerror or exc}.") from exc
    addresses = [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    return list(dict.fromkeys(addresses))


def pick_address(approved: Sequence[str]) -> str:
    """The address to dial: the first approved one, in the resolver's order."""
    if not approved:
        raise ValueError("pick_address() needs at least one approved address.")
    return approved[0]


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    """A URL that passed the REJECT checks.

    ``host`` is normalized (lower-case, IDNA ASCII, no trailing dot, IPv6 without
    brackets); ``ip`` is the canonical address when the host is an IP literal in any
    spelling (``0x7f.1`` -> ``127.0.0.1``), else None (a name to resolve).
    """

    url: URL
    scheme: str
    host: str
    port: int
    ip: str | None


_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
_AUTHORITY_END_RE: Final = re.compile(r"[/?#]")
_HOST_NAME_RE: Final = re.compile(r"[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*")
_BAD_HOST_CHAR_RE: Final = re.compile(r"[^a-z0-9_.\-]")
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
_OCT_DIGITS: Final = frozenset("01234567")
_DEC_DIGITS: Final = frozenset("0123456789")


def _ipv4_part(part: str) -> int | None:
    """One part of a numeric host, read as inet_aton/WHATWG do (0x hex, leading 0 octal)."""
    if part.startswith("0x"):
        digits = part[2:]
        if not set(digits) <= _HEX_DIGITS:
            return None
        return int(digits, 16) if digits else 0
    if len(part) > 1 and part[0] == "0":
        return int(part[1:], 8) if set(part[1:]) <= _OCT_DIGITS else None
    return int(part) if part and set(part) <= _DEC_DIGITS else None


def _decode_numeric_host(host: str) -> str | None:
    """The dotted-quad address a numeric host means (``127.1`` -> ``127.0.0.1``), or None if invalid."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for index, n in enumerate(values[:-1]):
        address += n << (8 * (3 - index))
    return str(ipaddress.IPv4Address(address))


def _looks_numeric(host: str) -> bool:
    """WHATWG "ends in a number": the last label is decimal digits or 0x-hex."""
    last = host.rpartition(".")[2]
    if not last:
        return False
    if last.startswith("0x"):
        return set(last[2:]) <= _HEX_DIGITS
    return set(last) <= _DEC_DIGITS


# Per raw host: (normalized host, canonical ip or None), or the reason it is invalid (a str).
_HostAnalysis: TypeAlias = tuple[str, str | None] | str


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _analyse_host(raw: str) -> _HostAnalysis:
    bracketed = raw.startswith("[") and raw.endswith("]")
    host = raw[1:-1] if bracketed else raw
    if not host:
        return "has no host"
    if bracketed and ":" not in host:
        return f"has a bracketed host {host!r} that is not an IPv6 address"
    if "%" in host:
        if ":" in host:
            return f"has an IPv6 zone id ({host!r}); zone ids name a local interface and are never sent"
        return f"has a percent-encoded host ({host!r}); write the host name plainly"
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return f"has a bracketed host {host!r} that is not an IPv6 address"
        return str(address), str(address)
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        return f"has a non-ASCII host {host!r} that was not IDNA-encoded"
    if not _HOST_NAME_RE.fullmatch(host):
        bad = _BAD_HOST_CHAR_RE.search(host)
        if bad is not None:
            return f"has the character {bad.group()!r} in its host {host!r}, which is not allowed in a host name"
        return f"has an empty label in its host {raw!r}"
    if len(host) > 253:
        return "has a host name longer than 253 characters"
    if _looks_numeric(host):
        ip = _decode_numeric_host(host)
        if ip is None:
            return f"has the host {host!r}, which looks like an IPv4 address but is not a valid one"
        return host, ip
    return host, None


def _internal_name_reason(host: str) -> str | None:
    """Why a host name is internal whatever DNS says, or None."""
    if host == "localhost" or host.endswith(".localhost") or host == "localhost.localdomain":
        return "a loopback name (RFC 6761)"
    if host in ALWAYS_INTERNAL_NAMES:
        return "the cloud metadata service name"
    return None


def _normalize_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def _split_entries(
    entries: Iterable[str], argument: str
) -> tuple[frozenset[str], tuple[tuple[int, int, int, str], ...]]:
    """Host names and (version, network, mask, text) tuples from allow=/extra_blocked= entries."""
    names: set[str] = set()
    networks: list[tuple[int, int, int, str]] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise TypeError(f"{argument}= entries must be strings (host names, IPs or CIDRs); got {entry!r}.")
        text = _normalize_host(entry)
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if ":" in text or "/" in text or not _HOST_NAME_RE.fullmatch(text):
                raise ValueError(
                    f"{argument}= entry {entry!r} is neither a host name, an IP address nor a CIDR "
                    "(ports and wildcards are not supported: write 'localhost', '127.0.0.1' or '10.0.0.0/8')."
                ) from None
            names.add(text)
        else:
            networks.append((network.version, int(network.network_address), int(network.netmask), str(network)))
    return frozenset(names), tuple(networks)


def _in_networks(addr: _IPAddress, networks: tuple[tuple[int, int, int, str], ...]) -> str | None:
    value = int(addr)
    for version, network, mask, text in networks:
        if version == addr.version and value & mask == network:
            return text
    return None


class SSRFPolicy:
    """Decides which URLs and addresses a request may reach (see the module docstring for the rules).

    Immutable after construction; its caches only remember answers. Build it once
    per session (``SSRFPolicy.from_config(config)``) and share it.
    """

    __slots__ = (
        "_allow",
        "_allow_names",
        "_allow_networks",
        "_allow_userinfo",
        "_allowed_ports",
        "_block_mixed",
        "_blocked_names",
        "_blocked_networks",
        "_extra_blocked",
        "_verdicts",
    )

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        block_mixed: bool = True,
        allow_userinfo: bool = False,
        allowed_ports: Iterable[int] | None = None,
        extra_blocked: Iterable[str] = (),
    ) -> None:
        self._allow = tuple(allow)
        self._allow_names, self._allow_networks = _split_entries(self._allow, "allow")
        self._extra_blocked = tuple(extra_blocked)
        self._blocked_names, self._blocked_networks = _split_entries(self._extra_blocked, "extra_blocked")
        self._block_mixed = bool(block_mixed)
        self._allow_userinfo = bool(allow_userinfo)
        if allowed_ports is None:
            self._allowed_ports: frozenset[int] | None = None
        else:
            ports = frozenset(allowed_ports)
            bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536]
            if bad:
                raise ValueError(f"allowed_ports= must hold port numbers 1-65535; got {sorted(map(repr, bad))}.")
            self._allowed_ports = ports
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_config(cls, config: SecurityConfig) -> SSRFPolicy:
        """The policy for a SecurityConfig: its ``allow`` list (hosts and CIDRs, seeded from
        FASTHTTP_ALLOW_HOSTS). Whether to apply a policy at all (``enabled``) is the caller's call."""
        return cls(allow=config.allow)

    # -- read-only configuration -------------------------------------------------------------

    @property
    def allow(self) -> tuple[str, ...]:
        """The allowlist entries as given."""
        return self._allow

    @property
    def block_mixed(self) -> bool:
        """Whether a DNS answer mixing public and internal addresses is blocked."""
        return self._block_mixed

    @property
    def allow_userinfo(self) -> bool:
        """Whether URLs with ``user@`` are accepted (the userinfo is then ignored)."""
        return self._allow_userinfo

    @property
    def allowed_ports(self) -> frozenset[int] | None:
        """The only ports that may be dialled, or None for any port."""
        return self._allowed_ports

    @property
    def extra_blocked(self) -> tuple[str, ...]:
        """Extra host names, addresses and CIDRs blocked even when allowed."""
        return self._extra_blocked

    def __repr__(self) -> str:
        return (
            f"SSRFPolicy(allow={self._allow!r}, block_mixed={self._block_mixed}, "
            f"allow_userinfo={self._allow_userinfo}, allowed_ports="
            f"{sorted(self._allowed_ports) if self._allowed_ports is not None else None}, "
            f"extra_blocked={self._extra_blocked!r})"
        )

    # -- classification ----------------------------------------------------------------------

    def classify(self, ip: str) -> str | None:
        """The name of the forbidden range ``ip`` is in ("loopback", "private (RFC 1918)",
        "cloud metadata", "NAT64 (RFC 6052)", ...), including ``extra_blocked``, or None when
        it is public. Ignores the allowlist. Raises ValueError when ``ip`` is not an address."""
        addr = _parse_ip(ip)
        listed = _in_networks(addr, self._blocked_networks)
        if listed is not None:
            return f"listed in extra_blocked as {listed}"
        return classify_address(ip)

    def is_allowed_host(self, host: str) -> bool:
        """True when ``host`` (a name, or an IP literal) is on the allowlist: an exact host
        name, or an address inside an allowed IP/CIDR."""
        host = _normalize_host(host)
        if host in self._allow_names:
            return True
        try:
            addr = _parse_ip(host)
        except ValueError:
            return False
        return _in_networks(addr, self._allow_networks) is not None

    def _address_reason(self, ip: str, host_allowed: bool) -> str | None:
        """Why ``ip`` may not be dialled (None: it may), after the allowlist."""
        if host_allowed:
            if not self._blocked_networks:
                return None
            try:
                listed = _in_networks(_parse_ip(ip), self._blocked_networks)
            except ValueError:
                return "not an IP address"
            return None if listed is None else f"listed in extra_blocked as {listed}"
        try:
            return self._verdicts[ip]
        except KeyError:
            pass
        try:
            addr = _parse_ip(ip)
        except ValueError:
            reason: str | None = "not an IP address"
        else:
            listed = _in_networks(addr, self._blocked_networks)
            if listed is not None:
                reason = f"listed in extra_blocked as {listed}"
            elif _in_networks(addr, self._allow_networks) is not None:
                reason = None
            else:
                reason = classify_address(ip)
        if len(self._verdicts) >= _CACHE_SIZE:
            del self._verdicts[next(iter(self._verdicts))]
        self._verdicts[ip] = reason
        return reason

    @staticmethod
    def _blocked(what: str, reason: str, url: str | URL) -> SSRFBlocked:
        extra = reason.startswith("listed in extra_blocked")
        how = "remove it from extra_blocked to permit it" if extra else _HOW_TO_ALLOW
        return SSRFBlocked(f"refusing to connect to {what} ({reason}) for {mask_url(url)}; {how}")

    # -- the checks ----------------------------------------------------------------------------

    def parse(self, url: str | URL) -> ParsedTarget:
        """Parse ``url`` and apply every REJECT rule (no DNS). Raises InvalidURL saying what
        is wrong and why it is refused."""
        if isinstance(url, URL):
            return self._parse_url(url, url)
        if not isinstance(url, str):
            raise InvalidURL(f"url must be a str or yarl.URL, got {type(url).__name__}.")
        raw_host = self._check_raw(url)
        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            raise InvalidURL(f"URL {mask_url(url)!r} cannot be parsed: {exc}") from None
        target = self._parse_url(parsed, url)
        if raw_host.isascii() and not raw_host.startswith("[") and parsed.raw_host != raw_host.lower():
            raise InvalidURL(
                f"URL {mask_url(url)!r} is ambiguous: its host reads as {raw_host!r} or {parsed.raw_host!r} "
                "depending on the parser, so fasthttp refuses it."
            )
        return target

    def _reject(self, url: str | URL, why: str) -> InvalidURL:
        return InvalidURL(f"URL {mask_url(url)!r} {why}; refusing to send it.")

    def _check_raw(self, text: str) -> str:
        """The REJECT rules that only the raw string shows; returns the raw host text."""
        if _CONTROL_RE.search(text):
            raise InvalidURL(
                "URL contains a control character (CR, LF, TAB, NUL or another C0/DEL byte); refusing to send it."
            )
        match = _SCHEME_RE.match(text)
        if match is None:
            raise self._reject(text, "has no scheme (use an absolute http:// or https:// URL)")
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise self._reject(text, f"uses the scheme {scheme!r}: fasthttp sends only http:// and https://")
        rest = text[match.end() :]
        if not rest.startswith("//"):
            raise self._reject(text, "has no //host after the scheme")
        end = _AUTHORITY_END_RE.search(rest, 2)
        authority = rest[2 : end.start() if end else len(rest)]
        if "\\" in authority:
            raise self._reject(
                text,
                "has a backslash in its authority, which parsers split differently (WHATWG reads it as '/')",
            )
        if "@" in authority:
            if not self._allow_userinfo:
                raise self._reject(
                    text,
                    "has userinfo (user@host); put credentials in auth= or an Authorization header, "
                    "or build the policy with allow_userinfo=True",
                )
            if authority.count("@") > 1:
                raise self._reject(text, "has more than one '@' in its authority, which is ambiguous")
            authority = authority.rpartition("@")[2]
        if authority.startswith("["):
            close = authority.find("]")
            if close == -1:
                raise self._reject(text, "has an unclosed '[' in its host")
            host, port = authority[: close + 1], authority[close + 1 :]
            if port and not port.startswith(":"):
                raise self._reject(text, "has characters after its bracketed IPv6 host")
            port = port[1:]
        else:
            host, _, port = authority.partition(":")
        if port and not (port.isascii() and port.isdigit()):
            raise self._reject(text, f"has the port {port!r}, which is not a number")
        if "%" in host or host.startswith("["):
            analysis = _analyse_host(host)
            if isinstance(analysis, str):
                raise self._reject(text, analysis)
        return host

    def _parse_url(self, url: URL, original: str | URL) -> ParsedTarget:
        scheme = url.scheme
        if scheme not in ("http", "https"):
            if not scheme:
                raise self._reject(original, "has no scheme (use an absolute http:// or https:// URL)")
            raise self._reject(original, f"uses the scheme {scheme!r}: fasthttp sends only http:// and https://")
        raw_host = url.raw_host
        if not raw_host:
            raise self._reject(original, "has no host")
        if not self._allow_userinfo and (url.raw_user is not None or url.raw_password is not None):
            raise self._reject(
                original,
                "has userinfo (user@host); put credentials in auth= or an Authorization header, "
                "or build the policy with allow_userinfo=True",
            )
        if _CONTROL_RE.search(raw_host):
            raise InvalidURL("URL host contains a control character (CR, LF, TAB, NUL, ...); refusing to send it.")
        analysis = _analyse_host(raw_host)
        if isinstance(analysis, str):
            raise self._reject(original, analysis)
        host, ip = analysis
        port = url.port
        if not port:
            raise self._reject(original, "has port 0, which cannot be connected to")
        return ParsedTarget(url=url, scheme=scheme, host=host, port=port, ip=ip)

    def precheck(self, url: str | URL) -> ParsedTarget:
        """Every check that needs no DNS: the REJECT rules, then BLOCK for always-internal
        names, ``extra_blocked`` names, forbidden IP literals and disallowed ports. With a
        proxy (which resolves the name itself) this is all the client can check."""
        target = self.parse(url)
        host = target.host
        if host in self._blocked_names:
            raise self._blocked(host, "listed in extra_blocked", url)
        host_allowed = host in self._allow_names
        if target.ip is not None:
            reason = self._address_reason(target.ip, host_allowed)
            if reason is not None:
                raise self._blocked(target.ip, reason, url)
            host_allowed = host_allowed or self.is_allowed_host(target.ip)
        elif not host_allowed:
            reason = _internal_name_reason(host)
            if reason is not None:
                raise self._blocked(host, reason, url)
        if self._allowed_ports is not None and target.port not in self._allowed_ports and not host_allowed:
            ports = ", ".join(map(str, sorted(self._allowed_ports)))
            raise SSRFBlocked(
                f"refusing to connect to port {target.port} of {host} for {mask_url(url)}: "
                f"the port is not in allowed_ports ({ports}); {_HOW_TO_ALLOW}"
            )
        return target

    def check_address(self, ip: str, *, host: str, url: str | URL) -> None:
        """Raise SSRFBlocked when ``ip`` (one resolved address of ``host``) may not be dialled."""
        reason = self._address_reason(ip, _normalize_host(host) in self._allow_names)
        if reason is not None:
            raise self._blocked(ip, reason, url)

    def approve(self, target: ParsedTarget, addresses: Sequence[str]) -> list[str]:
        """The addresses of ``target`` that may be dialled, in the given order; raises
        SSRFBlocked when none may, or when the answer is mixed and ``block_mixed`` is set."""
        host_allowed = target.host in self._allow_names
        approved: list[str] = []
        blocked: list[tuple[str, str]] = []
        for ip in dict.fromkeys(addresses):
            reason = self._address_reason(ip, host_allowed)
            if reason is None:
                approved.append(ip)
            else:
                blocked.append((ip, reason))
        if not blocked:
            if not approved:
                raise ConnectError(f"Could not resolve the host name {target.host!r}: the resolver found no address.")
            return approved
        ip, reason = blocked[0]
        if not approved:
            raise self._blocked(ip, reason, target.url)
        if self._block_mixed:
            raise SSRFBlocked(
                f"refusing to connect to {target.host} for {mask_url(target.url)}: its DNS answer mixes public "
                f"and internal addresses ({ip} is {reason}), which is how DNS rebinding looks; {_HOW_TO_ALLOW}, "
                "or use SSRFPolicy(block_mixed=False) to dial only its public addresses"
            )
        return approved

    async def check(self, url: str | URL, *, resolver: Resolver | None = None) -> list[str]:
        """The full check: ``precheck``, then resolve the host once (``resolver``, default the
        loop's non-blocking getaddrinfo) and ``approve`` the answer. Returns the approved
        addresses in resolver order; an IP-literal host is returned without DNS."""
        target = self.precheck(url)
        if target.ip is not None:
            return [target.ip]
        answers = await (resolver or system_resolver)(target.host)
        return self.approve(target, answers)
