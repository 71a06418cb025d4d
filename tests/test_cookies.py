"""Tests for fasthttp.cookies: RFC 6265 storage, matching, expiry, Secure rules, persistence."""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import sys
import time
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace

import pytest

import fasthttp.cookies as cookies_module
from fasthttp.cookies import Cookie, CookieConflict, CookieJar, DummyCookieJar


class FakeClock:
    """Stands in for the `time` module inside fasthttp.cookies."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A controllable clock for the cookie module only."""
    fake = FakeClock(1_700_000_000.0)
    monkeypatch.setattr(cookies_module, "time", SimpleNamespace(time=fake.time))
    return fake


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def jar_with(url: str, *set_cookies: str) -> CookieJar:
    jar = CookieJar()
    jar.store(url, list(set_cookies))
    return jar


# --- domain matching (RFC 6265 §5.1.3, §5.3 steps 4-6) ----------------------------------


def test_host_only_cookie_goes_back_only_to_the_exact_host() -> None:
    """A cookie without Domain is sent to its host but not to subdomains or the parent."""
    jar = jar_with("http://example.test/", "sid=1")
    assert jar.cookie_header("http://example.test/x") == "sid=1"
    assert jar.cookie_header("http://www.example.test/") is None
    assert jar.cookie_header("http://test/") is None
    assert jar.cookie_header("http://other.test/") is None
    (cookie,) = jar
    assert cookie.host_only and cookie.domain == "example.test"


def test_domain_cookie_goes_to_domain_and_subdomains() -> None:
    """Domain=example.test is sent to example.test and *.example.test, not to lookalikes."""
    jar = jar_with("http://www.example.test/", "d=1; Domain=example.test")
    assert jar.cookie_header("http://example.test/") == "d=1"
    assert jar.cookie_header("http://www.example.test/") == "d=1"
    assert jar.cookie_header("http://a.b.example.test/") == "d=1"
    assert jar.cookie_header("http://notexample.test/") is None
    assert jar.cookie_header("http://example.test.evil/") is None
    (cookie,) = jar
    assert not cookie.host_only and cookie.domain == "example.test"


def test_leading_dot_in_domain_attribute_is_ignored() -> None:
    """Domain=.example.test is the same as Domain=example.test."""
    jar = jar_with("http://example.test/", "d=1; Domain=.example.test")
    assert jar.cookie_header("http://sub.example.test/") == "d=1"
    assert [c.domain for c in jar] == ["example.test"]


def test_domain_not_matching_the_request_host_is_rejected() -> None:
    """A Domain the request host does not domain-match (sibling, child, other) is dropped."""
    jar = jar_with(
        "http://www.example.test/",
        "a=1; Domain=other.test",
        "b=1; Domain=api.example.test",
        "c=1; Domain=ww.example.test",
    )
    assert len(jar) == 0


def test_public_suffix_like_domains_are_rejected() -> None:
    """Domain=test (single label) and Domain=co.uk (known second-level suffix) are dropped."""
    jar = jar_with("http://a.example.test/", "a=1; Domain=test")
    jar.store("http://shop.example.co.uk/", ["b=1; Domain=co.uk"])
    assert len(jar) == 0


def test_domain_equal_to_single_label_host_becomes_host_only() -> None:
    """Domain=localhost from localhost is kept as a host-only cookie (RFC 6265 §5.3 step 5)."""
    jar = jar_with("http://localhost/", "a=1; Domain=localhost")
    assert jar.cookie_header("http://localhost/") == "a=1"
    assert jar.cookie_header("http://sub.localhost/") is None


def test_domain_attribute_and_host_are_case_insensitive() -> None:
    """Hosts and Domain values are compared lowercased."""
    jar = jar_with("http://WWW.Example.TEST/", "a=1; Domain=EXAMPLE.test")
    assert jar.cookie_header("http://api.example.test/") == "a=1"
    assert jar.cookie_header("http://API.EXAMPLE.TEST/") == "a=1"


def test_ipv4_host_round_trip_ignores_ports() -> None:
    """Cookies from 127.0.0.1 go back to 127.0.0.1 on any port, never to another IP."""
    jar = jar_with("http://127.0.0.1:8080/login", "sid=abc; Path=/")
    assert jar.cookie_header("http://127.0.0.1:9999/") == "sid=abc"
    assert jar.cookie_header("http://127.0.0.1/") == "sid=abc"
    assert jar.cookie_header("http://127.0.0.2:8080/") is None
    assert [c.domain for c in jar] == ["127.0.0.1"]


