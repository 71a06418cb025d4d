"""TLS with the default (aiohttp, HTTP/1.1) transport against hypercorn over real TLS."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fasthttp import AsyncSession, TLSError
from tests.support.tls import TLSServer, ca_context

trustme = pytest.importorskip("trustme")


async def test_verify_with_a_ca_bundle_path(tls_server: TLSServer, tmp_path: Path) -> None:
    """verify= a CA bundle file trusts the servers it signs."""
    bundle = tmp_path / "ca.pem"
    tls_server.ca.cert_pem.write_to_path(str(bundle))
    async with AsyncSession(base_url=tls_server.url, verify=str(bundle)) as session:
        resp = await session.get("/get?via=path")
    assert resp is not None
    assert resp.status_code == 200
    assert resp.http_version == "HTTP/1.1"
    assert resp.json()["args"] == {"via": "path"}
    assert tls_server.hits("/get") == 1


async def test_verify_with_a_pathlike(tls_server: TLSServer, tmp_path: Path) -> None:
    """verify= accepts an os.PathLike CA bundle as well as a str."""
    bundle = tmp_path / "ca.pem"
    tls_server.ca.cert_pem.write_to_path(str(bundle))
    async with AsyncSession(base_url=tls_server.url, verify=bundle) as session:
        resp = await session.get("/get")
    assert resp is not None and resp.status_code == 200


async def test_verify_with_an_ssl_context(tls_server: TLSServer) -> None:
    """verify= an ssl.SSLContext is used as given."""
    async with AsyncSession(base_url=tls_server.url, verify=ca_context(tls_server.ca)) as session:
        resp = await session.post("/post", json={"ok": True})
    assert resp is not None
    assert resp.json()["json"] == {"ok": True}


async def test_untrusted_certificate(tls_server: TLSServer) -> None:
    """A certificate from a CA we do not trust raises TLSError(kind="certificate")."""
    stranger = ca_context(trustme.CA())
    async with AsyncSession(base_url=tls_server.url, verify=stranger, raise_errors=True) as session:
        with pytest.raises(TLSError) as info:
            await session.get("/get")
    assert info.value.kind == "certificate"
    assert tls_server.hits("/get") == 0


async def test_untrusted_certificate_returns_none_by_default(tls_server: TLSServer) -> None:
    """Without raise_errors, a TLS failure makes the verb return None."""
    stranger = ca_context(trustme.CA())
    async with AsyncSession(base_url=tls_server.url, verify=stranger) as session:
        assert await session.get("/get") is None


async def test_system_store_does_not_trust_a_private_ca(tls_server: TLSServer) -> None:
    """verify=True (the system store) refuses a certificate signed by a private CA."""
    async with AsyncSession(base_url=tls_server.url, raise_errors=True) as session:
        with pytest.raises(TLSError) as info:
            await session.get("/get")
    assert info.value.kind == "certificate"


async def test_hostname_mismatch(wrong_host_server: TLSServer) -> None:
    """A trusted certificate for another host name raises TLSError(kind="hostname")."""
    url = f"https://localhost:{wrong_host_server.port}/get"
    async with AsyncSession(verify=ca_context(wrong_host_server.ca), raise_errors=True) as session:
        with pytest.raises(TLSError) as info:
            await session.get(url)
    assert info.value.kind == "hostname"


async def test_ip_address_mismatch(wrong_host_server: TLSServer) -> None:
    """A trusted certificate that does not name the IP we dialled is a "hostname" failure too."""
    async with AsyncSession(
        base_url=wrong_host_server.url, verify=ca_context(wrong_host_server.ca), raise_errors=True
    ) as session:
        with pytest.raises(TLSError) as info:
            await session.get("/get")
    assert info.value.kind == "hostname"


async def test_verify_false_works_and_warns(
    tls_server: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    """verify=False accepts an untrusted certificate and logs a WARNING saying checks are off."""
    with caplog.at_level(logging.WARNING, logger="fasthttp.tls"):
        async with AsyncSession(base_url=tls_server.url, verify=False) as session:
            resp = await session.get("/get")
    assert resp is not None and resp.status_code == 200
    warnings = [r for r in caplog.records if r.name == "fasthttp.tls" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "verification is OFF" in warnings[0].getMessage()


async def test_verify_false_with_http2(
    h2_server: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    """verify=False also works on the HTTP/2 transport, with the same warning."""
    with caplog.at_level(logging.WARNING, logger="fasthttp.tls"):
        async with AsyncSession(base_url=h2_server.url, verify=False, http2=True) as session:
            resp = await session.get("/get")
    assert resp is not None and resp.http_version == "HTTP/2"
    assert any("verification is OFF" in r.getMessage() for r in caplog.records)


async def test_ca_bundle_path_with_http2(h2_server: TLSServer, tmp_path: Path) -> None:
    """A CA bundle path works for HTTP/2 too (the context gets h2 ALPN)."""
    bundle = tmp_path / "ca.pem"
    h2_server.ca.cert_pem.write_to_path(str(bundle))
    async with AsyncSession(base_url=h2_server.url, verify=str(bundle), http2=True) as session:
        resp = await session.get("/get")
    assert resp is not None and resp.http_version == "HTTP/2"


async def test_missing_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    """verify= a path that does not exist fails at open() with a sentence naming the path."""
    missing = tmp_path / "nope.pem"
    session = AsyncSession(verify=str(missing))
    with pytest.raises(ValueError, match="neither a CA bundle file nor a directory"):
        await session.open()
    await session.close()
