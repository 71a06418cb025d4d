"""Client certificates (cert=) against a real TLS server on 127.0.0.1 that requires one.

The server is a small aiohttp.web app whose ``ssl.SSLContext`` has
``verify_mode=CERT_REQUIRED`` and trusts the test CA (trustme); ``/whoami``
answers with the certificate the client presented, as the server saw it. The
client certificate is issued by the same CA for ``client@example.test``.

Without a certificate the request fails, but how depends on the TLS version:
with TLS 1.3 (the default) the server refuses the client *after* the client's
side of the handshake has finished, so the client only sees the connection
close before any response byte (asyncio reports a clean EOF and the alert is
lost): ``ProtocolError``. With TLS 1.2 the handshake itself fails.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from fasthttp import AsyncSession, ConnectError, ProtocolError, TLSError, TransportError

trustme = pytest.importorskip("trustme")

CLIENT_EMAIL = "client@example.test"
CLIENT_CN = "fasthttp test client"
TRANSPORTS = pytest.mark.parametrize("http2", [False, True], ids=["aiohttp", "http2"])


@dataclass
class MutualTLSServer:
    """A running HTTPS server that requires a client certificate signed by ``ca``."""

    url: str
    ca_bundle: Path
    seen: list[dict[str, Any]] = field(default_factory=list)  # peer certificates of requests that got through


@dataclass
class ClientFiles:
    """The client certificate in the three shapes cert= takes."""

    combined: Path  # key and certificate chain in one PEM
    certfile: Path
    keyfile: Path
    encrypted_keyfile: Path
    password: str = "s3cret-pass"


@pytest.fixture(scope="module")
def ca() -> Any:
    """A private CA for this module (signs the server's and the client's certificates)."""
    return trustme.CA()


@pytest.fixture(scope="module")
def client_files(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> ClientFiles:
    """A client certificate for client@example.test, written as one PEM, a pair, and a pair with a password."""
    from cryptography.hazmat.primitives import serialization

    directory = tmp_path_factory.mktemp("client-cert")
    leaf = ca.issue_cert(CLIENT_EMAIL, common_name=CLIENT_CN)
    files = ClientFiles(
        combined=directory / "client.pem",
        certfile=directory / "client-cert.pem",
        keyfile=directory / "client-key.pem",
        encrypted_keyfile=directory / "client-key-encrypted.pem",
    )
    leaf.private_key_and_cert_chain_pem.write_to_path(str(files.combined))
    files.certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.keyfile))
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    files.encrypted_keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(files.password.encode()),
        )
    )
    return files


ServerFactory = Callable[..., Coroutine[Any, Any, MutualTLSServer]]


@pytest.fixture
async def mtls_server_factory(ca: Any, tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start HTTPS servers requiring a client certificate (TLS 1.3 unless max_version= says otherwise)."""
    runners: list[web.AppRunner] = []
    ca_bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))

    async def start(max_version: ssl.TLSVersion | None = None) -> MutualTLSServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        if max_version is not None:
            context.maximum_version = max_version
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = MutualTLSServer(url=f"https://127.0.0.1:{sock.getsockname()[1]}", ca_bundle=ca_bundle)

        async def whoami(request: web.Request) -> web.Response:
            transport = request.transport
            peer = transport.get_extra_info("peercert") if transport is not None else None
            server.seen.append(peer or {})
            return web.json_response({"peercert": peer})

        app = web.Application()
        app.router.add_get("/whoami", whoami)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.25)
        await runner.setup()
        runners.append(runner)
        await web.SockSite(runner, sock, ssl_context=context).start()
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def _subject(peercert: dict[str, Any]) -> dict[str, str]:
    return {key: value for rdn in peercert["subject"] for key, value in rdn}


@TRANSPORTS
async def test_client_certificate_in_one_pem_file(
    mtls_server_factory: ServerFactory, client_files: ClientFiles, http2: bool
) -> None:
    """cert= a PEM holding key and chain is presented, and the server sees the client's subject and email."""
    server = await mtls_server_factory()
    async with AsyncSession(
        base_url=server.url, verify=str(server.ca_bundle), cert=str(client_files.combined), http2=http2,
        raise_errors=True,
    ) as session:  # fmt: skip
        resp = await session.get("/whoami")
    assert resp is not None and resp.status == 200
    peer = resp.json()["peercert"]
    assert _subject(peer)["commonName"] == CLIENT_CN
    assert ["email", CLIENT_EMAIL] in peer["subjectAltName"]
    assert len(server.seen) == 1


async def test_client_certificate_as_cert_and_key_files(
    mtls_server_factory: ServerFactory, client_files: ClientFiles
) -> None:
    """cert=(certfile, keyfile) works like the combined PEM."""
    server = await mtls_server_factory()
    cert = (str(client_files.certfile), str(client_files.keyfile))
    async with AsyncSession(base_url=server.url, verify=str(server.ca_bundle), cert=cert) as session:
        resp = await session.get("/whoami")
    assert resp is not None
    assert _subject(resp.json()["peercert"])["commonName"] == CLIENT_CN


