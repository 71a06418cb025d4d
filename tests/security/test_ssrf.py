"""SSRFPolicy: every row of shared/security/SSRF.md, the allowlist, the forbidden-range table
and the error messages. Pure: an injected resolver, no DNS, no sockets."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from yarl import URL

from fasthttp.config import SecurityConfig
from fasthttp.exceptions import ConnectError, InvalidURL, SSRFBlocked
from fasthttp.security.ssrf import (
    FORBIDDEN_RANGES,
    SSRFPolicy,
    classify_address,
    pick_address,
    system_resolver,
)

PUBLIC = "93.184.216.34"
LOOPBACK = "127.0.0.1"
HOW_TO_ALLOW = "add it to SecurityConfig(allow=...) or FASTHTTP_ALLOW_HOSTS to permit it"


class FakeDNS:
    """An injected resolver: a list of answers per host (one per query, the last repeats); counts queries."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]] | None = None) -> None:
        self.answers = {host: [list(a) for a in seq] for host, seq in (answers or {}).items()}
        self.queries: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.queries.append(host)
        if host not in self.answers:
            raise ConnectError(f"NXDOMAIN for {host}")
        answers = self.answers[host]
        return list(answers[min(self.queries.count(host), len(answers)) - 1])


def row(
    ident: str,
    url: str,
    verdict: str,
    expect: str | Sequence[str] = "",
    *,
    dns: Mapping[str, Sequence[Sequence[str]]] | None = None,
    queried: Sequence[str] = (),
    **policy: Any,
) -> Any:
    """One corpus case: ALLOW expects the approved addresses, BLOCK/REJECT a message fragment."""
    return pytest.param(url, verdict, expect, dict(dns or {}), tuple(queried), policy, id=ident)


# Where a row has a DNS answer for an IP-literal spelling (rows 2-8), the resolver is set up to
# answer like getaddrinfo would, and the test asserts it was never asked: numeric hosts are decoded
# by the policy itself (inet_aton/WHATWG rules), so they never reach DNS.
NUMERIC_HOSTS = ["127.1", "2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.000.000.001"]
NUMERIC: dict[str, Any] = {"dns": {host: [[LOOPBACK]] for host in NUMERIC_HOSTS}}
HOP2_SCHEME_RELATIVE = str(URL("https://pub.test/").join(URL("//localhost/admin")))
HOP2_FILE = str(URL("https://pub.test/").join(URL("file:///etc/passwd")))
PUB = {"pub.test": [[PUBLIC]]}
LOCAL_DNS = {"localhost": [[LOOPBACK, "::1"]], "localhost.": [[LOOPBACK]]}
LOOPBACK_NAME = "localhost (a loopback name"

