"""HMAC request signing: RFC 9421 HTTP Message Signatures (``hmac-sha256`` profile) and
RFC 9530 ``Content-Digest``. Pure: data in, headers or a verdict out.

The signer's rules (shared/reliability/RESEARCH.md section 4):

- One signature, label ``sig1``, covering ``"@method" "@authority" "@path" "@query"``;
  with a body also ``"content-digest"`` and, when the header is present,
  ``"content-type"``; ``"authorization"`` whenever that header is present.
- Parameters, in this order: ``created``, ``expires`` (created + ``expires_in``),
  ``nonce`` (128 random bits, base64url), ``keyid``, ``alg="hmac-sha256"``, ``tag``.
- ``Content-Digest: sha-256=:<base64>:`` over exactly ``request.content``, the bytes
  sent (after any content coding the caller applied). A request without a body gets
  no digest (and a stale one is removed); ``b""`` is a body and is digested.
- A streamed body (an async iterable) cannot be digested before it is sent, so
  ``sign`` raises ``SecurityError``: send the body as bytes, or mark the request
  unsigned with ``request.extensions["fasthttp.sign"] = False`` (``SIGN_EXTENSION``),
  which ``sign`` honours by leaving the request untouched.
- Signing again replaces ``Signature``, ``Signature-Input`` and ``Content-Digest``:
  retries and redirect hops re-sign, and ``should_sign`` is asked again for every
  hop so a signature is never forwarded to a host that was not meant to get one.

The verifier's rules (``verify_signature``, for the receiving server):

- The key comes from configuration by ``keyid``; ``alg`` never selects the
  algorithm (it is always HMAC-SHA256), so a disagreeing ``alg`` is ignored.
- ``created`` is required and must be within ``max_age`` seconds of now (either
  side); ``expires``, when present, must not have passed. Reason: "expired".
- Every ``required_components`` entry must be covered, and ``content-digest`` must
  be covered whenever the body is not empty (RFC 9421 section 7.2.8).
- The digest is recomputed over the body received ("digest mismatch") and the
  signature compared with ``hmac.compare_digest`` ("bad signature").
- With a ``NonceCache`` a nonce is required and may be used once per keyid within
  its validity window ("replayed nonce"); it is recorded only after the signature
  verified, so forged requests cannot fill the cache.
- Every refusal is a ``SignatureError`` whose ``reason`` is a short phrase.

Why hand-written rather than ``http-message-signatures`` (3.0.0, read for this): it
pulls in ``cryptography`` and ``http-sf`` for the one MAC we need; its verifier reads
``datetime.now()`` (no injectable clock, so windows cannot be tested without
patching) and keeps no replay cache; its message adapters expect ``requests``/
aiohttp/httpx2 objects with a ``str`` URL; it rejects rather than ignores a
disagreeing ``alg``; and it is untyped (no ``mypy --strict``). The profile needs a
signature base (a few lines), a serializer and a small RFC 8941 dictionary parser.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from yarl import URL

from ..exceptions import SecurityError, SignatureError

if TYPE_CHECKING:
    from ..models import Request

__all__ = [
    "ALGORITHM",
    "DEFAULT_LABEL",
    "SIGN_EXTENSION",
    "NonceCache",
    "RequestSigner",
    "SignatureError",
    "SignatureInfo",
    "content_digest",
    "new_nonce",
    "serialize_signature_params",
    "should_sign",
    "signature_base",
    "verify_signature",
]

ALGORITHM: Final = "hmac-sha256"
DEFAULT_LABEL: Final = "sig1"
SIGN_EXTENSION: Final = "fasthttp.sign"
"""``request.extensions[SIGN_EXTENSION] = False`` sends that request unsigned."""

_REQUEST_COMPONENTS: Final = ("@method", "@authority", "@path", "@query")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_DIGESTS: Final = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _refuse(reason: str, detail: str) -> SignatureError:
    return SignatureError(f"Signature rejected: {reason} ({detail}).", reason=reason)


# -- RFC 8941 structured fields: the subset signatures use -----------------------------------


class _Token(str):
    """An sf-token (serialized bare, unlike an sf-string)."""


_BareItem: TypeAlias = int | str | bytes | bool
_Params: TypeAlias = dict[str, _BareItem]


@dataclass(frozen=True, slots=True)
class _Item:
    value: _BareItem
    params: _Params


@dataclass(frozen=True, slots=True)
class _InnerList:
    items: tuple[_Item, ...]
    params: _Params


_PRINTABLE_ASCII: Final = re.compile(r"[\x20-\x7e]*")


def _sf_string(value: str) -> str:
    if _PRINTABLE_ASCII.fullmatch(value) is None:
        raise ValueError(f"{value!r} cannot be a structured-field string (printable ASCII only)")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sf_bare(value: _BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, _Token):
        return str(value)
    return _sf_string(value)


def _sf_params(params: Mapping[str, _BareItem]) -> str:
    return "".join(f";{key}" if value is True else f";{key}={_sf_bare(value)}" for key, value in params.items())


def _sf_inner_list(inner: _InnerList) -> str:
    items = " ".join(_sf_bare(item.value) + _sf_params(item.params) for item in inner.items)
    return f"({items}){_sf_params(inner.params)}"


_KEY_RE: Final = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_INTEGER_RE: Final = re.compile(r"-?[0-9]{1,15}(?![0-9.])")
_STRING_RE: Final = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\\"])*)"')
_UNESCAPE_RE: Final = re.compile(r"\\([\\\"])")
_BYTES_RE: Final = re.compile(r":([A-Za-z0-9+/=]*):")
_TOKEN_RE: Final = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*")
_OWS_RE: Final = re.compile(r"[ \t]*")
_SP_RE: Final = re.compile(r" *")


class _Parser:
    """RFC 8941 section 4.2 for Dictionaries of Items and Inner Lists (no Decimals)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _match(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"expected {what} at {self.pos}")
        self.pos = match.end()
        return match

    def dictionary(self) -> dict[str, _Item | _InnerList]:
        self._match(_SP_RE, "spaces")
        members: dict[str, _Item | _InnerList] = {}
        while self.pos < len(self.text):
            key = self._match(_KEY_RE, "a key").group()
            if self._peek() == "=":
                self.pos += 1
                members[key] = self._inner_list() if self._peek() == "(" else self._item()
            else:
                members[key] = _Item(True, self._params())
            self._match(_OWS_RE, "spaces")
            if self.pos == len(self.text):
                return members
            if self._peek() != ",":
                raise ValueError(f"expected ',' at {self.pos}")
            self.pos += 1
            self._match(_OWS_RE, "spaces")
            if self.pos == len(self.text):
                raise ValueError("trailing ','")
        return members

    def _inner_list(self) -> _InnerList:
        self.pos += 1  # "("
        items: list[_Item] = []
        while True:
            self._match(_SP_RE, "spaces")
            if self._peek() == ")":
                self.pos += 1
                return _InnerList(tuple(items), self._params())
            items.append(self._item())
            if self._peek() not in (" ", ")"):
                raise ValueError(f"expected ' ' or ')' at {self.pos}")

    def _item(self) -> _Item:
        return _Item(self._bare_item(), self._params())

    def _params(self) -> _Params:
        params: _Params = {}
        while self._peek() == ";":
            self.pos += 1
            self._match(_SP_RE, "spaces")
            key = self._match(_KEY_RE, "a parameter name").group()
            if self._peek() == "=":
                self.pos += 1
                params[key] = self._bare_item()
            else:
                params[key] = True
        return params

    def _bare_item(self) -> _BareItem:
        ch = self._peek()
        if ch == '"':
            return _UNESCAPE_RE.sub(r"\1", self._match(_STRING_RE, "a string").group(1))
        if ch == "-" or "0" <= ch <= "9":
            return int(self._match(_INTEGER_RE, "an integer (decimals are not supported)").group())
        if ch == ":":
            return base64.b64decode(self._match(_BYTES_RE, "a byte sequence").group(1), validate=True)
        if ch == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1"):
                raise ValueError(f"bad boolean at {self.pos}")
            self.pos += 2
            return value == "1"
        return _Token(self._match(_TOKEN_RE, "an item").group())


