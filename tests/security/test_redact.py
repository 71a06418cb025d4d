"""Secret masking: one function behind every log line, repr and error."""

from __future__ import annotations

import pytest

from fasthttp.security.redact import REDACTED, mask_header_value, mask_headers, mask_url


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Bearer abc", f"Bearer {REDACTED}"),
        ("authorization", "Basic dXNlcjpwdw==", f"Basic {REDACTED}"),
        ("Proxy-Authorization", "Basic x", f"Basic {REDACTED}"),
        ("Cookie", "sid=1", REDACTED),
        ("Set-Cookie", "sid=1; Path=/", REDACTED),
        ("X-API-Key", "k", REDACTED),
        ("X-Auth-Token", "t", REDACTED),
        ("X-Client-Secret", "s", REDACTED),
        ("Accept", "text/html", "text/html"),
        ("Authorization", "rawtokenwithoutscheme", REDACTED),
    ],
)
def test_header_values(name: str, value: str, expected: str) -> None:
    """Credential headers are masked (keeping an auth scheme); others pass through."""
    assert mask_header_value(name, value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", "https://example.com/a"),
        ("https://user:pw@example.com/a", f"https://{REDACTED}@example.com/a"),
        ("https://example.com/a?api_key=K&page=2", f"https://example.com/a?api_key={REDACTED}&page=2"),
        ("https://example.com/a?access_token=T", f"https://example.com/a?access_token={REDACTED}"),
        ("https://example.com/a?X-Amz-Signature=S&x=1", f"https://example.com/a?X-Amz-Signature={REDACTED}&x=1"),
        ("https://example.com/a?password=p&sig=s", f"https://example.com/a?password={REDACTED}&sig={REDACTED}"),
        ("https://example.com/a?q=hello", "https://example.com/a?q=hello"),
    ],
)
def test_urls(url: str, expected: str) -> None:
    """Userinfo and secret query values are masked; keys and other values stay."""
    assert mask_url(url) == expected


def test_mask_headers_keeps_order() -> None:
    """mask_headers masks values and keeps names and order."""
    assert mask_headers([("A", "1"), ("Cookie", "c")]) == [("A", "1"), ("Cookie", REDACTED)]


def test_masking_never_raises() -> None:
    """Unparseable input is masked crudely instead of raising."""
    masked = mask_url("http://u:p@[bad/?token=1")
    assert "u:p" not in masked and "token=1" not in masked
