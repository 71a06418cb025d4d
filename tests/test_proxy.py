"""proxy=: requests really travel through a forward proxy (proxy.py on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from fasthttp import AsyncSession, ProxyError
from fasthttp.testing import LocalServer
from tests.support.proxy import ForwardProxy
from tests.support.tls import TLSServer, ca_context


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_get_goes_through_the_proxy(server: LocalServer, forward_proxy: ForwardProxy) -> None:
    """A GET with proxy= is forwarded by the proxy (absolute-form) and answered by the server."""
    async with AsyncSession(base_url=server.url, proxy=forward_proxy.url) as session:
        resp = await session.get("/get?via=proxy")
    assert resp is not None and resp.status_code == 200
    assert resp.json()["args"] == {"via": "proxy"}
    assert forward_proxy.count("GET", "/get") == 1
    assert server.hits("/get") == 1


async def test_post_goes_through_the_proxy(server: LocalServer, forward_proxy: ForwardProxy) -> None:
    """A POST body is forwarded by the proxy intact."""
    async with AsyncSession(base_url=server.url, proxy=forward_proxy.url) as session:
        resp = await session.post("/post", json={"a": 1})
    assert resp is not None
    assert resp.json()["json"] == {"a": 1}
    assert forward_proxy.count("POST", "/post") == 1


async def test_every_request_is_proxied(server: LocalServer, forward_proxy: ForwardProxy) -> None:
    """Several requests on a kept-alive proxy connection are each forwarded."""
    async with AsyncSession(base_url=server.url, proxy=forward_proxy.url) as session:
        for i in range(3):
            assert await session.get(f"/get?i={i}") is not None
        await asyncio.gather(*(session.get(f"/anything?j={j}") for j in range(3)))
    assert forward_proxy.count("GET", "/get") == 3
    assert forward_proxy.count("GET", "/anything") == 3


@pytest.mark.parametrize("http2", [False, True], ids=["aiohttp", "http2"])
async def test_environment_proxies_are_ignored(
    server: LocalServer,
    h2_server: TLSServer,
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    http2: bool,
) -> None:
    """HTTP_PROXY/HTTPS_PROXY in the environment are not used: only proxy= routes via a proxy."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, forward_proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with AsyncSession(http2=http2, verify=ca_context(h2_server.ca)) as session:
        assert await session.get(server.url + "/get") is not None
        assert await session.get(h2_server.url + "/get") is not None
    assert forward_proxy.requests == []
    assert server.hits("/get") == 1 and h2_server.hits("/get") == 1


async def test_https_through_the_proxy_uses_connect(
    tls_server: TLSServer, forward_proxy: ForwardProxy
) -> None:
    """An https:// URL is tunnelled with CONNECT by the default transport."""
    async with AsyncSession(
        base_url=tls_server.url, proxy=forward_proxy.url, verify=ca_context(tls_server.ca)
    ) as session:
        resp = await session.get("/get")
    assert resp is not None and resp.status_code == 200
    assert forward_proxy.count("CONNECT") == 1
    assert forward_proxy.requests[0].target == f"127.0.0.1:{tls_server.port}"


async def test_http2_through_the_proxy(h2_server: TLSServer, forward_proxy: ForwardProxy) -> None:
    """http2=True tunnels through the proxy with CONNECT, negotiates HTTP/2 inside the tunnel,
    and multiplexes later requests on that one tunnel."""
    async with AsyncSession(
        base_url=h2_server.url, http2=True, proxy=forward_proxy.url, verify=ca_context(h2_server.ca)
    ) as session:
        # The first request opens the tunnel: httpx2 cannot know the tunnel speaks HTTP/2 before
        # its TLS handshake, so requests sent at the same instant would each open one.
        first = await session.get("/get?i=first")
        responses = await asyncio.gather(*(session.get(f"/get?i={i}") for i in range(4)))
    assert first is not None and first.http_version == "HTTP/2"
    assert all(r is not None and r.http_version == "HTTP/2" for r in responses)
    assert forward_proxy.count("CONNECT") == 1
    assert forward_proxy.requests[0].target == f"127.0.0.1:{h2_server.port}"
    assert h2_server.versions("/get") == {"HTTP/2"}
    assert len(h2_server.connections("/get")) == 1


async def test_http2_transport_forwards_plain_http(
    server: LocalServer, forward_proxy: ForwardProxy
) -> None:
    """http2=True with an http:// URL is forwarded by the proxy in absolute form (HTTP/1.1)."""
    async with AsyncSession(base_url=server.url, http2=True, proxy=forward_proxy.url) as session:
        resp = await session.post("/post", content=b"payload")
    assert resp is not None
    assert resp.json()["data"] == "payload"
    assert forward_proxy.count("POST", "/post") == 1


@pytest.mark.parametrize("http2", [False, True], ids=["aiohttp", "http2"])
async def test_unreachable_proxy_is_proxy_error(server: LocalServer, http2: bool) -> None:
    """A proxy that refuses connections raises ProxyError, with its credentials masked."""
    proxy = f"http://user:hunter2@127.0.0.1:{_closed_port()}"
    async with AsyncSession(base_url=server.url, proxy=proxy, http2=http2, raise_errors=True) as session:
        with pytest.raises(ProxyError) as info:
            await session.get("/get")
    assert "hunter2" not in str(info.value)
    assert server.hits("/get") == 0
