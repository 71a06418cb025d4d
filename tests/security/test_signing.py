"""RFC 9421 HMAC signing: the RFC test vectors, sign -> verify round trips, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable

import pytest
from multidict import CIMultiDict

from fasthttp.exceptions import SecurityError
from fasthttp.models import Request
from fasthttp.security.signing import (
    SIGN_EXTENSION,
    NonceCache,
    RequestSigner,
    SignatureError,
    content_digest,
    new_nonce,
    serialize_signature_params,
    should_sign,
    signature_base,
    verify_signature,
)

# RFC 9421 Appendix B.1.5 "test-shared-secret" (64 bytes). A longer string that starts with the same
# 31 characters circulates as this secret; it does not reproduce the RFC's signature, this one does.
RFC_SECRET = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)
RFC_PARAMS = '("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
RFC_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    f'"@signature-params": {RFC_PARAMS}'
)
RFC_SIGNATURE = "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
HELLO = b'{"hello": "world"}'
HELLO_DIGEST = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"

KEY = b"k" * 32
NOW = 1_700_000_000


def fixed_clock(now: float) -> Callable[[], float]:
    """A clock stuck at ``now``."""
    return lambda: now


def make_signer(key: bytes = KEY, **kwargs: object) -> RequestSigner:
    """A signer with a fixed clock and a counting nonce factory."""
    counter = iter(range(1_000_000))
    options: dict[str, object] = {"clock": fixed_clock(NOW), "nonce_factory": lambda: f"nonce-{next(counter)}"}
    options.update(kwargs)
    return RequestSigner(key, **options)  # type: ignore[arg-type]


def post(url: str = "https://api.test/v1/items?b=2&a=1", content: bytes | None = HELLO) -> Request:
    """A JSON POST request (or a GET without content)."""
    headers = {"Content-Type": "application/json"} if content is not None else {}
    return Request("POST" if content is not None else "GET", url, headers=headers, content=content)


def verify(request: Request, **kwargs: object) -> object:
    """verify_signature over a request as the server would receive it."""
    options: dict[str, object] = {
        "method": request.method,
        "url": str(request.url),
        "headers": request.headers,
        "body": request.content or b"",
        "key": KEY,
        "clock": fixed_clock(NOW + 1),
    }
    options.update(kwargs)
    return verify_signature(**options)  # type: ignore[arg-type]


def reason_of(call: Callable[[], object]) -> str:
    """The SignatureError reason raised by ``call``."""
    with pytest.raises(SignatureError) as info:
        call()
    assert str(info.value).startswith("Signature rejected: ")
    return info.value.reason


# -- the RFC vectors ---------------------------------------------------------------------------


def test_rfc9421_b25_signature_base() -> None:
    """signature_base and serialize_signature_params reproduce the B.2.5 base exactly."""
    params = serialize_signature_params(
        ["date", "@authority", "content-type"], {"created": 1618884473, "keyid": "test-shared-secret"}
    )
    assert params == RFC_PARAMS
    components = [
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("@authority", "example.com"),
        ("content-type", "application/json"),
    ]
    assert signature_base(components, params) == RFC_BASE


def test_rfc9421_b25_hmac_signature() -> None:
    """HMAC-SHA256 of the B.2.5 base with the B.1.5 secret is the RFC's signature."""
    mac = hmac.new(RFC_SECRET, RFC_BASE.encode("ascii"), hashlib.sha256).digest()
    assert base64.b64encode(mac).decode() == RFC_SIGNATURE


def test_rfc9421_b25_message_verifies() -> None:
    """The RFC's signed request verifies; with its body our profile demands a covered Content-Digest."""
    headers = CIMultiDict(
        {
            "Host": "example.com",
            "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "Content-Type": "application/json",
            "Content-Length": "18",
            "Signature-Input": f"sig-b25={RFC_PARAMS}",
            "Signature": f"sig-b25=:{RFC_SIGNATURE}:",
        }
    )
    options: dict[str, object] = {
        "method": "POST",
        "url": "https://example.com/foo?param=Value&Pet=dog",
        "headers": headers,
        "key": lambda keyid: RFC_SECRET if keyid == "test-shared-secret" else None,
        "clock": fixed_clock(1618884473 + 5),
        "required_components": (),
    }
    info = verify_signature(body=b"", **options)  # type: ignore[arg-type]
    assert (info.label, info.keyid, info.created) == ("sig-b25", "test-shared-secret", 1618884473)
    assert info.covered == ("date", "@authority", "content-type")
    assert reason_of(lambda: verify_signature(body=HELLO, **options)) == "missing component content-digest"  # type: ignore[arg-type]


