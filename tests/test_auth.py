"""Authentication over real TCP against the embedded server: Basic, Digest, Bearer, OAuth2 client credentials."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from fasthttp import AsyncSession, HTTPStatusError, Request, Response
from fasthttp.auth import (
    Auth,
    AuthError,
    BasicAuth,
    BearerAuth,
    DigestAuth,
    OAuth2ClientCredentials,
    coerce_auth,
    parse_challenges,
)
from fasthttp.auth import digest as auth_module
from fasthttp.testing import LocalServer, serve
from fasthttp.testing.auth_routes import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, auth_routes
from fasthttp.testing.seed_routes import SEED_TOKEN


def _ok(resp: Response | None) -> Response:
    assert resp is not None, "expected a Response, got None"
    return resp


def _authorizations(server: LocalServer) -> list[str | None]:
    return [r.header("authorization") for r in server.requests]


# --------------------------------------------------------------------------- OAuth2 server


@pytest.fixture
async def oauth(server: LocalServer) -> AsyncIterator[str]:
    """Base URL of a fresh server with the /oauth/* routes (the embedded one, or a standalone app)."""
    async with AsyncSession(base_url=server.url) as probe:
        registered = (await probe.send(probe.build_request("GET", "/oauth/stats"))).status_code == 200
    if registered:  # create_app serves the OAuth2 routes itself
        server.reset()
        yield server.url
        return
    app = web.Application()
    app.add_routes(auth_routes())
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _oauth_call(base: str, method: str, path: str, **options: Any) -> dict[str, Any]:
    async with AsyncSession(base_url=base, raise_errors=True) as plain:
        resp = _ok(await plain.request(method, path, **options))
    result: dict[str, Any] = resp.json()
    return result


async def _stats(base: str) -> dict[str, Any]:
    return await _oauth_call(base, "GET", "/oauth/stats")


async def _control(base: str, **settings: Any) -> None:
    await _oauth_call(base, "POST", "/oauth/control", json=settings)


def _client(base: str, **options: Any) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(f"{base}/oauth/token", OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, **options)


# --------------------------------------------------------------------------- Basic


async def test_basic_auth_as_tuple_and_object(shared_server: LocalServer) -> None:
    """auth=(user, password) and BasicAuth(user, password) both pass /basic-auth."""
    async with AsyncSession(base_url=shared_server.url, auth=("ann", "pw1")) as session:
        assert _ok(await session.get("/basic-auth/ann/pw1")).json() == {"authenticated": True, "user": "ann"}
        assert _ok(await session.get("/basic-auth/bob/pw2", auth=BasicAuth("bob", "pw2"))).status == 200
        assert await session.get("/basic-auth/bob/pw2", auth=BasicAuth("bob", "wrong")) is None


# --------------------------------------------------------------------------- Digest


async def test_digest_answers_the_challenge_then_sends_credentials_up_front(server: LocalServer) -> None:
    """The first request costs a 401 round trip; the next one reuses the challenge with nc=2."""
    path = "/digest-auth/auth/user/passwd"
    async with AsyncSession(base_url=server.url, auth=DigestAuth("user", "passwd")) as session:
        assert _ok(await session.get(path)).json() == {"authenticated": True, "user": "user"}
        assert server.hits(path) == 2
        assert _ok(await session.get(path)).status == 200
        assert server.hits(path) == 3
    first, answer, upfront = _authorizations(server)
    assert first is None
    assert answer is not None and upfront is not None
    assert "nc=00000001" in answer and "nc=00000002" in upfront
    assert "algorithm=MD5" in answer and "qop=auth" in answer and "opaque=" in answer


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5-sess", "SHA-256-sess", "SHA-512", "SHA-512-sess"])
async def test_digest_algorithms(shared_server: LocalServer, algorithm: str) -> None:
    """Every algorithm the server offers (plain and -sess) is answered correctly."""
    async with AsyncSession(base_url=shared_server.url, raise_errors=True) as session:
        resp = _ok(await session.get(f"/digest-auth/auth/user/passwd/{algorithm}", auth=DigestAuth("user", "passwd")))
    assert resp.json()["authenticated"] is True


async def test_digest_auth_int_hashes_the_body(server: LocalServer) -> None:
    """qop=auth-int covers the request body, on the answer and on the next request up front."""
    path = "/digest-auth/auth-int/user/passwd/SHA-256"
    async with AsyncSession(base_url=server.url, auth=DigestAuth("user", "passwd"), raise_errors=True) as session:
        assert _ok(await session.post(path, content=b"payload one")).status == 200
        assert _ok(await session.put(path, json={"two": 2})).status == 200
    assert server.hits(path) == 3
    assert "qop=auth-int" in (server.requests[-1].header("authorization") or "")


async def test_digest_wrong_password_is_refused_after_one_retry(server: LocalServer) -> None:
    """A wrong password gives None (or HTTPStatusError) after exactly one answered challenge."""
    path = "/digest-auth/auth/user/passwd"
    async with AsyncSession(base_url=server.url, auth=DigestAuth("user", "nope")) as session:
        assert await session.get(path) is None
        assert server.hits(path) == 2
        with pytest.raises(HTTPStatusError) as caught:
            await session.get(path, raise_errors=True)
    assert caught.value.response.status_code == 401
    assert server.hits(path) == 4


async def test_digest_stale_nonce_is_recomputed(server: LocalServer) -> None:
    """A stale=true answer to remembered credentials is retried with the new nonce."""
    path = "/digest-auth/auth/user/passwd"
    async with AsyncSession(base_url=server.url, auth=DigestAuth("user", "passwd"), raise_errors=True) as session:
        await session.get(path)
        server._digest_nonces.clear()  # the server forgets every nonce it issued
        assert _ok(await session.get(path)).status == 200
    assert server.hits(path) == 4
    assert "nc=00000001" in (server.requests[-1].header("authorization") or "")


async def test_digest_refuses_a_streamed_body(shared_server: LocalServer) -> None:
    """A body that cannot be sent twice is refused up front with a clear AuthError."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"streamed"

    async with AsyncSession(base_url=shared_server.url, auth=DigestAuth("user", "passwd")) as session:
        with pytest.raises(AuthError, match="streamed"):
            await session.post("/digest-auth/auth/user/passwd", content=chunks(), raise_errors=True)


_RFC_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
_RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _sha512_256_expected() -> str:
    def h(text: str) -> str:
        return hashlib.new("sha512_256", text.encode()).hexdigest()

    ha1, ha2 = h("Mufasa:http-auth@example.org:Circle of Life"), h("GET:/dir/index.html")
    return h(f"{ha1}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:{_RFC_CNONCE}:auth:{ha2}")


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ("SHA-512-256", _sha512_256_expected()),
    ],
)
async def test_digest_matches_the_rfc7616_example(
    monkeypatch: pytest.MonkeyPatch, algorithm: str, expected: str
) -> None:
    """With the cnonce of RFC 7616 section 3.9.1, the response value is the RFC's own."""
    monkeypatch.setattr(auth_module, "_cnonce", lambda: _RFC_CNONCE)
    sent: list[Request] = []

    async def send(request: Request) -> Response:
        sent.append(request)
        if len(sent) == 1:
            return Response(401, headers={"WWW-Authenticate": _RFC_CHALLENGE.format(algorithm=algorithm)})
        return Response(200)

    response = await DigestAuth("Mufasa", "Circle of Life")(
        Request("GET", "http://www.example.org/dir/index.html"), send
    )
    assert response.status_code == 200 and len(sent) == 2
    [(scheme, params)] = parse_challenges([sent[1].headers["authorization"]])
    assert scheme == "digest" and params["response"] == expected
    assert (params["uri"], params["qop"], params["nc"], params["algorithm"]) == (
        "/dir/index.html",
        "auth",
        "00000001",
        algorithm,
    )
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_parse_challenges_splits_schemes_and_quoted_commas() -> None:
    """Several challenges in one field value are split, quoted commas and escapes kept."""
    parsed = parse_challenges(['Basic realm="a, b", Digest realm="r\\"x", qop="auth,auth-int", nonce=abc'])
    assert parsed == [
        ("basic", {"realm": "a, b"}),
        ("digest", {"realm": 'r"x', "qop": "auth,auth-int", "nonce": "abc"}),
    ]


# --------------------------------------------------------------------------- Bearer


async def test_bearer_static_token(server: LocalServer) -> None:
    """BearerAuth(token) sends Authorization: Bearer <token>."""
    async with AsyncSession(base_url=server.url, auth=BearerAuth("static-tok")) as session:
        assert _ok(await session.get("/bearer")).json() == {"authenticated": True, "token": "static-tok"}
    assert _authorizations(server) == ["Bearer static-tok"]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-provider", "async-provider"])
async def test_bearer_provider_is_asked_again_after_a_401(server: LocalServer, is_async: bool) -> None:
    """A provider's token is cached; on a 401 the provider is called again and the request retried once."""
    tokens = iter(["expired", SEED_TOKEN])
    calls = 0

    def sync_provider() -> str:
        nonlocal calls
        calls += 1
        return next(tokens)

    async def async_provider() -> str:
        return sync_provider()

    auth = BearerAuth(async_provider if is_async else sync_provider)
    async with AsyncSession(base_url=server.url, auth=auth) as session:
        assert _ok(await session.get("/protected/data")).status == 200
        assert _ok(await session.get("/protected/data")).status == 200
    assert calls == 2
    assert _authorizations(server) == ["Bearer expired", f"Bearer {SEED_TOKEN}", f"Bearer {SEED_TOKEN}"]


async def test_bearer_concurrent_401s_refresh_once(server: LocalServer) -> None:
    """50 requests that all get a 401 with the same token cause one provider call, not 50."""
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return "expired" if calls == 1 else SEED_TOKEN

    async with AsyncSession(base_url=server.url, auth=BearerAuth(provider)) as session:
        results = await asyncio.gather(*(session.get("/protected/data") for _ in range(50)))
    assert all(r is not None and r.status == 200 for r in results)
    assert calls == 2


async def test_bearer_provider_failures_are_auth_errors(shared_server: LocalServer) -> None:
    """A provider that raises, or returns something unsendable, gives an AuthError that shows no token."""

    def broken() -> str:
        raise KeyError("secret-in-message")

    async with AsyncSession(base_url=shared_server.url, raise_errors=True) as session:
        with pytest.raises(AuthError, match="raised KeyError") as caught:
            await session.get("/bearer", auth=BearerAuth(broken))
        assert "secret-in-message" not in str(caught.value)
        with pytest.raises(AuthError, match="control character"):
            await session.get("/bearer", auth=BearerAuth(lambda: "tok\r\nX-Injected: 1"))


# --------------------------------------------------------------------------- OAuth2


async def test_oauth2_thousand_concurrent_requests_fetch_one_token(oauth: str) -> None:
    """1,000 concurrent requests cause exactly one token request, client-authenticated by Basic."""
    auth = _client(oauth, scopes=["read", "write"], audience="api://test")
    async with AsyncSession(base_url=oauth, auth=auth) as session:
        results = await asyncio.gather(*(session.get("/oauth/resource") for _ in range(1000)))
    assert all(r is not None and r.status == 200 for r in results)
    stats = await _stats(oauth)
    assert stats["issued"] == 1 and stats["accepted"] == 1000 and stats["rejected"] == 0
    assert (stats["client_auth"], stats["last_scope"], stats["last_audience"]) == ("basic", "read write", "api://test")


async def test_oauth2_token_expiry_causes_exactly_one_refresh(oauth: str) -> None:
    """Past expires_in - refresh_margin, concurrent requests share one new token."""
    now = [1000.0]
    await _control(oauth, expires_in=120)
    auth = _client(oauth, refresh_margin=30.0, clock=lambda: now[0])
    async with AsyncSession(base_url=oauth, auth=auth, raise_errors=True) as session:
        await session.get("/oauth/resource")
        now[0] += 89  # still inside 120 - 30
        await asyncio.gather(*(session.get("/oauth/resource") for _ in range(20)))
        assert (await _stats(oauth))["issued"] == 1
        now[0] += 2  # past it
        results = await asyncio.gather(*(session.get("/oauth/resource") for _ in range(100)))
    assert {_ok(r).json()["token_number"] for r in results} == {2}
    assert (await _stats(oauth))["issued"] == 2


async def test_oauth2_401_from_the_resource_refreshes_once_and_retries(oauth: str) -> None:
    """A revoked token: the 401s of concurrent requests cause one refresh and one retry each."""
    async with AsyncSession(base_url=oauth, auth=_client(oauth), raise_errors=True) as session:
        await session.get("/oauth/resource")
        await _control(oauth, revoke=True)
        results = await asyncio.gather(*(session.get("/oauth/resource") for _ in range(30)))
    assert {_ok(r).json()["token_number"] for r in results} == {2}
    stats = await _stats(oauth)
    assert stats["issued"] == 2
    assert stats["accepted"] == 31 and 1 <= stats["rejected"] <= 30


async def test_oauth2_without_expires_in_keeps_the_token_until_a_401(oauth: str) -> None:
    """A token without expires_in (token_url given as a path) is reused whatever the clock says, until a 401."""
    now = [0.0]
    await _control(oauth, expires_in=None)
    auth = OAuth2ClientCredentials("/oauth/token", OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, clock=lambda: now[0])
    async with AsyncSession(base_url=oauth, auth=auth, raise_errors=True) as session:
        await session.get("/oauth/resource")
        now[0] += 1e9
        await session.get("/oauth/resource")
        assert (await _stats(oauth))["issued"] == 1
        await _control(oauth, revoke=True)
        assert _ok(await session.get("/oauth/resource")).json()["token_number"] == 2


async def test_oauth2_wrong_secret_raises_a_clear_error_once(oauth: str) -> None:
    """A refused token request raises AuthError with status and OAuth error, never the secret; one request for all."""
    auth = OAuth2ClientCredentials(f"{oauth}/oauth/token", OAUTH_CLIENT_ID, "wrong-secret-xyz")
    async with AsyncSession(base_url=oauth, auth=auth, raise_errors=True) as session:
        results = await asyncio.gather(*(session.get("/oauth/resource") for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, AuthError) for r in results)
    error = results[0]
    assert isinstance(error, AuthError)
    assert error.status_code == 401 and error.error == "invalid_client"
    message = str(error)
    assert "401" in message and "invalid_client" in message and "client_id" in message
    assert "wrong-secret-xyz" not in message
    stats = await _stats(oauth)
    assert stats["issued"] == 0 and stats["accepted"] == stats["rejected"] == 0


async def test_oauth2_token_endpoint_failure_then_recovery(oauth: str) -> None:
    """A 503 from the token endpoint is an AuthError (None from the verbs); the next request tries again."""
    await _control(oauth, fail={"status": 503, "error": "temporarily_unavailable", "times": 1})
    async with AsyncSession(base_url=oauth, auth=_client(oauth)) as session:
        with pytest.raises(AuthError, match="503") as caught:
            await session.get("/oauth/resource", raise_errors=True)
        assert caught.value.error == "temporarily_unavailable"
        assert _ok(await session.get("/oauth/resource")).status == 200


async def test_oauth2_unreachable_token_endpoint_is_an_auth_error(oauth: str) -> None:
    """A token endpoint that refuses connections raises AuthError naming the token request."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = OAuth2ClientCredentials(f"http://127.0.0.1:{port}/oauth/token", OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)
    async with AsyncSession(base_url=oauth, auth=auth) as session:
        with pytest.raises(AuthError, match="token request"):
            await session.get("/oauth/resource", raise_errors=True)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize("kind", ["basic", "digest", "bearer"])
async def test_credentials_do_not_follow_a_redirect_to_another_origin(server: LocalServer, kind: str) -> None:
    """After a redirect to a second server, no Authorization header reaches it."""
    auths: dict[str, Auth] = {"basic": BasicAuth("u", "p"), "digest": DigestAuth("u", "p"), "bearer": BearerAuth("t")}
    auth = auths[kind]
    async with serve() as other, AsyncSession(base_url=server.url, auth=auth, raise_errors=True) as session:
        if kind == "digest":
            await session.get("/digest-auth/auth/u/p")  # remember the challenge for server's origin
        _ok(await session.get(f"/redirect-to?url={other.url}/headers"))
        assert _authorizations(other) == [None]
    assert server.requests[-1].path == "/redirect-to" and server.requests[-1].header("authorization") is not None


async def test_oauth2_credentials_do_not_follow_a_redirect(server: LocalServer, oauth: str) -> None:
    """The OAuth2 bearer token stays on the first origin when a redirect leaves it."""
    async with serve() as other, AsyncSession(base_url=server.url, auth=_client(oauth)) as session:
        await session.get(f"/redirect-to?url={other.url}/headers")
        assert _authorizations(other) == [None]
    assert (server.requests[-1].header("authorization") or "").startswith("Bearer tok-")


def test_reprs_mask_every_secret() -> None:
    """repr() of every auth shows [REDACTED] instead of passwords, tokens and client secrets."""

    def provider() -> str:
        return "provided-secret"

    auths = [
        BasicAuth("ann", "pw-secret"),
        DigestAuth("ann", "pw-secret"),
        BearerAuth("tok-secret"),
        BearerAuth(provider),
        OAuth2ClientCredentials("https://idp.test/token", "cid", "client-secret", ["read"]),
    ]
    text = " ".join(repr(a) for a in auths)
    for secret in ("pw-secret", "tok-secret", "provided-secret", "client-secret"):
        assert secret not in text
    assert text.count("[REDACTED]") == 4 and "provider" in text and "cid" in text


def test_oauth2_arguments_are_checked() -> None:
    """Bad token URLs, scopes and margins are refused when the auth is built, without echoing secrets."""
    with pytest.raises(ValueError, match="credentials in it") as caught:
        OAuth2ClientCredentials("https://u:hidden-pw@idp.test/token", "cid", "s")
    assert "hidden-pw" not in str(caught.value)
    with pytest.raises(ValueError, match="path starting with"):
        OAuth2ClientCredentials("oauth/token", "cid", "s")
    with pytest.raises(ValueError, match="without spaces"):
        OAuth2ClientCredentials("/token", "cid", "s", scopes=["a b"])
    with pytest.raises(ValueError, match="refresh_margin"):
        OAuth2ClientCredentials("/token", "cid", "s", refresh_margin=-1)
    assert OAuth2ClientCredentials("/token", "cid", "s", scopes="read  write").scopes == ("read", "write")


def test_coerce_auth_passes_auth_objects_through() -> None:
    """auth= takes the new auth objects as they are."""
    bearer = BearerAuth("t")
    assert coerce_auth(bearer) is bearer


async def test_debug_logs_never_show_credentials(
    server: LocalServer, oauth: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With debug=True every auth flow logs at DEBUG without a password, token or secret."""
    caplog.set_level(logging.DEBUG)
    provided = iter(["expired-provided-tok", SEED_TOKEN])
    async with AsyncSession(base_url=server.url, debug=True) as session:
        await session.get("/basic-auth/ann/pw", auth=("ann", "pw"))
        await session.get("/digest-auth/auth/user/passwd", auth=DigestAuth("user", "passwd"))
        await session.get("/bearer", auth=BearerAuth("static-bearer-secret"))
        await session.get("/protected/data", auth=BearerAuth(lambda: next(provided)))
        await session.get(f"{oauth}/oauth/resource", auth=_client(oauth))
        await session.get(f"{oauth}/oauth/resource", auth=OAuth2ClientCredentials(f"{oauth}/oauth/token", "x", "bad"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Digest challenge" in text and "OAuth2 token" in text
    sent = [value for value in _authorizations(server) if value]
    assert len(sent) >= 5
    for value in sent:
        assert value.split(" ", 1)[1] not in text
    for secret in ("static-bearer-secret", "expired-provided-tok", SEED_TOKEN, OAUTH_CLIENT_SECRET, "tok-"):
        assert secret not in text
