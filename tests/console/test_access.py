"""Who may talk to the console: the token, the Host, the same-origin check, and the page's
rule that nothing from AWS is ever parsed as markup."""

from __future__ import annotations

import re

from rollout.console.access import Access, is_loopback, new_token
from rollout.console.server import SECURITY_HEADERS, STATIC

ACCESS = Access(token="s3cret-token", host="127.0.0.1", port=8080)


def test_each_start_makes_a_new_token_of_256_bits():
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 43 for t in tokens)


def test_the_token_comes_in_the_query_the_cookie_or_a_bearer_header():
    assert ACCESS.token_given({}, "s3cret-token")
    assert ACCESS.token_given({"Cookie": "other=1; rollout-console-8080=s3cret-token"}, None)
    assert ACCESS.token_given({"Authorization": "Bearer s3cret-token"}, None)
    assert not ACCESS.token_given({}, None)
    assert not ACCESS.token_given({}, "s3cret-tokeN")
    assert not ACCESS.token_given({"Cookie": "rollout-console-9090=s3cret-token"}, None)
    assert not ACCESS.token_given({"Authorization": "Basic s3cret-token"}, None)


def test_the_cookie_is_http_only_and_strictly_same_site():
    cookie = ACCESS.set_cookie()
    assert cookie.startswith("rollout-console-8080=s3cret-token;")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_the_host_must_name_the_console():
    assert ACCESS.host_allowed("127.0.0.1:8080")
    assert ACCESS.host_allowed("localhost:8080")
    assert not ACCESS.host_allowed("127.0.0.1:9090")
    assert not ACCESS.host_allowed("evil.example:8080")  # DNS rebinding
    assert not ACCESS.host_allowed(None)
    assert Access("t", "0.0.0.0", 8080).host_allowed("192.0.2.7:8080")


def test_a_state_changing_request_must_come_from_the_consoles_own_page():
    own = {
        "Host": "127.0.0.1:8080",
        "Origin": "http://127.0.0.1:8080",
        "Content-Type": "application/json",
    }
    assert ACCESS.same_origin(own)
    assert ACCESS.same_origin(own | {"Sec-Fetch-Site": "same-origin"})
    assert not ACCESS.same_origin({k: v for k, v in own.items() if k != "Origin"})
    assert not ACCESS.same_origin(own | {"Origin": "http://evil.example"})
    assert not ACCESS.same_origin(own | {"Sec-Fetch-Site": "same-site"})
    assert not ACCESS.same_origin(own | {"Content-Type": "text/plain"})  # no preflight needed


def test_only_loopback_counts_as_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.7")


def test_the_page_runs_only_its_own_scripts_and_styles():
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"


def test_the_pages_scripts_never_parse_text_as_markup():
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    for script in STATIC.glob("*.js"):
        code = script.read_text()
        allowed = code.replace('name === "textContent" || name === "innerHTML"', "")
        assert not sinks.search(allowed), f"{script.name} uses an HTML sink"
    assert "<script>" not in (STATIC / "index.html").read_text()  # no inline script
