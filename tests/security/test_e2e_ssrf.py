"""SSRF protection end to end, through the real transports (aiohttp HTTP/1.1 and httpx2 HTTP/2).

Every test injects DNS answers with ``SecurityConfig(resolver=...)`` and passes
``allow=`` explicitly, so the test run's ``FASTHTTP_ALLOW_HOSTS`` does not apply.
A tripwire on the event loop's ``sock_connect`` records every address dialled and
refuses (and reports) any that is not loopback: these tests never send a packet
off 127.0.0.1, even if the code under test were wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trustme

from fasthttp import AsyncSession
from fasthttp.config import SecurityConfig
from fasthttp.exceptions import ConnectError, InvalidURL, SSRFBlocked, TLSError
from fasthttp.testing import LocalServer, serve
from tests.support.proxy import ForwardProxy
from tests.support.tls import TLSServer, ca_context, run_tls_server

PUBLIC = "public.test"


class FakeDNS:
    """An injected resolver: ``answers[host]`` is a list of answers given in turn (the last one repeats)."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self.answers = {host: [list(a) for a in seq] for host, seq in answers.items()}
        self.calls: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        sequence = self.answers.get(host)
        if not sequence:
            raise ConnectError(f"Could not resolve the host name {host!r}: unknown to the test resolver.")
        return sequence.pop(0) if len(sequence) > 1 else list(sequence[0])


def dns(**answers: str | list[str]) -> FakeDNS:
    """One fixed answer per host: ``dns(public_test="127.0.0.1")`` (underscores become dots)."""
    fixed = {host.replace("_", "."): [[a] if isinstance(a, str) else a] for host, a in answers.items()}
    return FakeDNS(fixed)