def test_rfc9530_content_digest() -> None:
    """Content-Digest of {"hello": "world"} is the RFC 9530 example value."""
    assert content_digest(HELLO) == HELLO_DIGEST


# -- signing -----------------------------------------------------------------------------------


def test_sign_sets_digest_input_and_signature() -> None:
    """sign() writes Content-Digest, the profile's Signature-Input and the HMAC over the expected base."""
    request = post()
    make_signer().sign(request)
    params = (
        '("@method" "@authority" "@path" "@query" "content-digest" "content-type");'
        'created=1700000000;expires=1700000300;nonce="nonce-0";keyid="fasthttp";alg="hmac-sha256";tag="fasthttp"'
    )
    assert request.headers["Content-Digest"] == HELLO_DIGEST
    assert request.headers["Signature-Input"] == f"sig1={params}"
    base = (
        '"@method": POST\n'
        '"@authority": api.test\n'
        '"@path": /v1/items\n'
        '"@query": ?b=2&a=1\n'
        f'"content-digest": {HELLO_DIGEST}\n'
        '"content-type": application/json\n'
        f'"@signature-params": {params}'
    )
    mac = base64.b64encode(hmac.new(KEY, base.encode(), hashlib.sha256).digest()).decode()
    assert request.headers["Signature"] == f"sig1=:{mac}:"


def test_bodyless_request_covers_no_content_and_adds_authorization() -> None:
    """Without a body there is no digest and no content-* component; Authorization is covered when present."""
    request = Request("GET", "https://api.test:8443/", headers={"Authorization": "Bearer t"})
    make_signer(tag=None, expires_in=None).sign(request)
    assert "Content-Digest" not in request.headers
    assert request.headers["Signature-Input"] == (
        'sig1=("@method" "@authority" "@path" "@query" "authorization");'
        'created=1700000000;nonce="nonce-0";keyid="fasthttp";alg="hmac-sha256"'
    )
    info = verify(request, required_components=("@method", "@authority", "@path", "@query", "authorization"))
    assert info.covered[-1] == "authorization"  # type: ignore[attr-defined]


def test_sign_verify_round_trip() -> None:
    """A signed fasthttp Request verifies, reporting what the signature said."""
    request = post()
    make_signer(key_id="client-7", tag="billing").sign(request)
    info = verify(request, key=lambda keyid: KEY if keyid == "client-7" else None, tag="billing")
    assert info.keyid == "client-7"  # type: ignore[attr-defined]
    assert (info.created, info.expires, info.nonce, info.tag, info.alg) == (  # type: ignore[attr-defined]
        NOW,
        NOW + 300,
        "nonce-0",
        "billing",
        "hmac-sha256",
    )
    assert "content-digest" in info.covered  # type: ignore[attr-defined]


def test_resigning_replaces_the_headers() -> None:
    """Signing again (a retry) replaces every signature header instead of adding to it."""
    request = post()
    signer = make_signer()
    signer.sign(request)
    first = request.headers["Signature"]
    signer.sign(request)
    for name in ("Signature", "Signature-Input", "Content-Digest"):
        assert len(request.headers.getall(name)) == 1
    assert request.headers["Signature"] != first
    assert 'nonce="nonce-1"' in request.headers["Signature-Input"]
    verify(request)


def test_resigning_follows_a_changed_body() -> None:
    """Re-signing after the body changed updates the digest; dropping the body drops it."""
    request = post()
    signer = make_signer()
    signer.sign(request)
    request.content = b"{}"
    signer.sign(request)
    assert request.headers["Content-Digest"] == content_digest(b"{}")
    verify(request)
    request.content = None
    request.method = "GET"
    signer.sign(request)
    assert "Content-Digest" not in request.headers
    assert "content-digest" not in request.headers["Signature-Input"]
    verify(request, body=b"")


class _Stream:
    """An async iterable body that is never iterated."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise AssertionError("the signer must not read a streamed body")


def test_streamed_body_is_refused_with_the_way_out() -> None:
    """A streamed body cannot be digested: SecurityError names bytes and the per-request opt-out."""
    request = Request("POST", "https://api.test/upload", content=_Stream())
    with pytest.raises(SecurityError, match="streamed body") as info:
        make_signer().sign(request)
    assert "content=b'...'" in str(info.value) and SIGN_EXTENSION in str(info.value)
    request.extensions[SIGN_EXTENSION] = False
    make_signer().sign(request)
    assert "Signature" not in request.headers


def test_signer_checks_its_key_and_hides_it() -> None:
    """The key must be bytes, and the signer's repr never shows it."""
    with pytest.raises(TypeError, match="non-empty bytes"):
        RequestSigner("secret")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RequestSigner(b"")
    assert "kkkk" not in repr(RequestSigner(KEY))