CORPUS = [
    row("01-loopback", "http://127.0.0.1/", "BLOCK", "127.0.0.1 (loopback)"),
    row("02-short-form", "http://127.1/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),
    row("03-decimal-dword", "http://2130706433/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),
    row("04-octal-dotted", "http://0177.0.0.1/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),  # choice: BLOCK
    row("05-hex-short", "http://0x7f.1/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),
    row("06-hex-dword", "http://0x7f000001/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),
    row("07-zero-padded", "http://127.000.000.001/", "BLOCK", "127.0.0.1 (loopback)", **NUMERIC),  # choice: BLOCK
    row("08-zero-host", "http://0/", "BLOCK", "0.0.0.0 (unspecified)", dns={"0": [["0.0.0.0"]]}),
    row("09-unspecified", "http://0.0.0.0:8080/", "BLOCK", "0.0.0.0 (unspecified)"),
    row("10-rfc1918", "http://10.0.0.1/", "BLOCK", "10.0.0.1 (private (RFC 1918))"),
    row("11-rfc1918-edge", "http://172.31.255.255/", "BLOCK", "(private (RFC 1918))"),
    row("12-outside-172.16/12", "http://172.32.0.1/", "ALLOW", ["172.32.0.1"]),
    row("13-rfc1918", "http://192.168.0.1/", "BLOCK", "(private (RFC 1918))"),
    row("14-imds", "http://169.254.169.254/latest/meta-data/", "BLOCK", "169.254.169.254 (cloud metadata)"),
    row("15-cgnat", "http://100.64.0.1/", "BLOCK", "CGNAT"),
    row("16a-cgnat-edge-below", "http://100.63.255.255/", "ALLOW", ["100.63.255.255"]),
    row("16b-cgnat-edge-above", "http://100.128.0.1/", "ALLOW", ["100.128.0.1"]),
    row("17-oracle-metadata", "http://192.0.0.192/", "BLOCK", "192.0.0.192 (cloud metadata)"),
    row("18a-test-net", "http://192.0.2.1/", "BLOCK", "TEST-NET-1"),
    row("18b-benchmark", "http://198.18.0.1/", "BLOCK", "benchmarking"),
    row("19a-multicast", "http://224.0.0.1/", "BLOCK", "(multicast)"),
    row("19b-multicast-ssdp", "http://239.255.255.250/", "BLOCK", "(multicast)"),
    row("20-broadcast", "http://255.255.255.255/", "BLOCK", "(broadcast)"),
    row("21-control", f"http://{PUBLIC}/", "ALLOW", [PUBLIC]),
    row("22a-v6-loopback", "http://[::1]/", "BLOCK", "::1 (loopback)"),
    row("22b-v6-loopback-long", "http://[0:0:0:0:0:0:0:1]/", "BLOCK", "::1 (loopback)"),
    row("23-v6-unspecified", "http://[::]/", "BLOCK", ":: (unspecified)"),
    row("24-v4-mapped", "http://[::ffff:127.0.0.1]/", "BLOCK", "IPv4-mapped IPv6 of 127.0.0.1, loopback"),
    row("25-v4-mapped-hex", "http://[::ffff:7f00:1]/", "BLOCK", "IPv4-mapped IPv6 of 127.0.0.1, loopback"),
    row("26a-v4-mapped-imds", "http://[::ffff:169.254.169.254]/", "BLOCK", "of 169.254.169.254, cloud metadata"),
    row("26b-v4-mapped-imds-hex", "http://[::ffff:a9fe:a9fe]/", "BLOCK", "of 169.254.169.254, cloud metadata"),
    row("27-v4-compatible", "http://[::127.0.0.1]/", "BLOCK", "IPv4-compatible IPv6 (deprecated) of 127.0.0.1"),
    row("28-nat64", "http://[64:ff9b::7f00:1]/", "BLOCK", "NAT64 (RFC 6052) of 127.0.0.1, loopback"),
    row("29-nat64-public", "http://[64:ff9b::808:808]/", "BLOCK", "(NAT64 (RFC 6052))"),
    row("30-6to4-loopback", "http://[2002:7f00:1::1]/", "BLOCK", "6to4 (RFC 3056) of 127.0.0.1, loopback"),
    row("31-6to4-public", "http://[2002:808:808::1]/", "BLOCK", "(6to4 (RFC 3056))"),
    row("32-v6-link-local", "http://[fe80::1]/", "BLOCK", "fe80::1 (link-local)"),
    row("33-zone-id", "http://[fe80::1%25eth0]/", "REJECT", "zone id"),
    row("34a-ula", "http://[fc00::1]/", "BLOCK", "unique local"),
    row("34b-ula-fd", "http://[fd12:3456::1]/", "BLOCK", "unique local"),
    row("35-v6-multicast", "http://[ff02::1]/", "BLOCK", "(multicast)"),
    row("36-v6-control", "http://[2606:4700:4700::1111]/", "ALLOW", ["2606:4700:4700::1111"]),
    row("37-localhost", "http://localhost/", "BLOCK", LOOPBACK_NAME, dns=LOCAL_DNS),
    row("38a-case", "http://LOCALHOST/", "BLOCK", LOOPBACK_NAME, dns=LOCAL_DNS),
    row("38b-case-port", "http://LocalHost:80/", "BLOCK", LOOPBACK_NAME, dns=LOCAL_DNS),
    row("39a-trailing-dot", "http://localhost./", "BLOCK", LOOPBACK_NAME, dns=LOCAL_DNS),
    row("39b-trailing-dot-ip", "http://127.0.0.1./", "BLOCK", "127.0.0.1 (loopback)"),
    row("40-rfc6761-subdomain", "http://app.localhost/", "BLOCK", "app.localhost (a loopback name"),
    row(
        "41-wildcard-dns",
        "http://127.0.0.1.nip.io/",
        "BLOCK",
        "127.0.0.1 (loopback)",
        dns={"127.0.0.1.nip.io": [[LOOPBACK]]},
        queried=["127.0.0.1.nip.io"],
    ),
    row(
        "42-attacker-a-record",
        "http://evil.test/",
        "BLOCK",
        "10.0.0.5 (private (RFC 1918))",
        dns={"evil.test": [["10.0.0.5"]]},
        queried=["evil.test"],
    ),
    row(
        "43-mixed-answers",
        "http://mixed.test/",
        "BLOCK",
        "mixes public and internal addresses (127.0.0.1 is loopback)",
        dns={"mixed.test": [[PUBLIC, LOOPBACK]]},
        queried=["mixed.test"],
    ),
    # Row 44: one check = one query; the first answer is approved (the second check is below).
    row(
        "44-rebinding-first-query",
        "http://rebind.test/",
        "ALLOW",
        [PUBLIC],
        dns={"rebind.test": [[PUBLIC], [LOOPBACK]]},
        queried=["rebind.test"],
    ),
    # Rows 45/46 as the table states them: the session has already moved userinfo into an
    # Authorization header, i.e. the policy ignores it (allow_userinfo=True). The default policy
    # REJECTs both URLs outright: see test_rows_45_46_userinfo_rejected_by_default.
    row("45-userinfo-ip-host", "http://evil.com@127.0.0.1/", "BLOCK", "127.0.0.1 (loopback)", allow_userinfo=True),
    row(
        "46-userinfo-looks-like-ip",
        "http://127.0.0.1:80@evil.test/",
        "ALLOW",
        [PUBLIC],
        dns={"evil.test": [[PUBLIC]]},
        queried=["evil.test"],
        allow_userinfo=True,
    ),
    row("47-fragment-trick", "http://127.0.0.1#@evil.test/", "BLOCK", "127.0.0.1 (loopback)"),
    row("48-backslash", "http://evil.test\\@127.0.0.1/", "REJECT", "backslash"),
    row("49a-percent-host", "http://%31%32%37.0.0.1/", "REJECT", "percent-encoded host"),
    row("49b-percent-dot", "http://127.0.0.1%2e/", "REJECT", "percent-encoded host"),
    row("50a-enclosed-digits", "http://①②⑦.0.0.1/", "BLOCK", "127.0.0.1 (loopback)"),  # choice: BLOCK after IDNA
    row("50b-enclosed-letters", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "BLOCK", LOOPBACK_NAME),
    row("51a-encoded-nul", "http://127.0.0.1%00.evil.test/", "REJECT", "percent-encoded host"),
    row("51b-raw-nul", "http://127.0.0.1\x00.evil.test/", "REJECT", "control character"),
    row("52-crlf", "http://127.0.0.1\r\nX: y/", "REJECT", "control character"),
    row("53-padded-port", "http://127.0.0.1:0080/", "BLOCK", "127.0.0.1 (loopback)"),
    row("54a-file", "file:///etc/passwd", "REJECT", "scheme 'file'"),
    row("54b-gopher", "gopher://127.0.0.1:6379/_x", "REJECT", "scheme 'gopher'"),
    row("54c-ftp", "ftp://x.test/", "REJECT", "scheme 'ftp'"),
    row("54d-dict", "dict://127.0.0.1:11211/", "REJECT", "scheme 'dict'"),
    # Rows 55-59 involve the transport (following redirects, proxies). Here: the policy's verdict on
    # each hop URL / proxy target. End-to-end (the transport calling the policy per hop and never
    # dialling) is tested with the transport integration, not here.
    row("55-hop1-public", "https://pub.test/", "ALLOW", [PUBLIC], dns=PUB, queried=["pub.test"]),
    row("55-hop2-internal", "http://127.0.0.1/", "BLOCK", "127.0.0.1 (loopback)"),
    row("56-scheme-relative-hop", HOP2_SCHEME_RELATIVE, "BLOCK", LOOPBACK_NAME, dns=PUB),
    row("57-redirect-to-file", HOP2_FILE, "REJECT", "scheme 'file'"),
    row("58-env-proxy-target", "http://pub.test/", "ALLOW", [PUBLIC], dns=PUB, queried=["pub.test"]),
    row("59-proxy-internal-literal", "http://10.0.0.1/", "BLOCK", "10.0.0.1 (private (RFC 1918))"),
    row("60a-non-default-port", f"http://{PUBLIC}:22/", "ALLOW", [PUBLIC]),
    row("60b-port-allowlist", f"http://{PUBLIC}:22/", "BLOCK", "port 22", allowed_ports={80, 443}),
]


@pytest.mark.parametrize(("url", "verdict", "expect", "dns", "queried", "policy"), CORPUS)
async def test_corpus_row(
    url: str,
    verdict: str,
    expect: str | list[str],
    dns: dict[str, list[list[str]]],
    queried: tuple[str, ...],
    policy: dict[str, Any],
) -> None:
    """Each SSRF.md row gets its verdict from SSRFPolicy.check, asking DNS only for real host names."""
    resolver = FakeDNS(dns)
    checker = SSRFPolicy(**policy)
    if verdict == "ALLOW":
        assert await checker.check(url, resolver=resolver) == expect
    elif verdict == "BLOCK":
        assert isinstance(expect, str)
        with pytest.raises(SSRFBlocked, match=re.escape(expect)) as info:
            await checker.check(url, resolver=resolver)
        assert HOW_TO_ALLOW in str(info.value) or "allowed_ports" in str(info.value)
    else:
        assert isinstance(expect, str)
        with pytest.raises(InvalidURL, match=re.escape(expect)):
            await checker.check(url, resolver=resolver)
    assert resolver.queries == list(queried)


async def test_row_44_rebinding_resolves_once_per_check() -> None:
    """DNS rebinding: each check queries once and approves that answer; the rebound answer is blocked."""
    resolver = FakeDNS({"rebind.test": [[PUBLIC], [LOOPBACK]]})
    policy = SSRFPolicy()
    approved = await policy.check("http://rebind.test/", resolver=resolver)
    assert resolver.queries == ["rebind.test"]
    assert pick_address(approved) == PUBLIC
    with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.1 \(loopback\)"):
        await policy.check("http://rebind.test/", resolver=resolver)
    assert resolver.queries == ["rebind.test", "rebind.test"]


@pytest.mark.parametrize("url", ["http://evil.com@127.0.0.1/", "http://127.0.0.1:80@evil.test/", "http://@evil.test/"])
async def test_rows_45_46_userinfo_rejected_by_default(url: str) -> None:
    """By default any userinfo is REJECTed before DNS (the session strips real credentials first), unmasked never."""
    resolver = FakeDNS({"evil.test": [[PUBLIC]]})
    with pytest.raises(InvalidURL, match="userinfo") as info:
        await SSRFPolicy().check(url, resolver=resolver)
    assert resolver.queries == []
    assert "evil.com" not in str(info.value)


async def test_row_55_redirect_hops() -> None:
    """Row 55: the first hop passes, the Location it returns is blocked before any connection."""
    policy = SSRFPolicy()
    resolver = FakeDNS(PUB)
    assert await policy.check("https://pub.test/", resolver=resolver) == [PUBLIC]
    hop2 = URL("https://pub.test/").join(URL("http://127.0.0.1/"))
    with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.1 \(loopback\)"):
        await policy.check(hop2, resolver=resolver)
    assert resolver.queries == ["pub.test"]


async def test_row_56_scheme_relative_redirect() -> None:
    """Row 56: ``//localhost/admin`` joins to https://localhost/admin, blocked without a DNS query."""
    hop2 = URL("https://pub.test/").join(URL("//localhost/admin"))
    assert str(hop2) == "https://localhost/admin"
    resolver = FakeDNS({"localhost": [[LOOPBACK]]})
    with pytest.raises(SSRFBlocked, match="localhost"):
        await SSRFPolicy().check(hop2, resolver=resolver)
    assert resolver.queries == []


async def test_row_57_redirect_to_file_is_rejected() -> None:
    """Row 57: a Location with the file: scheme is an invalid URL, whatever the base."""
    hop2 = URL("https://pub.test/").join(URL("file:///etc/passwd"))
    with pytest.raises(InvalidURL, match="scheme 'file'"):
        await SSRFPolicy().check(hop2, resolver=FakeDNS())


async def test_row_58_env_proxy_is_not_the_target() -> None:
    """Row 58: the policy approves pub.test's own address; the env proxy on 127.0.0.1 is no target of it.

    That the transport ignores HTTP_PROXY with security on is tested end-to-end with the transport."""
    resolver = FakeDNS(PUB)
    assert await SSRFPolicy().check("http://pub.test/", resolver=resolver) == [PUBLIC]
    assert resolver.queries == ["pub.test"]
    with pytest.raises(SSRFBlocked):  # were the proxy itself ever checked as a target, it would be blocked
        await SSRFPolicy().check("http://127.0.0.1:3128", resolver=resolver)


def test_row_59_explicit_proxy_precheck() -> None:
    """Row 59: with a proxy (which resolves names itself) precheck blocks an internal literal before any contact."""
    policy = SSRFPolicy()
    with pytest.raises(SSRFBlocked, match=re.escape("10.0.0.1")):
        policy.precheck("http://10.0.0.1/")
    with pytest.raises(SSRFBlocked, match="localhost"):
        policy.precheck("http://localhost:8080/")
    target = policy.precheck("http://pub.test/")
    assert (target.host, target.ip) == ("pub.test", None)  # a name: left to the proxy's own egress rules


# -- numeric hosts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x5db8d822", PUBLIC),
        ("010.0.0.1", "8.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("1.2.65535", "1.2.255.255"),
    ],
)
def test_numeric_hosts_decode_like_inet_aton(host: str, address: str) -> None:
    """A numeric host is read as inet_aton/WHATWG read it (0x hex, leading-zero octal, last part fills)."""
    assert SSRFPolicy().parse(f"http://{host}/").ip == address


async def test_public_numeric_spelling_is_allowed_as_its_address() -> None:
    """A public address in a non-canonical spelling is approved as that address, without DNS."""
    resolver = FakeDNS()
    assert await SSRFPolicy().check("http://0x5db8d822/", resolver=resolver) == [PUBLIC]
    assert resolver.queries == []


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "1.2.3.256", "example.123", "0x100.1.1.1"])
def test_invalid_numeric_hosts_are_rejected(host: str) -> None:
    """A host ending in a number that is no valid IPv4 address is an invalid URL."""
    with pytest.raises(InvalidURL, match=r"not a valid one|not allowed"):
        SSRFPolicy().parse(f"http://{host}/")


# -- parsing -----------------------------------------------------------------------------------


def test_parse_normalizes_the_target() -> None:
    """parse lower-cases the host, drops one trailing dot and fills in the default port."""
    target = SSRFPolicy().parse("https://Example.COM./path?q=1")
    assert (target.scheme, target.host, target.port, target.ip) == ("https", "example.com", 443, None)
    assert SSRFPolicy().parse("http://[0:0:0:0:0:0:0:1]:8080/").ip == "::1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http:///x", "no host"),
        ("http://x.test:0/", "port 0"),
        ("example.com/x", "no scheme"),
        ("http:example.com", "no //host"),
        ("http://[v1.x]/", "not an IPv6 address"),
        ("http://[::1/", "unclosed"),
        ("http://[::1]x/", "after its bracketed"),
        ("http://a b/", "' '"),
        ("http://x..y/", "empty label"),
        ("http://x.test:8o/", "not a number"),
        ("http://x.test\t/", "control character"),
    ],
)
def test_malformed_urls_are_rejected_with_the_reason(url: str, reason: str) -> None:
    """Malformed URLs raise InvalidURL naming what is wrong."""
    with pytest.raises(InvalidURL, match=re.escape(reason)):
        SSRFPolicy().parse(url)