def test_ip_host_domain_attribute_must_equal_the_ip() -> None:
    """From an IP host, Domain=<same IP> is host-only and a partial IP (Domain=0.0.1) is dropped."""
    jar = jar_with("http://127.0.0.1/", "a=1; Domain=127.0.0.1", "b=1; Domain=0.0.1")
    assert jar.cookie_header("http://127.0.0.1/") == "a=1"
    assert [(c.name, c.host_only) for c in jar] == [("a", True)]


def test_ipv6_host_round_trip() -> None:
    """Cookies from [::1] go back to [::1] on any port."""
    jar = jar_with("http://[::1]:8080/", "v6=1")
    assert jar.cookie_header("http://[::1]:9000/") == "v6=1"
    assert jar.cookie_header("http://127.0.0.1:8080/") is None
    assert [c.domain for c in jar] == ["::1"]


def test_localhost_round_trip_without_local_suffix() -> None:
    """A dotless host keeps its own name (no stdlib '.local' suffix) and round-trips."""
    jar = jar_with("http://localhost:8000/", "l=1")
    assert jar.cookie_header("http://localhost:8001/") == "l=1"
    assert jar.cookie_header("http://localhost.local/") is None
    assert [c.domain for c in jar] == ["localhost"]
    assert jar.get("l", domain="localhost") == "1"


def test_unicode_host_is_matched_in_punycode() -> None:
    """A non-ASCII host and its IDNA form are the same host."""
    jar = jar_with("http://bücher.test/", "a=1")
    assert jar.cookie_header("http://xn--bcher-kva.test/") == "a=1"


def test_cross_domain_deletion_is_refused() -> None:
    """An expired Set-Cookie for a domain the host cannot set does not delete that cookie."""
    jar = jar_with("https://www.bank.test/", "sid=secret; Domain=bank.test; Secure")
    jar.store("http://evil.test/", ["sid=x; Domain=bank.test; Max-Age=0"])
    jar.store("https://evil.test/", ["sid=x; Domain=bank.test; Max-Age=0; Secure"])
    assert jar.cookie_header("https://bank.test/") == "sid=secret"


# --- paths (RFC 6265 §5.1.4) ----------------------------------------------------------------


def test_default_path_is_the_directory_of_the_request_path() -> None:
    """Without Path, /a/b gives /a, /a gives /, / gives / and an empty path gives /."""
    jar = CookieJar()
    jar.store("http://h.test/a/b", ["p1=1"])
    jar.store("http://h.test/a", ["p2=1"])
    jar.store("http://h.test/", ["p3=1"])
    jar.store("http://h.test", ["p4=1"])
    jar.store("http://h.test/a/b/?q=/x/y", ["p5=1"])
    paths = {c.name: c.path for c in jar}
    assert paths == {"p1": "/a", "p2": "/", "p3": "/", "p4": "/", "p5": "/a/b"}


def test_path_match_follows_segment_boundaries() -> None:
    """Path=/a is sent to /a, /a/ and /a/b but not to /ab or /."""
    jar = jar_with("http://h.test/", "c=1; Path=/a")
    assert jar.cookie_header("http://h.test/a") == "c=1"
    assert jar.cookie_header("http://h.test/a/") == "c=1"
    assert jar.cookie_header("http://h.test/a/b?x=1") == "c=1"
    assert jar.cookie_header("http://h.test/ab") is None
    assert jar.cookie_header("http://h.test/") is None


def test_path_with_trailing_slash_matches_below_it() -> None:
    """Path=/a/ is sent to /a/b but not to /a."""
    jar = jar_with("http://h.test/", "c=1; Path=/a/")
    assert jar.cookie_header("http://h.test/a/b") == "c=1"
    assert jar.cookie_header("http://h.test/a") is None


def test_invalid_path_attribute_falls_back_to_default_path() -> None:
    """An empty Path or one not starting with '/' uses the default path (§5.2.4)."""
    jar = jar_with("http://h.test/dir/page", "a=1; Path=", "b=1; Path=rel", "c=1; Path")
    assert {c.name: c.path for c in jar} == {"a": "/dir", "b": "/dir", "c": "/dir"}