def test_new_nonce_is_128_bit_base64url() -> None:
    """Nonces are 22 base64url characters (128 bits) and differ each time."""
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(
        len(n) == 22 and set(n) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for n in nonces
    )


# -- verification refusals ---------------------------------------------------------------------


def _tamper_body(r: Request) -> None:
    r.content = b'{"hello": "mallory"}'


def _tamper_body_and_digest(r: Request) -> None:
    r.content = b"{}"
    r.headers["Content-Digest"] = content_digest(b"{}")


def _tamper_method(r: Request) -> None:
    r.method = "PUT"


def _tamper_path(r: Request) -> None:
    r.url = r.url.with_path("/v1/admin")


def _tamper_query(r: Request) -> None:
    r.url = r.url.with_query("b=2&a=999")


def _tamper_host(r: Request) -> None:
    r.url = r.url.with_host("evil.test")


def _tamper_content_type(r: Request) -> None:
    r.headers["Content-Type"] = "text/plain"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_tamper_body, "digest mismatch"),
        (_tamper_body_and_digest, "bad signature"),
        (_tamper_method, "bad signature"),
        (_tamper_path, "bad signature"),
        (_tamper_query, "bad signature"),
        (_tamper_host, "bad signature"),
        (_tamper_content_type, "bad signature"),
    ],
)
def test_tampering_is_detected(tamper: Callable[[Request], None], reason: str) -> None:
    """Changing the body, method, path, query, authority or a covered header after signing is refused."""
    request = post()
    make_signer().sign(request)
    tamper(request)
    assert reason_of(lambda: verify(request)) == reason


def test_expired_signatures_are_refused() -> None:
    """Older than max_age, past expires, or created too far in the future: refused."""
    request = post()
    make_signer().sign(request)
    assert reason_of(lambda: verify(request, clock=fixed_clock(NOW + 301))) == "expired"
    verify(request, clock=fixed_clock(NOW + 300))
    short = post()
    make_signer(expires_in=60).sign(short)
    assert reason_of(lambda: verify(short, clock=fixed_clock(NOW + 61))) == "expired"
    assert reason_of(lambda: verify(request, clock=fixed_clock(NOW - 301))) == "created in the future"


def test_replayed_nonce_is_refused() -> None:
    """With a NonceCache the same signed request is accepted once, then refused as a replay."""
    cache = NonceCache()
    request = post()
    make_signer().sign(request)
    verify(request, nonce_cache=cache)
    assert reason_of(lambda: verify(request, nonce_cache=cache)) == "replayed nonce"
    fresh = post()
    make_signer(nonce_factory=lambda: "other").sign(fresh)
    verify(fresh, nonce_cache=cache)


def test_nonce_cache_requires_a_nonce_and_only_records_valid_signatures() -> None:
    """A cache demands a nonce; a forged request never reaches the cache."""
    cache = NonceCache()
    forged = post()
    make_signer(key=b"x" * 32).sign(forged)
    assert reason_of(lambda: verify(forged, nonce_cache=cache)) == "bad signature"
    assert len(cache) == 0
    no_nonce = post()
    base = signature_base([("@method", "POST")], '("@method");created=1700000000;keyid="fasthttp"')
    mac = base64.b64encode(hmac.new(KEY, base.encode(), hashlib.sha256).digest()).decode()
    no_nonce.headers["Signature-Input"] = 'sig1=("@method");created=1700000000;keyid="fasthttp"'
    no_nonce.headers["Signature"] = f"sig1=:{mac}:"
    check = lambda: verify(no_nonce, body=b"", required_components=(), nonce_cache=cache)  # noqa: E731
    assert reason_of(check) == "missing parameter nonce"


def test_nonce_cache_forgets_after_the_window_and_is_bounded() -> None:
    """NonceCache entries expire at their time and the oldest go first when it is full."""
    now = [0.0]
    cache = NonceCache(ttl=10, max_entries=3, clock=lambda: now[0])
    assert not cache.seen("k", "a")
    assert cache.seen("k", "a")
    assert not cache.seen("other-key", "a")
    now[0] = 10.0
    assert not cache.seen("k", "a")
    for nonce in "bcde":
        cache.seen("k", nonce)
    assert len(cache) == 3
    assert not cache.seen("k", "b")  # evicted, so accepted again: size the cache for rate x window


def test_wrong_or_unknown_key_is_refused() -> None:
    """A different key gives "bad signature"; a keyid with no configured key gives "unknown keyid"."""
    request = post()
    make_signer().sign(request)
    assert reason_of(lambda: verify(request, key=b"q" * 32)) == "bad signature"
    assert reason_of(lambda: verify(request, key=lambda keyid: None)) == "unknown keyid"