def test_parse_rejects_non_urls() -> None:
    """parse accepts only str and yarl.URL."""
    with pytest.raises(InvalidURL, match=re.escape("str or yarl.URL")):
        SSRFPolicy().parse(123)  # type: ignore[arg-type]


def test_two_at_signs_are_ambiguous_even_with_userinfo_allowed() -> None:
    """More than one '@' is refused even when userinfo is allowed (parsers pick different hosts)."""
    with pytest.raises(InvalidURL, match="more than one '@'"):
        SSRFPolicy(allow_userinfo=True).parse("http://a@b@127.0.0.1/")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (URL("http://127.1/"), SSRFBlocked),
        (URL("http://[fe80::1%25eth0]/"), InvalidURL),
        (URL("http://%31%32%37.0.0.1/"), InvalidURL),
        (URL("http://127.0.0.1%00.evil.test/"), InvalidURL),
        (URL("http://127.0.0.1\x00.evil.test/"), InvalidURL),
        (URL("http://evil.com@127.0.0.1/"), InvalidURL),
        (URL("http://①②⑦.0.0.1/"), SSRFBlocked),
        (URL("file:///etc/passwd"), InvalidURL),
        (URL("/relative"), InvalidURL),
    ],
)
async def test_yarl_urls_get_the_same_verdicts(url: URL, error: type[Exception]) -> None:
    """A yarl.URL (what the transport holds) gets the same verdict as the string it came from."""
    with pytest.raises(error):
        await SSRFPolicy().check(url, resolver=FakeDNS())


