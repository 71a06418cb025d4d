"""RFC 9421 signing end to end: AsyncSession signs, the embedded server's /signed verifier decides.

The verifier is ``fasthttp.testing.signing_routes`` (``verify_signature`` with a
``NonceCache``). Until ``create_app`` registers it, ``signing_server()`` mounts it
on the embedded app itself, so these tests run either way.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from fasthttp import AsyncSession
from fasthttp.config import SecurityConfig
from fasthttp.models import Request
from fasthttp.response import Response
from fasthttp.security.signing import SIGN_EXTENSION, RequestSigner, content_digest
from fasthttp.testing import LocalServer, create_app
from fasthttp.testing.signing_routes import configure_signing, signing_routes, signing_stats

KEY = b"end-to-end-signing-key-32-bytes!"
_NONCE = re.compile(r';nonce="([^"]+)"')


@asynccontextmanager
async def signing_server(
    host: str = "127.0.0.1", key: bytes | None = KEY, **options: Any
) -> AsyncIterator[LocalServer]:
    """The embedded server with the /signed verifier mounted (and configured with ``key``)."""
    server = LocalServer(host)
    app = create_app(server)
    if not any(resource.canonical == "/signed" for resource in app.router.resources()):
        app.add_routes(signing_routes())
    if key is not None:
        configure_signing(server, key, **options)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    try:
        site = web.TCPSite(runner, server.host, 0)
        await site.start()
        server.port = int(runner.addresses[0][1])
        yield server
    finally:
        await runner.cleanup()


def nonce_of(signature_input: str | None) -> str:
    """The nonce parameter of a Signature-Input header value."""
    assert signature_input is not None, "the request carried no Signature-Input"
    match = _NONCE.search(signature_input)
    assert match is not None, signature_input
    return match.group(1)


async def replay(session: AsyncSession, method: str, url: str, headers: Any, body: bytes | None) -> Response:
    """Send ``headers`` verbatim (not re-signed) with ``body``."""
    request = session.build_request(method, url, headers=headers, content=body)
    request.extensions[SIGN_EXTENSION] = False
    return await session.send(request)


async def test_user_key_signs_every_request_and_the_server_verifies() -> None:
    """With secret_key= every request is signed; /signed verifies GET (with a query) and POST (with a digest)."""
    async with signing_server() as server, AsyncSession(secret_key=KEY, raise_errors=True) as session:
        got = await session.get(f"{server.url}/signed/items?b=two&a=1")
        assert got is not None and got.json()["verified"] is True
        assert got.json()["keyid"] == "fasthttp"
        assert got.json()["covered"] == ["@method", "@authority", "@path", "@query"]
        posted = await session.post(f"{server.url}/signed", json={"amount": 10})
        assert posted is not None
        info = posted.json()
        assert info["verified"] is True and info["alg"] == "hmac-sha256"
        assert "content-digest" in info["covered"] and "content-type" in info["covered"]
        assert info["nonce"] != got.json()["nonce"]
        assert signing_stats(server).accepted == 2


async def test_replayed_request_is_refused_as_replayed_nonce() -> None:
    """The signed headers captured by a response hook, resent verbatim, are refused: the nonce was used."""
    captured: list[Request] = []

    def keep(response: Response) -> None:
        assert response.request is not None
        captured.append(response.request)

    async with signing_server() as server, AsyncSession(secret_key=KEY, event_hooks={"response": [keep]}) as session:
        first = await session.post(
            f"{server.url}/signed", content=b"transfer=10", headers={"Content-Type": "text/plain"}
        )
        assert first is not None and first.json()["verified"] is True
        signed = captured[0]
        assert "Signature" in signed.headers and "Signature-Input" in signed.headers
        assert isinstance(signed.content, bytes)
        again = await replay(session, "POST", f"{server.url}/signed", signed.headers, signed.content)
        assert again.status_code == 401
        assert again.json()["reason"] == "replayed nonce"
        assert server.hits("/signed") == 2


async def test_expired_signature_is_refused() -> None:
    """A signature created long ago, or one whose expires time has passed, is refused as "expired"."""
    async with signing_server() as server, AsyncSession() as session:
        old = RequestSigner(KEY, clock=lambda: time.time() - 3600)
        request = session.build_request("GET", f"{server.url}/signed")
        old.sign(request)
        request.extensions[SIGN_EXTENSION] = False
        stale = await session.send(request)
        assert (stale.status_code, stale.json()["reason"]) == (401, "expired")

        short = RequestSigner(KEY, expires_in=1)
        request = session.build_request("GET", f"{server.url}/signed")
        short.sign(request)
        request.extensions[SIGN_EXTENSION] = False
        configure_signing(server, KEY, clock=lambda: time.time() + 5)  # the server's clock is 5 s ahead
        late = await session.send(request)
        assert (late.status_code, late.json()["reason"]) == (401, "expired")
        assert "expires time passed" in late.json()["error"]


async def test_tampered_body_is_refused() -> None:
    """A body changed after signing fails the Content-Digest check; a recomputed digest fails the HMAC."""
    async with signing_server() as server, AsyncSession() as session:
        signer = RequestSigner(KEY)
        request = session.build_request("POST", f"{server.url}/signed", json={"amount": 10})
        signer.sign(request)
        request.content = b'{"amount": 10000}'
        request.extensions[SIGN_EXTENSION] = False
        tampered = await session.send(request)
        assert (tampered.status_code, tampered.json()["reason"]) == (401, "digest mismatch")

        request = session.build_request("POST", f"{server.url}/signed", json={"amount": 10})
        signer.sign(request)
        request.content = b'{"amount": 10000}'
        request.headers["Content-Digest"] = content_digest(request.content)  # the attacker fixes the digest
        request.extensions[SIGN_EXTENSION] = False
        forged = await session.send(request)
        assert (forged.status_code, forged.json()["reason"]) == (401, "bad signature")


async def test_generated_key_signs_nothing_unless_sign_hosts() -> None:
    """Without secret_key= nothing is signed; sign_hosts=("127.0.0.1",) signs with the generated key."""
    async with signing_server() as server:
        async with AsyncSession() as session:
            unsigned = await session.get(f"{server.url}/signed")
            assert unsigned is None  # 401: the verbs return None on 4xx
        recorded = server.requests[-1]
        assert recorded.header("Signature") is None and recorded.header("Signature-Input") is None
        assert signing_stats(server).last_reason == "missing signature"

        async with AsyncSession(security=SecurityConfig(sign_hosts=("127.0.0.1",))) as session:
            request = session.build_request("GET", f"{server.url}/signed")
            signed = await session.send(request)
        recorded = server.requests[-1]
        assert recorded.header("Signature") is not None and recorded.header("Signature-Input") is not None
        # Signed, but with a random per-session key the server cannot know.
        assert (signed.status_code, signed.json()["reason"]) == (401, "bad signature")


async def test_user_key_with_sign_hosts_signs_only_those_hosts() -> None:
    """sign_hosts narrows a user key: a request to a host not listed goes out unsigned."""
    async with signing_server() as server:
        config = SecurityConfig(sign_hosts=("api.example.test",))
        async with AsyncSession(secret_key=KEY, security=config) as session:
            response = await session.send(session.build_request("GET", f"{server.url}/signed"))
        assert response.status_code == 401 and response.json()["reason"] == "missing signature"
        assert server.requests[-1].header("Signature") is None


async def test_signature_is_not_sent_to_another_origin_after_a_redirect() -> None:
    """A redirect from a signed host to another origin arrives there without Signature headers."""
    config = SecurityConfig(allow=("127.0.0.0/8",), sign_hosts=("127.0.0.1",))
    async with signing_server() as first, signing_server("127.0.0.2") as second:
        async with AsyncSession(secret_key=KEY, security=config) as session:
            target = f"{second.url}/signed"
            response = await session.send(session.build_request("GET", f"{first.url}/redirect-to?url={target}"))
        assert [r.path for r in first.requests] == ["/redirect-to"]
        assert first.requests[0].header("Signature") is not None
        assert [r.path for r in second.requests] == ["/signed"]
        hop = second.requests[0]
        assert hop.header("Signature") is None and hop.header("Signature-Input") is None
        assert hop.header("Content-Digest") is None
        assert response.status_code == 401 and response.json()["reason"] == "missing signature"


async def test_user_key_re_signs_for_the_new_origin_instead_of_forwarding() -> None:
    """Without sign_hosts a user key signs every origin: the second origin gets its own fresh signature."""
    config = SecurityConfig(allow=("127.0.0.0/8",))
    async with signing_server() as first, signing_server("127.0.0.2") as second:
        async with AsyncSession(secret_key=KEY, security=config, raise_errors=True) as session:
            response = await session.get(f"{first.url}/redirect-to?url={second.url}/signed")
        assert response is not None and response.json()["verified"] is True
        first_nonce = nonce_of(first.requests[0].header("Signature-Input"))
        assert response.json()["nonce"] != first_nonce
        assert nonce_of(second.requests[0].header("Signature-Input")) == response.json()["nonce"]


async def test_each_redirect_hop_is_re_signed() -> None:
    """A same-origin redirect copies the headers, and the next hop replaces the signature with a fresh one."""
    async with signing_server() as server, AsyncSession(secret_key=KEY, raise_errors=True) as session:
        response = await session.get(f"{server.url}/redirect-to?url=/signed/after-redirect")
        assert response is not None and response.json()["verified"] is True
        hops = [r for r in server.requests if r.path in ("/redirect-to", "/signed/after-redirect")]
        nonces = [nonce_of(r.header("Signature-Input")) for r in hops]
        assert len(nonces) == 2 and nonces[0] != nonces[1]
        assert response.json()["nonce"] == nonces[1]


async def test_each_retry_attempt_is_re_signed() -> None:
    """retry=2 (PUT): the 503 attempt and the retried attempt carry different nonces, and the retry verifies."""
    async with signing_server() as server, AsyncSession(secret_key=KEY, retry=2, raise_errors=True) as session:
        server.fail_next("/signed", 503, headers={"Retry-After": "0"})
        response = await session.put(f"{server.url}/signed", json={"n": 1})  # idempotent: retried
        assert response is not None and response.json()["verified"] is True
        attempts = [r for r in server.requests if r.path == "/signed"]
        assert len(attempts) == 2
        nonces = {nonce_of(r.header("Signature-Input")) for r in attempts}
        assert len(nonces) == 2
        assert attempts[0].header("Content-Digest") == attempts[1].header("Content-Digest")


async def test_verifier_without_configuration_says_so() -> None:
    """An unconfigured /signed answers 500 naming configure_signing(), not a silent pass."""
    async with signing_server(key=None) as server, AsyncSession(secret_key=KEY) as session:
        response = await session.send(session.build_request("GET", f"{server.url}/signed"))
        assert response.status_code == 500
        assert "configure_signing" in response.json()["error"]


async def test_unknown_keyid_is_refused() -> None:
    """A signature under a key id the server does not know is refused as "unknown keyid"."""
    async with signing_server(key=KEY, key_id="tenant-a") as server, AsyncSession(secret_key=KEY) as session:
        response = await session.send(session.build_request("GET", f"{server.url}/signed"))
        assert (response.status_code, response.json()["reason"]) == (401, "unknown keyid")