def test_required_components_are_enforced() -> None:
    """A required component the signature does not cover, or a covered header that is absent, is refused."""
    request = Request("GET", "https://api.test/")
    make_signer().sign(request)
    required = ("@method", "@path", "authorization")
    assert reason_of(lambda: verify(request, required_components=required)) == "missing component authorization"
    signed = post()
    make_signer().sign(signed)
    del signed.headers["Content-Type"]
    assert reason_of(lambda: verify(signed)) == "missing component content-type"


def test_disagreeing_alg_is_ignored() -> None:
    """The algorithm comes from configuration: an alg parameter naming another one neither helps nor hurts."""
    params = '("@method" "@authority" "@path" "@query");created=1700000000;keyid="fasthttp";alg="rsa-pss-sha512"'
    components = [("@method", "GET"), ("@authority", "api.test"), ("@path", "/"), ("@query", "?")]
    mac = hmac.new(KEY, signature_base(components, params).encode(), hashlib.sha256).digest()
    headers = {"signature-input": f"sig1={params}", "SIGNATURE": f"sig1=:{base64.b64encode(mac).decode()}:"}
    info = verify_signature(
        method="GET", url="https://api.test/", headers=headers, body=b"", key=KEY, clock=fixed_clock(NOW)
    )
    assert info.alg == "rsa-pss-sha512"


@pytest.mark.parametrize(
    ("signature_input", "signature", "reason"),
    [
        (None, None, "missing signature"),
        ("sig1=garbage(", "sig1=:AAAA:", "malformed"),
        ('sig1=("@method");created=1;keyid="k"', "sig1=notbytes", "malformed"),
        ('a=("@method");created=1;keyid="k", b=("@path");created=1;keyid="k"', "a=:AAAA:, b=:AAAA:", "ambiguous"),
        ('sig2=("@method");created=1;keyid="k"', "sig1=:AAAA:", "missing signature"),
        ('sig1=("@method" "@method");created=1;keyid="k"', "sig1=:AAAA:", "malformed"),
        ('sig1=("@query-param";name="x");created=1;keyid="k"', "sig1=:AAAA:", "unsupported component"),
        ('sig1=("@method");keyid="k"', "sig1=:AAAA:", "missing parameter created"),
        ('sig1=("@method");created=1', "sig1=:AAAA:", "missing parameter keyid"),
        ('sig1=("@method");created="1";keyid="k"', "sig1=:AAAA:", "malformed"),
    ],
)
def test_malformed_signature_headers(signature_input: str | None, signature: str | None, reason: str) -> None:
    """Absent, unparsable, ambiguous or incomplete signature headers are refused with a reason."""
    headers = {}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    if signature is not None:
        headers["Signature"] = signature
    call = lambda: verify_signature(  # noqa: E731
        method="GET", url="https://api.test/", headers=headers, body=b"", key=KEY, clock=fixed_clock(1)
    )
    assert reason_of(call) == reason


def test_label_and_tag_select_and_check() -> None:
    """label= picks one of several signatures; tag= must match the signed tag."""
    request = post()
    make_signer(label="mine").sign(request)
    request.headers["Signature-Input"] += ', other=("@method");created=1;keyid="x"'
    request.headers["Signature"] += ", other=:AAAA:"
    assert reason_of(lambda: verify(request)) == "ambiguous"
    verify(request, label="mine")
    assert reason_of(lambda: verify(request, label="mine", tag="billing")) == "wrong tag"


def test_signature_error_is_a_security_error_with_a_reason() -> None:
    """SignatureError belongs to the SecurityError family and carries its short reason."""
    request = post()
    make_signer().sign(request)
    with pytest.raises(SecurityError) as info:
        verify(request, key=b"q" * 32)
    assert isinstance(info.value, SignatureError) and info.value.reason == "bad signature"


# -- which requests are signed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "sign_hosts", "generated", "expected"),
    [
        ("https://api.test/x", None, False, True),
        ("https://other.test/x", None, False, True),
        ("https://api.test/x", frozenset({"api.test"}), False, True),
        ("https://other.test/x", frozenset({"api.test"}), False, False),
        ("https://api.test/x", None, True, False),
        ("https://API.test./x", frozenset({"api.test"}), True, True),
        ("https://other.test/x", frozenset({"API.TEST"}), True, False),
        ("https://api.test/x", frozenset(), False, False),
    ],
)
def test_should_sign(url: str, sign_hosts: frozenset[str] | None, generated: bool, expected: bool) -> None:
    """A generated key signs only named hosts; a user key signs everything unless sign_hosts narrows it."""
    assert should_sign(url, sign_hosts, generated) is expected