# -- allowlist ---------------------------------------------------------------------------------


async def test_allowed_host_name_approves_what_it_resolves_to() -> None:
    """An allowed host name wins over the always-internal names and the address table."""
    resolver = FakeDNS({"localhost": [[LOOPBACK, "::1"]]})
    policy = SSRFPolicy(allow=["LocalHost."])
    assert await policy.check("http://localhost:8080/", resolver=resolver) == [LOOPBACK, "::1"]


async def test_allowed_ip_approves_that_address_in_any_spelling() -> None:
    """An allowed IP approves itself, also spelled numerically or behind a name, but not its neighbours."""
    policy = SSRFPolicy(allow=["127.0.0.1"])
    assert await policy.check("http://127.0.0.1:8080/", resolver=FakeDNS()) == [LOOPBACK]
    assert await policy.check("http://0x7f.1/", resolver=FakeDNS()) == [LOOPBACK]
    named = FakeDNS({"app.test": [[LOOPBACK]]})
    assert await policy.check("http://app.test/", resolver=named) == [LOOPBACK]
    with pytest.raises(SSRFBlocked, match=re.escape("127.0.0.2")):
        await policy.check("http://127.0.0.2/", resolver=FakeDNS())


async def test_allowed_cidr() -> None:
    """An allowed CIDR approves every address inside it and nothing outside."""
    policy = SSRFPolicy(allow=["10.0.0.0/8"])
    assert await policy.check("http://evil.test/", resolver=FakeDNS({"evil.test": [["10.0.0.5"]]})) == ["10.0.0.5"]
    with pytest.raises(SSRFBlocked, match=re.escape("192.168.0.1")):
        await policy.check("http://192.168.0.1/", resolver=FakeDNS())