def test_last_attribute_of_a_kind_wins() -> None:
    """When an attribute repeats, the last one counts (RFC 6265 §5.3 step 1)."""
    jar = jar_with("http://h.test/", "a=1; Path=/x; Path=/y")
    assert [c.path for c in jar] == ["/y"]


# --- expiry ----------------------------------------------------------------------------------


def test_max_age_wins_over_expires_in_either_order(clock: FakeClock) -> None:
    """Max-Age sets the expiry even when Expires comes before or after it."""
    past = http_date(clock.now - 3600)
    jar = jar_with(
        "http://h.test/", f"a=1; Expires={past}; Max-Age=60", f"b=1; Max-Age=60; Expires={past}"
    )
    assert {c.name: c.expires for c in jar} == {"a": clock.now + 60, "b": clock.now + 60}


def test_expires_sets_expiry_and_session_cookies_have_none(clock: FakeClock) -> None:
    """A future Expires date is stored; no Expires/Max-Age makes a session cookie."""
    future = clock.now + 86400
    jar = jar_with("http://h.test/", f"a=1; Expires={http_date(future)}", "s=1")
    assert {c.name: c.expires for c in jar} == {"a": future, "s": None}


def test_max_age_zero_deletes_an_existing_cookie() -> None:
    """Max-Age=0 removes the stored cookie with the same name, domain and path."""
    jar = jar_with("http://h.test/", "a=1; Path=/", "keep=1; Path=/")
    jar.store("http://h.test/", ["a=gone; Path=/; Max-Age=0"])
    assert jar.cookie_header("http://h.test/") == "keep=1"
    assert "a" not in jar


def test_negative_max_age_and_past_expires_delete_existing_cookies(clock: FakeClock) -> None:
    """Max-Age=-1 and an Expires in the past both delete and store nothing."""
    jar = jar_with("http://h.test/", "a=1", "b=1")
    jar.store("http://h.test/", ["a=x; Max-Age=-1", f"b=x; Expires={http_date(clock.now - 10)}"])
    assert len(jar) == 0


def test_deletion_only_hits_the_same_path() -> None:
    """An expiring Set-Cookie with another path leaves the original cookie alone."""
    jar = jar_with("http://h.test/", "a=1; Path=/")
    jar.store("http://h.test/", ["a=1; Path=/other; Max-Age=0"])
    assert jar.cookie_header("http://h.test/") == "a=1"


def test_expired_cookies_are_never_sent_and_are_dropped(clock: FakeClock) -> None:
    """Once its expiry passes, a cookie stops being sent, counted and listed."""
    jar = jar_with("http://h.test/", "short=1; Max-Age=10", "long=1; Max-Age=1000")
    assert jar.cookie_header("http://h.test/") == "short=1; long=1"
    clock.now += 10
    assert jar.cookie_header("http://h.test/") == "long=1"
    assert len(jar) == 1 and "short" not in jar
    clock.now += 1000
    assert jar.cookie_header("http://h.test/") is None
    assert len(jar) == 0


def test_clear_expired_removes_expired_cookies(clock: FakeClock) -> None:
    """clear_expired() drops cookies past their expiry and keeps the rest."""
    jar = jar_with("http://h.test/", "a=1; Max-Age=5", "b=1")
    clock.now += 6
    jar.clear_expired()
    assert [c.name for c in jar] == ["b"]


def test_invalid_max_age_and_expires_are_ignored(clock: FakeClock) -> None:
    """A non-numeric Max-Age or unreadable Expires is ignored, keeping a session cookie."""
    jar = jar_with("http://h.test/", "a=1; Max-Age=soon", "b=1; Expires=someday", "c=1; Max-Age=+5")
    assert {c.name: c.expires for c in jar} == {"a": None, "b": None, "c": None}


def test_lifetime_is_capped_at_400_days(clock: FakeClock) -> None:
    """Max-Age and Expires beyond 400 days (RFC 6265bis), even huge ones, are capped."""
    cap = clock.now + 400 * 86400
    jar = jar_with(
        "http://h.test/",
        "a=1; Max-Age=999999999",
        "b=1; Max-Age=" + "9" * 5000,
        "c=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT",
    )
    assert {c.name: c.expires for c in jar} == {"a": cap, "b": cap, "c": cap}