def _parse_dictionary(text: str) -> dict[str, _Item | _InnerList]:
    return _Parser(text).dictionary()


# -- the pure building blocks -----------------------------------------------------------------


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value: ``sha-256=:<base64 of SHA-256(body)>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def new_nonce() -> str:
    """128 random bits, base64url without padding (22 characters)."""
    return secrets.token_urlsafe(16)


def serialize_signature_params(covered: Sequence[str], params: Mapping[str, int | str]) -> str:
    """The ``@signature-params`` value: ``("@method" ...);created=1;keyid="k"`` (params in the given order)."""
    return _sf_inner_list(_InnerList(tuple(_Item(name, {}) for name in covered), dict(params)))


@functools.lru_cache(maxsize=64)
def _covered_list(covered: tuple[str, ...]) -> str:
    """``("@method" "@authority" ...)``: the few covered lists a signer uses, serialized once."""
    return "(" + " ".join(_sf_string(name) for name in covered) + ")"


def signature_base(components: Sequence[tuple[str, str]], params: str) -> str:
    """RFC 9421 section 2.5: one ``"<name>": <value>`` line per covered component, then the
    ``"@signature-params": <params>`` line; no trailing newline."""
    lines: list[str] = []
    for name, value in components:
        if name != name.lower() or '"' in name or "\n" in name:
            raise ValueError(f"component name {name!r} must be lower-case and unquoted")
        if "\n" in value or "\r" in value:
            raise ValueError(f"the value of component {name!r} contains a line break")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines)