async def test_allowed_ipv6_address_and_network() -> None:
    """IPv6 addresses (bracketed or not) and networks can be allowed."""
    policy = SSRFPolicy(allow=["[::1]", "fd00::/8"])
    assert await policy.check("http://[::1]:8080/", resolver=FakeDNS()) == ["::1"]
    assert await policy.check("http://[fd12:3456::1]/", resolver=FakeDNS()) == ["fd12:3456::1"]
    with pytest.raises(SSRFBlocked, match=re.escape("fc00::1")):
        await policy.check("http://[fc00::1]/", resolver=FakeDNS())


async def test_allowlist_turns_a_mixed_answer_into_an_approved_one() -> None:
    """Allowed internal addresses are not "internal" for the mixed-answer rule."""
    resolver = FakeDNS({"mixed.test": [[PUBLIC, LOOPBACK]]})
    assert await SSRFPolicy(allow=["127.0.0.0/8"]).check("http://mixed.test/", resolver=resolver) == [PUBLIC, LOOPBACK]


async def test_block_mixed_false_keeps_only_public_addresses() -> None:
    """With block_mixed=False a mixed answer is narrowed to its public addresses, order kept, duplicates dropped."""
    resolver = FakeDNS({"mixed.test": [[LOOPBACK, PUBLIC, "10.0.0.1", PUBLIC, "8.8.8.8"]]})
    approved = await SSRFPolicy(block_mixed=False).check("http://mixed.test/", resolver=resolver)
    assert approved == [PUBLIC, "8.8.8.8"]
    assert pick_address(approved) == PUBLIC