# --- Secure (RFC 6265 §5.4, RFC 6265bis §5.7) ---------------------------------------------


def test_secure_cookie_is_sent_only_over_https() -> None:
    """A Secure cookie from https goes to https URLs, not to http ones."""
    jar = jar_with("https://h.test/", "s=1; Secure", "p=1")
    assert jar.cookie_header("https://h.test/") == "s=1; p=1"
    assert jar.cookie_header("http://h.test/") == "p=1"
    assert jar.cookie_header("wss://h.test/") == "s=1; p=1"


def test_secure_cookie_from_http_is_not_stored() -> None:
    """A Secure cookie set over plain http is dropped (RFC 6265bis)."""
    jar = jar_with("http://h.test/", "s=1; Secure")
    assert len(jar) == 0


def test_loopback_counts_as_a_secure_origin() -> None:
    """http://127.0.0.1, http://[::1] and http://localhost may set and receive Secure cookies."""
    jar = jar_with("http://127.0.0.1:8080/", "s=1; Secure")
    jar.store("http://localhost/", ["t=1; Secure"])
    jar.store("http://[::1]/", ["u=1; Secure"])
    assert jar.cookie_header("http://127.0.0.1:8080/") == "s=1"
    assert jar.cookie_header("http://localhost/") == "t=1"
    assert jar.cookie_header("http://[::1]/") == "u=1"


def test_http_cannot_overwrite_or_delete_a_secure_cookie() -> None:
    """Strict secure cookies: plain http cannot shadow a Secure cookie of the same name."""
    jar = jar_with("https://h.test/", "sid=good; Secure; Path=/")
    jar.store("http://h.test/", ["sid=evil; Path=/"])
    jar.store("http://h.test/", ["sid=evil; Path=/deeper"])
    jar.store("http://sub.h.test/", ["sid=evil; Domain=h.test"])
    jar.store("http://h.test/", ["sid=; Max-Age=0"])
    assert jar.cookie_header("https://h.test/deeper") == "sid=good"
    jar.store("https://h.test/", ["sid=new; Secure; Path=/"])
    assert jar.get("sid") == "new"


def test_secure_and_host_prefixes_are_enforced() -> None:
    """__Secure- needs Secure over https; __Host- also needs no Domain and Path=/."""
    jar = jar_with(
        "https://www.h.test/dir/",
        "__Secure-ok=1; Secure",
        "__Secure-bad=1",
        "__Host-ok=1; Secure; Path=/",
        "__Host-nopath=1; Secure",
        "__Host-domain=1; Secure; Path=/; Domain=h.test",
        "__host-lower=1; Path=/",
    )
    assert sorted(c.name for c in jar) == ["__Host-ok", "__Secure-ok"]
    jar.store("http://h.test/", ["__Secure-x=1"])
    assert "__Secure-x" not in jar


# --- parsing (RFC 6265 §5.2) ---------------------------------------------------------------


def test_several_set_cookie_values_in_one_response() -> None:
    """Each Set-Cookie value of a response becomes its own cookie."""
    jar = jar_with("http://h.test/", "a=1", "b=2", "c=3")
    assert jar.cookie_header("http://h.test/") == "a=1; b=2; c=3"


def test_same_name_domain_path_replaces_the_cookie() -> None:
    """A later cookie with the same (name, domain, path) replaces the earlier one."""
    jar = jar_with("http://h.test/", "a=1; Path=/")
    jar.store("http://h.test/", ["a=2; Path=/"])
    assert jar.cookie_header("http://h.test/") == "a=2"
    assert len(jar) == 1


def test_same_name_on_other_paths_are_separate_cookies() -> None:
    """Cookies with the same name but different paths are stored and sent side by side."""
    jar = jar_with("http://h.test/", "a=root; Path=/", "a=deep; Path=/x")
    assert jar.cookie_header("http://h.test/x/y") == "a=deep; a=root"
    assert len(jar) == 2