def _field_value(headers: Mapping[str, str], name: str) -> str | None:
    """RFC 9421 section 2.1: every field line of ``name``, trimmed, joined by ``", "``."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        values: list[str] = getall(name, [])
        return ", ".join(v.strip() for v in values) if values else None
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate.strip()
        return None
    return value.strip()


def _authority(url: URL) -> str:
    host = (url.raw_host or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = url.explicit_port
    if port is not None and port != _DEFAULT_PORTS.get(url.scheme):
        return f"{host}:{port}"
    return host


def _derived(name: str, method: str, url: URL) -> str | None:
    if name == "@method":
        return method.upper()
    if name == "@authority":
        return _authority(url)
    if name == "@path":
        return url.raw_path or "/"
    if name == "@query":
        return "?" + url.raw_query_string
    if name == "@scheme":
        return url.scheme
    if name == "@target-uri":
        return f"{url.scheme}://{_authority(url)}{url.raw_path or '/'}" + (
            f"?{url.raw_query_string}" if url.raw_query_string else ""
        )
    if name == "@request-target":
        return (url.raw_path or "/") + (f"?{url.raw_query_string}" if url.raw_query_string else "")
    return None


def _hmac(key: bytes, base: str) -> bytes:
    try:
        data = base.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a covered value is not ASCII and cannot be signed") from None
    return hmac.new(key, data, hashlib.sha256).digest()


def should_sign(url: str | URL, sign_hosts: frozenset[str] | None, key_was_generated: bool) -> bool:
    """Whether a request to ``url`` is signed. An auto-generated key signs only the hosts the
    user named in ``sign_hosts`` (none named: nothing is signed); a user-given key signs every
    request, unless ``sign_hosts`` restricts it. Asked again for every redirect hop."""
    if sign_hosts is None:
        return not key_was_generated
    host = ((url if isinstance(url, URL) else URL(url)).raw_host or "").lower().rstrip(".")
    return any(entry.lower().rstrip(".") == host for entry in sign_hosts)


# -- signing ------------------------------------------------------------------------------------


class RequestSigner:
    """Signs requests in place with the RFC 9421 HMAC-SHA256 profile (see the module docstring)."""

    __slots__ = ("_clock", "_expires_in", "_key", "_nonce_factory", "_params_tail", "key_id", "label", "tag")

    def __init__(
        self,
        key: bytes,
        *,
        key_id: str = "fasthttp",
        tag: str | None = "fasthttp",
        expires_in: float | None = 300,
        clock: Callable[[], float] = time.time,
        nonce_factory: Callable[[], str] = new_nonce,
        label: str = DEFAULT_LABEL,
    ) -> None:
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise TypeError("RequestSigner key must be non-empty bytes (32 random bytes: secrets.token_bytes(32)).")
        _sf_string(key_id)
        if tag is not None:
            _sf_string(tag)
        if expires_in is not None and not expires_in > 0:
            raise ValueError(f"RequestSigner expires_in={expires_in!r} must be a positive number of seconds or None.")
        _parse_dictionary(f"{label}=?1")  # a valid dictionary key
        self._key = bytes(key)
        self.key_id = key_id
        self.tag = tag
        tail: dict[str, int | str] = {"keyid": key_id, "alg": ALGORITHM}
        if tag is not None:
            tail["tag"] = tag
        self._params_tail = _sf_params(tail)
        self._expires_in = expires_in
        self._clock = clock
        self._nonce_factory = nonce_factory
        self.label = label

    def __repr__(self) -> str:
        return f"<RequestSigner keyid={self.key_id!r} alg={ALGORITHM!r}>"  # never the key

    def sign(self, request: Request) -> None:
        """Set ``Content-Digest`` (with a body), ``Signature-Input`` and ``Signature`` on
        ``request``, replacing earlier ones. No-op when ``request.extensions["fasthttp.sign"]``
        is False; SecurityError for a streamed body."""
        if request.extensions.get(SIGN_EXTENSION) is False:
            return
        content = request.content
        if content is not None and not isinstance(content, bytes):
            raise SecurityError(
                "Cannot sign a request with a streamed body: the signature covers a Content-Digest of the exact "
                "bytes sent, and an async iterable can only be read once. Pass the body as bytes (content=b'...'), "
                f"or send this request unsigned with request.extensions[{SIGN_EXTENSION!r}] = False.",
                request=request,
            )
        headers = request.headers
        if content is not None:
            headers["Content-Digest"] = content_digest(content)
        elif "Content-Digest" in headers:
            del headers["Content-Digest"]
        covered = list(_REQUEST_COMPONENTS)
        if content is not None:
            covered.append("content-digest")
            if "Content-Type" in headers:
                covered.append("content-type")
        if "Authorization" in headers:
            covered.append("authorization")
        url = request.url
        components: list[tuple[str, str]] = []
        for name in covered:
            value = _derived(name, request.method, url) if name[0] == "@" else _field_value(headers, name)
            assert value is not None
            components.append((name, value))
        created = int(self._clock())
        expires = f";expires={created + int(self._expires_in)}" if self._expires_in is not None else ""
        try:
            nonce = _sf_string(self._nonce_factory())
            signature_params = f"{_covered_list(tuple(covered))};created={created}{expires};nonce={nonce}"
            signature_params += self._params_tail
            mac = _hmac(self._key, signature_base(components, signature_params))
        except ValueError as exc:
            raise SecurityError(f"Cannot sign the request: {exc}.", request=request) from None
        headers["Signature-Input"] = f"{self.label}={signature_params}"
        headers["Signature"] = f"{self.label}=:{base64.b64encode(mac).decode('ascii')}:"


# -- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What a verified signature said."""

    label: str
    keyid: str
    created: int
    expires: int | None
    nonce: str | None
    tag: str | None
    alg: str | None
    covered: tuple[str, ...]