async def test_extra_blocked_wins_over_allow() -> None:
    """extra_blocked addresses and names are refused even inside an allowed network, with how to undo it."""
    policy = SSRFPolicy(allow=["10.0.0.0/8", "svc.test"], extra_blocked=["10.9.0.0/16", "secret.test"])
    with pytest.raises(SSRFBlocked, match="remove it from extra_blocked"):
        await policy.check("http://10.9.1.1/", resolver=FakeDNS())
    with pytest.raises(SSRFBlocked, match="extra_blocked"):
        await policy.check("http://svc.test/", resolver=FakeDNS({"svc.test": [["10.9.0.1"]]}))
    resolver = FakeDNS({"secret.test": [[PUBLIC]]})
    with pytest.raises(SSRFBlocked, match=re.escape("secret.test (listed in extra_blocked")):
        await policy.check("http://secret.test/", resolver=resolver)
    assert resolver.queries == []


async def test_allowed_host_passes_the_port_allowlist() -> None:
    """allowed_ports restricts other hosts; an allowed host or address may use any port."""
    policy = SSRFPolicy(allow=["localhost", "127.0.0.1"], allowed_ports=[443])
    resolver = FakeDNS({"localhost": [[LOOPBACK]], "pub.test": [[PUBLIC]]})
    assert await policy.check("http://localhost:8080/", resolver=resolver) == [LOOPBACK]
    assert await policy.check("http://127.0.0.1:8080/", resolver=resolver) == [LOOPBACK]
    assert await policy.check("https://pub.test/", resolver=resolver) == [PUBLIC]
    with pytest.raises(SSRFBlocked, match=r"port 80 of pub.test .*allowed_ports \(443\)"):
        await policy.check("http://pub.test/", resolver=resolver)


@pytest.mark.parametrize("entry", ["127.0.0.1:8080", "*.example.com", "http://x.test", "10.0.0.0/33"])
def test_invalid_allow_entries_fail_early(entry: str) -> None:
    """An allow= entry that is no host name, IP or CIDR raises ValueError at construction."""
    with pytest.raises(ValueError, match="neither a host name, an IP address nor a CIDR"):
        SSRFPolicy(allow=[entry])


def test_invalid_allowed_ports_fail_early() -> None:
    """allowed_ports must hold real port numbers."""
    with pytest.raises(ValueError, match="1-65535"):
        SSRFPolicy(allowed_ports=[0, 80])


def test_is_allowed_host_normalizes() -> None:
    """is_allowed_host matches names case-insensitively (trailing dot ignored), IPs and CIDRs."""
    policy = SSRFPolicy(allow=["api.internal", "10.0.0.0/8", "::1"])
    assert policy.is_allowed_host("API.Internal.")
    assert policy.is_allowed_host("10.1.2.3")
    assert policy.is_allowed_host("[::1]")
    assert not policy.is_allowed_host("other.internal")
    assert not policy.is_allowed_host("11.0.0.1")