def test_quoted_values_and_equals_signs_are_kept_verbatim() -> None:
    """Quotes are part of the value (§5.2) and '=' inside a value is kept."""
    jar = jar_with("http://h.test/", 'q="hello world"', "tok=a=b==", "empty=")
    assert jar.get("q") == '"hello world"'
    assert jar.get("tok") == "a=b=="
    assert jar.get("empty") == ""
    assert jar.cookie_header("http://h.test/") == 'q="hello world"; tok=a=b==; empty='


def test_attribute_names_are_case_insensitive(clock: FakeClock) -> None:
    """PATH, dOmAiN, SECURE, max-AGE and HTTPONLY are recognised in any case."""
    jar = jar_with(
        "https://www.h.test/", "a=1; PATH=/p; dOmAiN=h.test; SECURE; max-AGE=5; HTTPONLY"
    )
    (c,) = jar
    assert (c.path, c.domain, c.secure, c.expires, c.http_only) == (
        "/p",
        "h.test",
        True,
        clock.now + 5,
        True,
    )


def test_whitespace_around_name_value_and_attributes_is_trimmed() -> None:
    """Spaces around the name, the value and attributes do not matter."""
    jar = jar_with("http://h.test/", "  a  =  1  ;  Path = /p  ")
    assert [(c.name, c.value, c.path) for c in jar] == [("a", "1", "/p")]


def test_samesite_and_httponly_are_recorded_but_do_not_block_sending() -> None:
    """HttpOnly and SameSite are kept on the cookie; a client still sends it."""
    jar = jar_with("http://h.test/", "a=1; HttpOnly; SameSite=Strict")
    (c,) = jar
    assert c.http_only and c.same_site == "Strict"
    assert jar.cookie_header("http://h.test/") == "a=1"


def test_junk_set_cookie_lines_are_ignored_without_raising() -> None:
    """Malformed values (no '=', empty name, control chars, oversize) are skipped quietly."""
    junk = [
        "",
        ";",
        "   ",
        "novalue",
        "=nameless",
        "; Path=/",
        "a=b\x00c",
        "bad\nname=1",
        "big=" + "x" * 5000,
        "x=1; Domain=",
        "y=1; Expires=Wed, 32 Foo 2030 99:99:99 GMT",
        "z=1; Max-Age=1e3; Expires=never; Path=/",
    ]
    jar = jar_with("http://h.test/", *junk, "good=1")
    assert sorted(c.name for c in jar) == ["good", "x", "y", "z"]
    assert all(c.expires is None for c in jar)
    assert "\x00" not in (jar.cookie_header("http://h.test/") or "")


def test_empty_domain_attribute_means_host_only() -> None:
    """Domain= with no value is ignored, so the cookie is host-only."""
    jar = jar_with("http://h.test/", "x=1; Domain=")
    assert jar.cookie_header("http://sub.h.test/") is None
    assert jar.cookie_header("http://h.test/") == "x=1"


# --- Cookie header order (RFC 6265 §5.4 step 2) --------------------------------------------


def test_header_orders_longer_paths_first_then_creation() -> None:
    """Longer paths come first; equal paths keep creation order, across domains too."""
    jar = CookieJar()
    jar.store("http://www.h.test/", ["first=1; Path=/"])
    jar.store("http://www.h.test/", ["dom=1; Domain=h.test; Path=/"])
    jar.store("http://www.h.test/", ["deep=1; Path=/a/b"])
    jar.store("http://www.h.test/", ["mid=1; Path=/a"])
    jar.store("http://www.h.test/", ["last=1; Path=/"])
    assert jar.cookie_header("http://www.h.test/a/b/c") == "deep=1; mid=1; first=1; dom=1; last=1"


def test_replacement_keeps_the_original_creation_time() -> None:
    """A replaced cookie keeps its place in the order (§5.3 step 11.3)."""
    jar = jar_with("http://h.test/", "a=1", "b=1")
    jar.store("http://h.test/", ["a=2"])
    assert jar.cookie_header("http://h.test/") == "a=2; b=1"


def test_deleted_and_recreated_cookie_counts_as_new() -> None:
    """A cookie deleted then set again is ordered as newly created."""
    jar = jar_with("http://h.test/", "a=1", "b=1")
    jar.store("http://h.test/", ["a=1; Max-Age=0"])
    jar.store("http://h.test/", ["a=3"])
    assert jar.cookie_header("http://h.test/") == "b=1; a=3"