class NonceCache:
    """Nonces already accepted, per keyid, each kept until its signature could no longer
    verify (or ``ttl`` seconds); bounded to ``max_entries`` (oldest forgotten first)."""

    __slots__ = ("_clock", "_seen", "max_entries", "ttl")

    def __init__(self, ttl: float = 300.0, *, max_entries: int = 100_000, clock: Callable[[], float] = time.time):
        if not ttl > 0 or max_entries < 1:
            raise ValueError("NonceCache needs ttl > 0 seconds and max_entries >= 1.")
        self.ttl = float(ttl)
        self.max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, keyid: str, nonce: str, *, until: float | None = None, now: float | None = None) -> bool:
        """True when ``(keyid, nonce)`` was already recorded and is still remembered;
        otherwise record it until ``until`` (default now + ttl) and return False.
        ``now`` defaults to the cache's clock (verify_signature passes its own)."""
        if now is None:
            now = self._clock()
        while self._seen:
            oldest, expiry = next(iter(self._seen.items()))
            if expiry > now:
                break
            del self._seen[oldest]
        entry = (keyid, nonce)
        known = self._seen.get(entry)
        if known is not None and known > now:
            return True
        while len(self._seen) >= self.max_entries:
            self._seen.popitem(last=False)
        self._seen[entry] = max(until if until is not None else now + self.ttl, now)
        return False