def test_from_config_reads_security_config_allow() -> None:
    """from_config takes SecurityConfig.allow (hosts and CIDRs)."""
    policy = SSRFPolicy.from_config(SecurityConfig(allow=("127.0.0.1", "myservice.internal", "10.0.0.0/8")))
    assert policy.allow == ("127.0.0.1", "myservice.internal", "10.0.0.0/8")
    assert policy.is_allowed_host("127.0.0.1")
    assert policy.is_allowed_host("myservice.internal")
    assert policy.is_allowed_host("10.20.30.40")
    assert not policy.is_allowed_host("192.168.0.1")


def test_from_config_sees_the_environment_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """FASTHTTP_ALLOW_HOSTS seeds SecurityConfig.allow, and so the policy."""
    monkeypatch.setenv("FASTHTTP_ALLOW_HOSTS", "10.1.2.3, api.internal")
    policy = SSRFPolicy.from_config(SecurityConfig())
    assert policy.is_allowed_host("10.1.2.3")
    assert policy.is_allowed_host("api.internal")
    assert not policy.is_allowed_host("localhost")


# -- messages and errors -----------------------------------------------------------------------


async def test_blocked_message_says_what_why_and_how() -> None:
    """The SSRFBlocked sentence names the address, its range, the URL and how to allow it."""
    resolver = FakeDNS({"internal.test": [[LOOPBACK]]})
    with pytest.raises(SSRFBlocked) as info:
        await SSRFPolicy().check("http://internal.test:8080/admin", resolver=resolver)
    assert str(info.value) == (
        "refusing to connect to 127.0.0.1 (loopback) for http://internal.test:8080/admin; "
        "add it to SecurityConfig(allow=...) or FASTHTTP_ALLOW_HOSTS to permit it"
    )


async def test_blocked_name_message() -> None:
    """An always-internal name is refused with the reason, the URL and the opt-out."""
    with pytest.raises(SSRFBlocked) as info:
        await SSRFPolicy().check("http://localhost:8080/admin", resolver=FakeDNS())
    assert str(info.value) == (
        "refusing to connect to localhost (a loopback name (RFC 6761)) for http://localhost:8080/admin; "
        "add it to SecurityConfig(allow=...) or FASTHTTP_ALLOW_HOSTS to permit it"
    )
    with pytest.raises(SSRFBlocked, match="cloud metadata service name"):
        await SSRFPolicy().check("http://metadata.google.internal./computeMetadata/v1/", resolver=FakeDNS())


async def test_messages_mask_secrets() -> None:
    """Secrets in the URL never reach the error message."""
    resolver = FakeDNS({"internal.test": [[LOOPBACK]]})
    with pytest.raises(SSRFBlocked) as info:
        await SSRFPolicy().check("http://internal.test/?token=s3cr3t", resolver=resolver)
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(InvalidURL) as rejected:
        await SSRFPolicy().check("http://user:hunter2@127.0.0.1/", resolver=resolver)
    assert "hunter2" not in str(rejected.value)


async def test_dns_failure_is_not_an_ssrf_block() -> None:
    """A failed or empty lookup is a ConnectError, distinguishable from SSRFBlocked."""
    with pytest.raises(ConnectError) as failed:
        await SSRFPolicy().check("http://nowhere.test/", resolver=FakeDNS())
    assert not isinstance(failed.value, SSRFBlocked)
    with pytest.raises(ConnectError, match="found no address"):
        await SSRFPolicy().check("http://empty.test/", resolver=FakeDNS({"empty.test": [[]]}))


def test_rejections_are_value_errors_with_sentences() -> None:
    """InvalidURL is also a ValueError and its message says what and why."""
    with pytest.raises(ValueError, match=r"backslash in its authority.*refusing to send it\.$"):
        SSRFPolicy().parse("http://evil.test\\@127.0.0.1/")


# -- check_address and classification ---------------------------------------------------------


def test_check_address() -> None:
    """check_address refuses internal, scoped and non-IP answers and lets public ones and allowed hosts pass."""
    policy = SSRFPolicy(allow=["dev.test"])
    policy.check_address(PUBLIC, host="x.test", url="http://x.test/")  # passes: no exception
    policy.check_address(LOOPBACK, host="DEV.test.", url="http://dev.test/")
    with pytest.raises(SSRFBlocked, match=r"127.0.0.1 \(loopback\) for http://x.test/"):
        policy.check_address(LOOPBACK, host="x.test", url="http://x.test/")
    with pytest.raises(SSRFBlocked, match="link-local"):
        policy.check_address("fe80::1%eth0", host="x.test", url="http://x.test/")
    with pytest.raises(SSRFBlocked, match="not an IP address"):
        policy.check_address("not-an-ip", host="x.test", url="http://x.test/")