async def test_client_certificate_with_an_encrypted_key(
    mtls_server_factory: ServerFactory, client_files: ClientFiles
) -> None:
    """cert=(certfile, keyfile, password) decrypts the key; a wrong password fails at open() with ssl.SSLError."""
    server = await mtls_server_factory()
    cert = (str(client_files.certfile), str(client_files.encrypted_keyfile), client_files.password)
    async with AsyncSession(base_url=server.url, verify=str(server.ca_bundle), cert=cert) as session:
        resp = await session.get("/whoami")
    assert resp is not None and _subject(resp.json()["peercert"])["commonName"] == CLIENT_CN
    wrong = (str(client_files.certfile), str(client_files.encrypted_keyfile), "not-the-password")
    session = AsyncSession(base_url=server.url, verify=str(server.ca_bundle), cert=wrong)
    with pytest.raises(ssl.SSLError):
        await session.open()
    await session.close()


async def test_client_certificate_with_an_ssl_context(
    mtls_server_factory: ServerFactory, client_files: ClientFiles
) -> None:
    """verify= an ssl.SSLContext plus cert= loads the certificate into that context."""
    server = await mtls_server_factory()
    context = ssl.create_default_context(cafile=str(server.ca_bundle))
    async with AsyncSession(base_url=server.url, verify=context, cert=str(client_files.combined)) as session:
        resp = await session.get("/whoami")
    assert resp is not None and _subject(resp.json()["peercert"])["commonName"] == CLIENT_CN


@TRANSPORTS
async def test_without_a_certificate_tls13_fails_as_a_transport_error(
    mtls_server_factory: ServerFactory, http2: bool
) -> None:
    """TLS 1.3 without cert=: the server drops the connection after the handshake, seen as ProtocolError."""
    server = await mtls_server_factory()
    async with AsyncSession(
        base_url=server.url, verify=str(server.ca_bundle), http2=http2, raise_errors=True
    ) as session:
        with pytest.raises(TransportError) as info:
            await session.get("/whoami")
        assert await session.get("/whoami", raise_errors=False) is None  # the seed's None mode
    # The TLS alert ("certificate required") arrives after the client's handshake has completed and asyncio
    # reports a clean EOF, so the transports cannot tell it from a server hanging up: ProtocolError.
    assert type(info.value) is ProtocolError
    assert server.seen == []


@TRANSPORTS
async def test_without_a_certificate_tls12_fails_in_the_handshake(
    mtls_server_factory: ServerFactory, http2: bool
) -> None:
    """TLS 1.2 without cert=: the handshake fails; a ConnectError (TLSError on the HTTP/2 transport)."""
    server = await mtls_server_factory(max_version=ssl.TLSVersion.TLSv1_2)
    async with AsyncSession(
        base_url=server.url, verify=str(server.ca_bundle), http2=http2, raise_errors=True
    ) as session:
        with pytest.raises(TransportError) as info:
            await session.get("/whoami")
    assert isinstance(info.value, ConnectError)
    if http2:
        assert isinstance(info.value, TLSError) and info.value.kind == "protocol"
    assert server.seen == []


async def test_without_a_certificate_tls12_is_a_tls_error_naming_cert(
    mtls_server_factory: ServerFactory,
) -> None:
    """TLS 1.2 handshake refused for want of a client certificate: TLSError on the aiohttp transport too."""
    server = await mtls_server_factory(max_version=ssl.TLSVersion.TLSv1_2)
    async with AsyncSession(base_url=server.url, verify=str(server.ca_bundle), raise_errors=True) as session:
        with pytest.raises(TransportError) as info:
            await session.get("/whoami")
    assert isinstance(info.value, TLSError), repr(info.value)
    assert "cert" in str(info.value)


async def test_a_certificate_from_another_ca_is_refused(mtls_server_factory: ServerFactory, tmp_path: Path) -> None:
    """A client certificate the server's CA did not sign is refused like a missing one."""
    server = await mtls_server_factory()
    stranger = trustme.CA().issue_cert(CLIENT_EMAIL)
    pem = tmp_path / "stranger.pem"
    stranger.private_key_and_cert_chain_pem.write_to_path(str(pem))
    async with AsyncSession(
        base_url=server.url, verify=str(server.ca_bundle), cert=str(pem), raise_errors=True
    ) as session:
        with pytest.raises(TransportError):
            await session.get("/whoami")
    assert server.seen == []


async def test_bad_cert_values_are_explained(mtls_server_factory: ServerFactory, tmp_path: Path) -> None:
    """cert= of the wrong shape is a TypeError; a missing file an OSError, both at open()."""
    server = await mtls_server_factory()
    shape: Any = ("a", "b", "c", "d")
    session = AsyncSession(base_url=server.url, verify=str(server.ca_bundle), cert=shape)
    with pytest.raises(TypeError, match="cert= must be"):
        await session.open()
    await session.close()
    session = AsyncSession(base_url=server.url, verify=str(server.ca_bundle), cert=str(tmp_path / "missing.pem"))
    with pytest.raises(OSError):
        await session.open()
    await session.close()