@pytest.fixture(autouse=True)
def dialled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every (address, port) a socket connected to; a non-loopback address is refused and fails the test."""
    addresses: list[tuple[str, int]] = []
    forbidden: list[Any] = []
    original = asyncio.selector_events.BaseSelectorEventLoop.sock_connect

    async def guarded(self: Any, sock: socket.socket, address: Any) -> None:
        host = str(address[0]).partition("%")[0]
        if not ipaddress.ip_address(host).is_loopback:
            forbidden.append(address)
            raise ConnectionRefusedError(f"test tripwire: refused to dial non-loopback {address!r}")
        addresses.append((host, int(address[1])))
        await original(self, sock, address)

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", guarded)
    yield addresses
    assert forbidden == [], f"a non-loopback address was dialled: {forbidden}"


def dead_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def second_server(host: str = "127.0.0.2") -> AsyncIterator[LocalServer]:
    """Another embedded server, on another loopback address."""
    async with serve(host) as other:
        yield other


# -- HTTP/1.1 (aiohttp) ----------------------------------------------------------------------------


async def test_public_name_resolving_to_loopback_is_blocked_before_connecting(
    server: LocalServer, dialled: list[tuple[str, int]]
) -> None:
    """public.test -> 127.0.0.1 is refused after the one DNS answer, before any connection is opened."""
    resolver = dns(public_test="127.0.0.1")
    async with AsyncSession(security=SecurityConfig(allow=(), resolver=resolver), raise_errors=True) as session:
        with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.1 \(loopback\)") as caught:
            await session.get(f"http://{PUBLIC}:{server.port}/get")
    assert "allow=" in str(caught.value)
    assert resolver.calls == [PUBLIC]
    assert server.requests == [] and dialled == []


async def test_internal_literal_is_blocked_without_dns(server: LocalServer, dialled: list[tuple[str, int]]) -> None:
    """An internal IP literal in any spelling is refused before DNS and before connecting."""
    resolver = dns()
    async with AsyncSession(security=SecurityConfig(allow=(), resolver=resolver), raise_errors=True) as session:
        for host in ("127.0.0.1", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"):
            with pytest.raises(SSRFBlocked):
                await session.get(f"http://{host}:{server.port}/get")
        with pytest.raises(SSRFBlocked, match="localhost"):
            await session.get(f"http://localhost:{server.port}/get")
    assert resolver.calls == [] and server.requests == [] and dialled == []


async def test_ssrf_error_is_not_a_dns_failure(server: LocalServer) -> None:
    """A name the resolver cannot answer is a ConnectError, distinguishable from SSRFBlocked."""
    async with AsyncSession(security=SecurityConfig(allow=(), resolver=dns()), raise_errors=True) as session:
        with pytest.raises(ConnectError) as caught:
            await session.get(f"http://nowhere.test:{server.port}/get")
    assert not isinstance(caught.value, SSRFBlocked)


async def test_allowlist_lets_tests_reach_loopback(server: LocalServer, dialled: list[tuple[str, int]]) -> None:
    """allow=("127.0.0.1",) reaches the local server, by literal and by a name resolving to it."""
    config = SecurityConfig(allow=("127.0.0.1",), resolver=dns(public_test="127.0.0.1"))
    async with AsyncSession(security=config, raise_errors=True) as session:
        by_ip = await session.get(f"{server.url}/get")
        by_name = await session.get(f"http://{PUBLIC}:{server.port}/get")
    assert by_ip is not None and by_ip.status_code == 200
    assert by_name is not None and by_name.json()["headers"]["Host"] == f"{PUBLIC}:{server.port}"
    assert server.hits("/get") == 2
    assert {address for address, _ in dialled} == {"127.0.0.1"}


async def test_allowlist_from_the_environment(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """FASTHTTP_ALLOW_HOSTS seeds SecurityConfig().allow; emptied, the same request is blocked."""
    monkeypatch.setenv("FASTHTTP_ALLOW_HOSTS", "127.0.0.1")
    async with AsyncSession(security=SecurityConfig(), raise_errors=True) as session:
        assert (await session.get(f"{server.url}/get")) is not None
    monkeypatch.setenv("FASTHTTP_ALLOW_HOSTS", "")
    async with AsyncSession(security=SecurityConfig(), raise_errors=True) as session:
        with pytest.raises(SSRFBlocked):
            await session.get(f"{server.url}/get")
    assert server.hits("/get") == 1


async def test_redirect_to_a_blocked_loopback_address_is_stopped_at_the_hop(server: LocalServer) -> None:
    """Allowed 127.0.0.1 redirects to 127.0.0.2 (loopback, not allowed): SSRFBlocked, nothing reaches it."""
    async with second_server() as other:
        config = SecurityConfig(allow=("127.0.0.1",), resolver=dns())
        async with AsyncSession(security=config, raise_errors=True) as session:
            with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.2 \(loopback\)"):
                await session.get(f"{server.url}/redirect-to?url={other.url}/get")
        assert server.hits("/redirect-to") == 1
        assert other.requests == []


async def test_redirect_to_a_name_resolving_internally_is_stopped_at_the_hop(
    server: LocalServer, dialled: list[tuple[str, int]]
) -> None:
    """A redirect to evil.test (-> 10.0.0.5) is refused after its DNS answer; 10.0.0.5 is never dialled."""
    resolver = dns(evil_test="10.0.0.5")
    config = SecurityConfig(allow=("127.0.0.1",), resolver=resolver)
    async with AsyncSession(security=config, raise_errors=True) as session:
        with pytest.raises(SSRFBlocked, match=r"10\.0\.0\.5 \(private"):
            await session.get(f"{server.url}/redirect-to?url=http://evil.test/admin")
        with pytest.raises(SSRFBlocked, match="localhost"):
            await session.get(f"{server.url}/redirect-to?url=//localhost/admin")
        with pytest.raises(InvalidURL):
            await session.get(f"{server.url}/redirect-to?url=file:///etc/passwd")
    assert resolver.calls == ["evil.test"]
    assert server.hits("/redirect-to") == 3
    assert {address for address, _ in dialled} == {"127.0.0.1"}


async def test_dns_rebinding_dials_only_the_approved_address(
    server: LocalServer, dialled: list[tuple[str, int]]
) -> None:
    """One DNS query per connection, only the approved address dialled; a rebound answer is blocked."""
    resolver = FakeDNS({"rebind.test": [["127.0.0.1"], ["10.0.0.5"]]})
    config = SecurityConfig(allow=("127.0.0.1",), resolver=resolver)
    url = f"http://rebind.test:{server.port}/get"
    async with AsyncSession(security=config, raise_errors=True) as session:
        first = await session.get(url)
        second = await session.get(url, headers={"Connection": "close"})  # same connection, then closed
        assert first is not None and second is not None
        assert resolver.calls == ["rebind.test"]  # one connection, one query
        assert dialled == [("127.0.0.1", server.port)]
        with pytest.raises(SSRFBlocked, match=r"10\.0\.0\.5"):
            await session.get(url)  # a new connection asks again; the rebound answer is refused
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert dialled == [("127.0.0.1", server.port)]
    assert server.hits("/get") == 2


async def test_mixed_dns_answer_is_blocked_unless_block_mixed_dns_is_off(
    server: LocalServer, dialled: list[tuple[str, int]]
) -> None:
    """A mixed DNS answer is refused; with block_mixed_dns=False only the allowed address is dialled."""
    answers = {"mixed.test": [["10.0.0.5", "127.0.0.1"]]}
    strict = SecurityConfig(allow=("127.0.0.1",), resolver=FakeDNS(answers))
    async with AsyncSession(security=strict, raise_errors=True) as session:
        with pytest.raises(SSRFBlocked, match="mixes"):
            await session.get(f"http://mixed.test:{server.port}/get")
    assert dialled == []
    lenient = SecurityConfig(allow=("127.0.0.1",), resolver=FakeDNS(answers), block_mixed_dns=False)
    async with AsyncSession(security=lenient, raise_errors=True) as session:
        assert (await session.get(f"http://mixed.test:{server.port}/get")) is not None
    assert dialled == [("127.0.0.1", server.port)]


async def test_environment_proxy_variables_are_ignored(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, dialled: list[tuple[str, int]]
) -> None:
    """HTTP_PROXY & co. point at a dead port; the request still goes direct to the validated address."""
    proxy = f"http://127.0.0.1:{dead_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    resolver = dns(public_test="127.0.0.1")
    config = SecurityConfig(allow=("127.0.0.1",), resolver=resolver)
    async with AsyncSession(security=config, raise_errors=True) as session:
        response = await session.get(f"http://{PUBLIC}:{server.port}/get")
    assert response is not None and response.status_code == 200
    assert resolver.calls == [PUBLIC]  # resolved by us, not by a proxy
    assert dialled == [("127.0.0.1", server.port)]


async def test_explicit_proxy_with_internal_literal_target_is_blocked_before_the_proxy(
    server: LocalServer, forward_proxy: ForwardProxy, dialled: list[tuple[str, int]]
) -> None:
    """proxy= with http://10.0.0.1/ is refused before the proxy is contacted; an allowed target goes through."""
    config = SecurityConfig(allow=(), resolver=dns())
    async with AsyncSession(proxy=forward_proxy.url, security=config, raise_errors=True) as session:
        with pytest.raises(SSRFBlocked, match=r"10\.0\.0\.1"):
            await session.get("http://10.0.0.1/")
        with pytest.raises(SSRFBlocked, match=r"169\.254\.169\.254 \(cloud metadata\)"):
            await session.get("http://169.254.169.254/latest/meta-data/")
    assert forward_proxy.requests == [] and dialled == []
    allowed = SecurityConfig(allow=("127.0.0.1",), resolver=dns())
    async with AsyncSession(proxy=forward_proxy.url, security=allowed, raise_errors=True) as session:
        response = await session.get(f"{server.url}/get")
    assert response is not None and response.status_code == 200
    assert forward_proxy.count("GET", "/get") == 1