@pytest.mark.parametrize(
    ("ip", "name"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("0.1.2.3", "this network (RFC 1122)"),
        ("198.51.100.7", "documentation TEST-NET-2 (RFC 5737)"),
        ("203.0.113.7", "documentation TEST-NET-3 (RFC 5737)"),
        ("240.0.0.1", "reserved class E (RFC 1112)"),
        ("192.88.99.1", "6to4 relay anycast (RFC 7526, deprecated)"),
        ("169.254.170.2", "cloud metadata"),
        ("169.254.170.23", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fd00:ec2::23", "cloud metadata"),
        ("::ffff:0:7f00:1", "IPv4-translated IPv6 (RFC 2765) of 127.0.0.1, loopback"),
        ("::ffff:8.8.8.8", "IPv4-mapped IPv6"),
        ("64:ff9b:1::1", "local-use NAT64 (RFC 8215)"),
        ("100::1", "discard-only (RFC 6666)"),
        ("2001::1", "Teredo (RFC 4380)"),
        ("2001:2::1", "benchmarking (RFC 5180)"),
        ("2001:db8::1", "documentation (RFC 3849)"),
        ("3fff::1", "documentation (RFC 9637)"),
        ("fec0::1", "site-local (RFC 3879, deprecated)"),
        ("1::", "reserved by the IETF (outside 2000::/3 global unicast)"),
        ("fe80::1%eth0", "link-local"),
    ],
)
def test_classify(ip: str, name: str | None) -> None:
    """classify names the forbidden range of an address, or returns None for a public one."""
    assert SSRFPolicy().classify(ip) == name
    assert classify_address(ip) == name


def test_every_forbidden_range_is_forbidden_at_both_ends() -> None:
    """The first and last address of every table entry classify as forbidden."""
    for network, _name in FORBIDDEN_RANGES:
        assert classify_address(str(network.network_address)) is not None, network
        assert classify_address(str(network.broadcast_address)) is not None, network


def test_classify_extra_blocked_and_garbage() -> None:
    """classify includes extra_blocked networks and raises ValueError for a non-address."""
    assert SSRFPolicy(extra_blocked=["8.8.8.0/24"]).classify("8.8.8.8") == "listed in extra_blocked as 8.8.8.0/24"
    with pytest.raises(ValueError):
        SSRFPolicy().classify("example.com")


def test_pick_address() -> None:
    """pick_address dials the first approved address and refuses an empty list."""
    assert pick_address(["2606:4700::1", PUBLIC]) == "2606:4700::1"
    with pytest.raises(ValueError):
        pick_address([])


def test_policy_repr_and_properties() -> None:
    """The policy exposes its configuration read-only and shows it in its repr."""
    policy = SSRFPolicy(allow=["a.test"], block_mixed=False, allow_userinfo=True, allowed_ports=[443, 80])
    assert (policy.block_mixed, policy.allow_userinfo, policy.allowed_ports) == (False, True, frozenset({80, 443}))
    assert policy.extra_blocked == ()
    assert "allowed_ports=[80, 443]" in repr(policy)


# -- the default resolver (the loop's getaddrinfo, patched: no real DNS) ------------------------


async def test_system_resolver_deduplicates_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default resolver uses loop.getaddrinfo and returns unique addresses in its order."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    async def fake_getaddrinfo(host: str, port: object, **kwargs: object) -> list[tuple[Any, ...]]:
        asked.append(host)
        tcp = socket.SOCK_STREAM
        return [
            (socket.AF_INET, tcp, 6, "", (PUBLIC, 0)),
            (socket.AF_INET6, tcp, 6, "", ("2606:2800:220:1::1", 0, 0, 0)),
            (socket.AF_INET, tcp, 6, "", (PUBLIC, 0)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo)
    assert await system_resolver("example.test") == [PUBLIC, "2606:2800:220:1::1"]
    assert await SSRFPolicy().check("http://example.test/") == [PUBLIC, "2606:2800:220:1::1"]
    assert asked == ["example.test", "example.test"]


async def test_system_resolver_failure_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A getaddrinfo failure becomes ConnectError naming the host."""
    loop = asyncio.get_running_loop()

    async def failing_getaddrinfo(host: str, port: object, **kwargs: object) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", failing_getaddrinfo)
    with pytest.raises(ConnectError, match=re.escape("'nowhere.test': Name or service not known")):
        await system_resolver("nowhere.test")