# --- programmatic API ------------------------------------------------------------------------


def test_constructor_mapping_sets_cookies_for_every_host() -> None:
    """CookieJar({...}) cookies have no domain and go to any host and path."""
    jar = CookieJar({"token": "t1", "lang": "en"})
    assert jar.cookie_header("http://a.test/x") == "token=t1; lang=en"
    assert jar.cookie_header("https://b.example/") == "token=t1; lang=en"
    assert [c.domain for c in jar] == ["", ""]


def test_set_with_domain_and_path() -> None:
    """set(domain=, path=) limits the cookie like Domain and Path attributes would."""
    jar = CookieJar()
    jar.set("a", "1", domain=".Example.test", path="/api")
    assert jar.cookie_header("http://www.example.test/api/v1") == "a=1"
    assert jar.cookie_header("http://example.test/api") == "a=1"
    assert jar.cookie_header("http://example.test/") is None
    assert jar.cookie_header("http://other.test/api") is None
    assert jar.get("a", domain="example.test", path="/api") == "1"


def test_set_rejects_unsafe_names_values_and_paths() -> None:
    """set() refuses what could break or inject into the Cookie header."""
    jar = CookieJar()
    for name, value, path in [
        ("", "v", "/"),
        ("a=b", "v", "/"),
        ("a b", "v", "/"),
        ("a;b", "v", "/"),
        ("a", "v;x=1", "/"),
        ("a", "line\r\nbreak", "/"),
        ("a", "v", "relative"),
    ]:
        with pytest.raises(ValueError):
            jar.set(name, value, path=path)
    with pytest.raises(ValueError):
        jar.set("a", "v", domain="bad domain")
    assert len(jar) == 0


def test_get_returns_default_and_raises_on_conflict() -> None:
    """get() gives the default when missing and CookieConflict when ambiguous."""
    jar = jar_with("http://h.test/", "a=root; Path=/", "a=deep; Path=/x")
    assert jar.get("missing") is None
    assert jar.get("missing", "dflt") == "dflt"
    with pytest.raises(CookieConflict, match="/x"):
        jar.get("a")
    assert jar.get("a", path="/x") == "deep"
    assert jar.get("a", domain="h.test", path="/") == "root"
    assert jar.get("a", domain="other.test") is None


def test_delete_removes_matching_cookies_only() -> None:
    """delete() removes by name, optionally restricted to a domain and path."""
    jar = jar_with("http://h.test/", "a=root; Path=/", "a=deep; Path=/x", "b=1")
    jar.store("http://o.test/", ["a=o"])
    jar.delete("a", path="/x")
    assert sorted((c.domain, c.path) for c in jar if c.name == "a") == [
        ("h.test", "/"),
        ("o.test", "/"),
    ]
    jar.delete("a", domain="o.test")
    jar.delete("nothing")
    assert jar.items() == [("a", "root"), ("b", "1")]
    jar.delete("a")
    assert jar.items() == [("b", "1")]


def test_clear_all_or_one_domain() -> None:
    """clear(domain) empties one exact domain; clear() empties the jar."""
    jar = jar_with("http://a.test/", "x=1")
    jar.store("http://b.test/", ["y=1"])
    jar.store("http://sub.a.test/", ["z=1"])
    jar.clear(".A.test")
    assert sorted(c.domain for c in jar) == ["b.test", "sub.a.test"]
    jar.clear()
    assert len(jar) == 0 and jar.cookie_header("http://b.test/") is None


def test_len_iter_contains_items_and_as_dict() -> None:
    """The container methods report the live cookies in creation order."""
    jar = jar_with("http://h.test/", "a=1", "b=2")
    jar.store("http://o.test/", ["a=3"])
    assert len(jar) == 3
    assert [c.name for c in jar] == ["a", "b", "a"]
    assert all(isinstance(c, Cookie) for c in jar)
    assert "a" in jar and "zz" not in jar and 42 not in jar
    assert jar.items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert jar.as_dict() == {"a": "3", "b": "2"}