async def test_streaming_is_checked_the_same_way(server: LocalServer, dialled: list[tuple[str, int]]) -> None:
    """session.stream(): blocked name, blocked redirect hop, and the allowed case, like buffered requests."""
    blocked = SecurityConfig(allow=(), resolver=dns(public_test="127.0.0.1"))
    async with AsyncSession(security=blocked) as session:
        with pytest.raises(SSRFBlocked):
            async with session.stream("GET", f"http://{PUBLIC}:{server.port}/stream/3"):
                pass
    assert server.requests == [] and dialled == []
    async with second_server() as other:
        allowed = SecurityConfig(allow=("127.0.0.1",), resolver=dns(public_test="127.0.0.1"))
        async with AsyncSession(security=allowed) as session:
            with pytest.raises(SSRFBlocked, match=r"127\.0\.0\.2"):
                async with session.stream("GET", f"{server.url}/redirect-to?url={other.url}/stream/3"):
                    pass
            async with session.stream("GET", f"http://{PUBLIC}:{server.port}/stream/3") as response:
                lines = [line async for line in response.aiter_lines()]
        assert other.requests == []
    assert len(lines) == 3


async def test_security_false_disables_ssrf_protection(server: LocalServer) -> None:
    """security=False (or ssrf=False) reaches 127.0.0.1 with an empty allowlist; the default blocks it."""
    async with AsyncSession(security=SecurityConfig(allow=()), raise_errors=True) as session:
        with pytest.raises(SSRFBlocked):
            await session.get(f"{server.url}/get")
    async with AsyncSession(security=False, raise_errors=True) as session:
        assert (await session.get(f"{server.url}/get")) is not None
    async with AsyncSession(security=SecurityConfig(allow=(), ssrf=False), raise_errors=True) as session:
        assert (await session.get(f"{server.url}/get")) is not None
    assert server.hits("/get") == 2


# -- HTTP/2 (httpx2) over TLS, with a certificate for the public-looking name -------------------