def _choose(
    inputs: dict[str, _Item | _InnerList], signatures: dict[str, _Item | _InnerList], label: str | None
) -> tuple[str, _InnerList, bytes]:
    if label is None:
        if len(inputs) == 1:
            label = next(iter(inputs))
        elif DEFAULT_LABEL in inputs:
            label = DEFAULT_LABEL
        else:
            raise _refuse("ambiguous", f"several signatures ({', '.join(inputs)}); pass label= to choose one")
    member = inputs.get(label)
    signature = signatures.get(label)
    if member is None or signature is None:
        raise _refuse("missing signature", f"no signature labelled {label!r}")
    if not isinstance(member, _InnerList) or not isinstance(signature, _Item) or not isinstance(signature.value, bytes):
        raise _refuse("malformed", f"signature {label!r} is not an inner list with a byte sequence")
    return label, member, signature.value


def _param(params: _Params, name: str, kind: type) -> object:
    value = params.get(name)
    if value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _refuse("malformed", f"parameter {name} must be an integer")
    if kind is str and (isinstance(value, _Token) or not isinstance(value, str)):
        raise _refuse("malformed", f"parameter {name} must be a string")
    return value


def verify_signature(
    *,
    method: str,
    url: str | URL,
    headers: Mapping[str, str],
    body: bytes,
    key: bytes | Callable[[str], bytes | None],
    max_age: float = 300,
    clock: Callable[[], float] = time.time,
    nonce_cache: NonceCache | None = None,
    required_components: Sequence[str] = _REQUEST_COMPONENTS,
    label: str | None = None,
    tag: str | None = None,
) -> SignatureInfo:
    """Verify the RFC 9421 HMAC-SHA256 signature of a received request; return what it covered,
    or raise SignatureError with a ``reason``. ``headers`` needs case-insensitive access;
    ``url`` is the URL as received (percent-encoding kept); ``key`` is the shared secret or a
    function from keyid to secret (None: unknown). ``tag``, when given, must match."""
    now = clock()
    input_text = _field_value(headers, "signature-input")
    signature_text = _field_value(headers, "signature")
    if not input_text or not signature_text:
        raise _refuse("missing signature", "the request has no Signature-Input or no Signature header")
    try:
        inputs = _parse_dictionary(input_text)
        signatures = _parse_dictionary(signature_text)
    except (ValueError, binascii.Error) as exc:
        raise _refuse("malformed", f"the signature headers are not structured fields: {exc}") from None
    label, member, mac = _choose(inputs, signatures, label)
    covered: list[str] = []
    for item in member.items:
        if not isinstance(item.value, str) or isinstance(item.value, _Token) or item.params:
            raise _refuse("unsupported component", f"{_sf_bare(item.value)}{_sf_params(item.params)}")
        if item.value in covered:
            raise _refuse("malformed", f"component {item.value!r} is covered twice")
        covered.append(item.value)
    params = member.params
    created = _param(params, "created", int)
    keyid = _param(params, "keyid", str)
    expires = _param(params, "expires", int)
    nonce = _param(params, "nonce", str)
    signed_tag = _param(params, "tag", str)
    alg = _param(params, "alg", str)  # informational only: the algorithm comes from configuration
    if not isinstance(created, int):
        raise _refuse("missing parameter created", "the signature has no created time")
    if not isinstance(keyid, str):
        raise _refuse("missing parameter keyid", "the signature names no key")
    if tag is not None and signed_tag != tag:
        raise _refuse("wrong tag", f"expected tag {tag!r}, got {signed_tag!r}")
    if now - created > max_age:
        raise _refuse("expired", f"created {now - created:.0f} s ago, more than max_age={max_age:g} s")
    if created - now > max_age:
        raise _refuse("created in the future", f"created {created - now:.0f} s from now")
    if isinstance(expires, int) and now > expires:
        raise _refuse("expired", f"its expires time passed {now - expires:.0f} s ago")
    secret = key(keyid) if callable(key) else key
    if not secret:
        raise _refuse("unknown keyid", f"no key is configured for keyid {keyid!r}")
    for name in required_components:
        if name not in covered:
            raise _refuse(f"missing component {name}", f"the signature does not cover {name!r}")
    if body and "content-digest" not in covered:
        raise _refuse("missing component content-digest", "the request has a body but the signature does not cover it")
    target = url if isinstance(url, URL) else URL(url, encoded=True)
    components: list[tuple[str, str]] = []
    for name in covered:
        if name[0] == "@":
            value = _derived(name, method, target)
            if value is None:
                raise _refuse("unsupported component", f"{name!r} is not a request component")
        else:
            value = _field_value(headers, name)
            if value is None:
                raise _refuse(f"missing component {name}", f"the covered header {name!r} is absent")
        components.append((name, value))
    if "content-digest" in covered:
        _check_digest(_field_value(headers, "content-digest") or "", body)
    try:
        expected = _hmac(secret, signature_base(components, _sf_inner_list(member)))
    except ValueError as exc:
        raise _refuse("malformed", str(exc)) from None
    if not hmac.compare_digest(expected, mac):
        raise _refuse("bad signature", "the HMAC does not match the covered components")
    if nonce_cache is not None:
        if not isinstance(nonce, str):
            raise _refuse("missing parameter nonce", "replay protection needs a nonce")
        until = created + max_age
        if isinstance(expires, int):
            until = min(until, expires)
        if nonce_cache.seen(keyid, nonce, until=until, now=now):
            raise _refuse("replayed nonce", f"nonce {nonce!r} was already used with keyid {keyid!r}")
    return SignatureInfo(
        label=label,
        keyid=keyid,
        created=created,
        expires=expires if isinstance(expires, int) else None,
        nonce=nonce if isinstance(nonce, str) else None,
        tag=signed_tag if isinstance(signed_tag, str) else None,
        alg=alg if isinstance(alg, str) else None,
        covered=tuple(covered),
    )


def _check_digest(header: str, body: bytes) -> None:
    try:
        digests = _parse_dictionary(header)
    except (ValueError, binascii.Error):
        raise _refuse("malformed", "the Content-Digest header is not a structured field") from None
    for name, hasher in _DIGESTS.items():
        member = digests.get(name)
        if isinstance(member, _Item) and isinstance(member.value, bytes):
            if not hmac.compare_digest(member.value, hasher(body).digest()):
                raise _refuse("digest mismatch", f"the body does not match its {name} Content-Digest")
            return
    raise _refuse("unsupported digest", "Content-Digest has no sha-256 or sha-512 value")