def test_reprs_do_not_show_values() -> None:
    """Neither the jar's nor a cookie's repr contains a cookie value."""
    jar = jar_with("http://example.test/", "sid=TOPSECRET")
    jar.store("http://api.example.test/", ["tok=ALSOSECRET", "x=SECRET3"])
    text = repr(jar)
    assert text == "<CookieJar 3 cookies for example.test, api.example.test>"
    assert "SECRET" not in text
    assert all("SECRET" not in repr(c) for c in jar)
    assert repr(CookieJar()) == "<CookieJar 0 cookies>"
    assert repr(CookieJar({"a": "SECRET"})) == "<CookieJar 1 cookie for *>"


def test_empty_jar_short_circuits() -> None:
    """An empty jar returns None at once, and storing no Set-Cookie values is a no-op."""
    jar = CookieJar()
    assert jar.cookie_header("http://h.test/") is None
    jar.store("http://h.test/", [])
    assert len(jar) == 0


def test_invalid_urls_raise_without_showing_the_query() -> None:
    """Relative or non-http URLs raise ValueError, and the message omits the query."""
    jar = CookieJar({"a": "1"})
    with pytest.raises(ValueError, match="absolute") as info:
        jar.cookie_header("/relative?token=SECRET")
    assert "SECRET" not in str(info.value)
    with pytest.raises(ValueError) as info:
        jar.store("ftp://user:SECRET@h.test/?token=SECRET", ["a=1"])
    assert "SECRET" not in str(info.value)
    with pytest.raises(ValueError):
        jar.store("http:///nohost", ["a=1"])


def test_per_domain_limit_evicts_the_oldest() -> None:
    """Beyond the per-domain limit the oldest cookie of that domain is evicted."""
    limit = cookies_module.MAX_COOKIES_PER_DOMAIN
    jar = CookieJar()
    jar.store("http://other.test/", ["keep=1"])
    jar.store("http://h.test/", [f"c{i}=1" for i in range(limit + 2)])
    names = [c.name for c in jar if c.domain == "h.test"]
    assert len(names) == limit
    assert names[0] == "c2" and names[-1] == f"c{limit + 1}"
    assert "keep" in jar


def test_dummy_cookie_jar_stores_and_sends_nothing(tmp_path: Path) -> None:
    """DummyCookieJar ignores Set-Cookie, set(), load() and save()."""
    target = tmp_path / "cookies.json"
    jar = DummyCookieJar({"a": "1"}, path=target)
    jar.store("http://h.test/", ["b=2"])
    jar.set("c", "3")
    jar.load()
    jar.save()
    assert jar.cookie_header("http://h.test/") is None
    assert len(jar) == 0
    assert not target.exists()
    assert repr(jar) == "<DummyCookieJar 0 cookies>"


def test_module_imports_no_http_library() -> None:
    """fasthttp.cookies imports neither aiohttp nor httpx."""
    source = Path(cookies_module.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"aiohttp", "httpx", "httpx2", "requests"}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


# --- persistence -------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path, clock: FakeClock) -> None:
    """save()/load() keep every field, session cookies and the creation order."""
    jar = CookieJar()
    jar.store(
        "https://www.h.test/dir/page",
        [
            "sid=s1; Secure; HttpOnly; SameSite=Lax",
            "dom=d; Domain=h.test; Path=/; Max-Age=600",
            'q="quoted value"; Path=/dir',
            "eq=a=b",
        ],
    )
    jar.set("any", "x")
    target = tmp_path / "jar.json"
    jar.save(target)
    loaded = CookieJar()
    loaded.load(target)
    assert list(loaded) == list(jar)
    url = "https://www.h.test/dir/x"
    assert loaded.cookie_header(url) == jar.cookie_header(url)


def test_save_can_skip_session_cookies(tmp_path: Path) -> None:
    """save(ignore_discard=False) writes only cookies with an expiry."""
    jar = jar_with("http://h.test/", "session=1", "persistent=1; Max-Age=600")
    target = tmp_path / "jar.json"
    jar.save(target, ignore_discard=False)
    assert [c.name for c in CookieJar(path=target)] == ["persistent"]


def test_load_skips_expired_cookies(tmp_path: Path, clock: FakeClock) -> None:
    """Cookies that expired while on disk are not loaded."""
    jar = jar_with("http://h.test/", "short=1; Max-Age=5", "long=1; Max-Age=500")
    target = tmp_path / "jar.json"
    jar.save(target)
    clock.now += 60
    assert [c.name for c in CookieJar(path=target)] == ["long"]