@pytest.fixture(scope="module")
def public_h2(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    """An h2 + http/1.1 TLS server whose certificate names only public.test (not 127.0.0.1)."""
    with run_tls_server(tls_ca, tmp_path_factory.mktemp("public-h2"), (PUBLIC,), ("h2", "http/1.1")) as running:
        yield running


@pytest.fixture
def h2_public(public_h2: TLSServer) -> TLSServer:
    """public_h2 with its record cleared."""
    public_h2.reset()
    return public_h2


async def test_http2_blocks_a_name_resolving_to_loopback(
    h2_public: TLSServer, tls_ca: trustme.CA, dialled: list[tuple[str, int]]
) -> None:
    """http2=True: public.test -> 127.0.0.1 with an empty allowlist is refused before connecting."""
    config = SecurityConfig(allow=(), resolver=dns(public_test="127.0.0.1"))
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=config, raise_errors=True) as session:
        with pytest.raises(SSRFBlocked, match="loopback"):
            await session.get(f"https://{PUBLIC}:{h2_public.port}/get")
        with pytest.raises(SSRFBlocked):
            async with session.stream("GET", f"https://{PUBLIC}:{h2_public.port}/stream/2"):
                pass
        with pytest.raises(SSRFBlocked, match=r"10\.0\.0\.1"):
            await session.get("https://10.0.0.1/")
    assert h2_public.requests == [] and dialled == []


async def test_http2_allowed_address_keeps_the_host_name_for_tls(
    h2_public: TLSServer, tls_ca: trustme.CA, dialled: list[tuple[str, int]]
) -> None:
    """HTTP/2 dials the allowed 127.0.0.1 once and verifies the certificate for public.test."""
    resolver = dns(public_test="127.0.0.1")
    config = SecurityConfig(allow=("127.0.0.1",), resolver=resolver)
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=config, raise_errors=True) as session:
        responses = [await session.get(f"https://{PUBLIC}:{h2_public.port}/get") for _ in range(3)]
        async with session.stream("GET", f"https://{PUBLIC}:{h2_public.port}/stream/2") as streamed:
            lines = [line async for line in streamed.aiter_lines()]
    assert all(r is not None and r.http_version == "HTTP/2" for r in responses)
    assert len(lines) == 2
    assert responses[0] is not None and responses[0].json()["headers"]["host"] == f"{PUBLIC}:{h2_public.port}"
    assert resolver.calls == [PUBLIC]  # one connection, multiplexed
    assert dialled == [("127.0.0.1", h2_public.port)]


async def test_tls_verification_uses_the_host_name_not_the_address(h2_public: TLSServer, tls_ca: trustme.CA) -> None:
    """Both transports check the certificate against the host name: other.test fails, public.test passes."""
    resolver = dns(public_test="127.0.0.1", other_test="127.0.0.1")
    config = SecurityConfig(allow=("127.0.0.1",), resolver=resolver)
    for http2 in (True, False):
        async with AsyncSession(http2=http2, verify=ca_context(tls_ca), security=config, raise_errors=True) as session:
            with pytest.raises(TLSError) as caught:
                await session.get(f"https://other.test:{h2_public.port}/get")
            assert caught.value.kind == "hostname"
            ok = await session.get(f"https://{PUBLIC}:{h2_public.port}/get")
            assert ok is not None and ok.json()["http_version"] == ("HTTP/2" if http2 else "HTTP/1.1")
    assert h2_public.hits("/get") == 2


async def test_http2_environment_proxies_ignored_and_security_false(
    h2_server: TLSServer, tls_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http2=True ignores HTTPS_PROXY; security=False reaches https://127.0.0.1 with an empty allowlist."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead_port()}")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{dead_port()}")
    url = f"https://127.0.0.1:{h2_server.port}/get"
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=SecurityConfig(allow=())) as session:
        with pytest.raises(SSRFBlocked):
            await session.get(url, raise_errors=True)
    async with AsyncSession(http2=True, verify=ca_context(tls_ca), security=False, raise_errors=True) as session:
        response = await session.get(url)
    assert response is not None and response.http_version == "HTTP/2"
    assert h2_server.hits("/get") == 1




@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
async def test_ssrf_error_after_dns_names_the_request(http2: bool, server: LocalServer) -> None:
    """An SSRFBlocked decided after DNS has .request set and names the requested (masked) URL."""
    config = SecurityConfig(allow=(), resolver=dns(public_test="127.0.0.1"))
    scheme = "https" if http2 else "http"
    url = f"{scheme}://{PUBLIC}:{server.port}/admin/panel?token=s3cr3t"
    async with AsyncSession(http2=http2, security=config, raise_errors=True) as session:
        with pytest.raises(SSRFBlocked) as caught:
            await session.get(url)
    assert caught.value.request is not None and caught.value.request.url.host == PUBLIC
    assert f"{scheme}://{PUBLIC}:{server.port}/admin/panel?token=[REDACTED]" in str(caught.value)