def test_constructor_path_missing_file_starts_empty_and_save_uses_it(tmp_path: Path) -> None:
    """CookieJar(path=missing) starts empty and save() writes to that path."""
    target = tmp_path / "new.json"
    jar = CookieJar({"a": "1"}, path=target)
    assert len(jar) == 1
    jar.save()
    assert [c.name for c in CookieJar(path=target)] == ["a"]


def test_constructor_cookies_override_the_file(tmp_path: Path) -> None:
    """Cookies passed to the constructor replace same-key cookies loaded from path."""
    target = tmp_path / "jar.json"
    CookieJar({"a": "old", "b": "kept"}, path=target).save()
    jar = CookieJar({"a": "new"}, path=target)
    assert jar.as_dict() == {"a": "new", "b": "kept"}


def test_save_is_private_and_atomic(tmp_path: Path) -> None:
    """The file gets mode 0o600 (even replacing a 0o644 one) and no temp file is left."""
    target = tmp_path / "jar.json"
    target.write_text("old")
    target.chmod(0o644)
    CookieJar({"a": "1"}).save(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jar.json"]
    assert json.loads(target.read_text())["format"] == "fasthttp-cookies"


def test_failed_save_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the final rename fails, the previous file is intact and the temp file is gone."""
    target = tmp_path / "jar.json"
    CookieJar({"a": "1"}).save(target)
    before = target.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        CookieJar({"b": "2"}).save(target)
    assert target.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jar.json"]


def test_save_without_any_path_raises() -> None:
    """save() and load() need a path from the call or the constructor."""
    with pytest.raises(ValueError, match="path"):
        CookieJar().save()
    with pytest.raises(ValueError, match="path"):
        CookieJar().load()


def test_explicit_load_of_missing_file_raises(tmp_path: Path) -> None:
    """load(path) of a file that does not exist raises FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        CookieJar().load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"not json at all", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "format"),
        (b'{"format": "fasthttp-cookies", "version": 99, "cookies": []}', "version"),
        (b'{"format": "fasthttp-cookies", "version": 1, "cookies": {}}', "'cookies' must be"),
        (b'{"format": "fasthttp-cookies", "version": 1, "cookies": [1]}', "cookies[0]"),
        (
            b'{"format": "fasthttp-cookies", "version": 1, "cookies": [{"name": "a"}]}',
            "cookies[0].value",
        ),
        (
            b'{"format": "fasthttp-cookies", "version": 1, "cookies": [{"name": "a", '
            b'"value": "1", "domain": "", "path": "/", "expires": "soon"}]}',
            "expires",
        ),
        (
            b'{"format": "fasthttp-cookies", "version": 1, "cookies": [{"name": "a", '
            b'"value": "1\\r\\nX: y", "domain": "", "path": "/"}]}',
            "control character",
        ),
    ],
)
def test_corrupt_file_raises_value_error_naming_path(
    tmp_path: Path, content: bytes, fault: str
) -> None:
    """A corrupt cookie file raises ValueError with the path and the fault; nothing loads."""
    target = tmp_path / "bad.json"
    target.write_bytes(content)
    jar = CookieJar({"keep": "1"})
    with pytest.raises(ValueError, match=re.escape(fault)) as info:
        jar.load(target)
    assert str(target) in str(info.value)
    assert jar.items() == [("keep", "1")]
    with pytest.raises(ValueError):
        CookieJar(path=target)


def test_loaded_file_with_unicode_and_surrogates_round_trips(tmp_path: Path) -> None:
    """Non-ASCII and undecodable (surrogate-escaped) values survive save/load."""
    jar = jar_with("http://h.test/", "u=ünïcødé", "s=\udcff\udcfe")
    target = tmp_path / "jar.json"
    jar.save(target)
    assert CookieJar(path=target).items() == [("u", "ünïcødé"), ("s", "\udcff\udcfe")]


def test_cookie_is_expired_helper() -> None:
    """Cookie.is_expired compares the expiry to now (session cookies never expire)."""
    assert not Cookie("a", "1", "h.test").is_expired()
    assert Cookie("a", "1", "h.test", expires=time.time() - 1).is_expired()
    assert not Cookie("a", "1", "h.test", expires=100.0).is_expired(now=50.0)
