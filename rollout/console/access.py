"""Who may talk to the console: one secret token per start, checked on every request, and a
same-origin check on every request that changes something.

The token is made anew by each `rollout console` (`secrets.token_urlsafe`, 256 bits) and
printed in its URL, as Jupyter does. The first visit with `?token=` sets it as an
HttpOnly, SameSite=Strict cookie (named after the port: cookies on 127.0.0.1 are shared by
every port) and redirects to the same page without it, so the token leaves the address bar
and its history. Scripts may send it as `Authorization: Bearer TOKEN` instead.

A request that changes something (POST) also needs an `Origin` equal to the console's own
and a JSON body: a page on another origin can neither send that without a CORS preflight
(which the console never answers) nor read any answer. The `Host` header must name the
address the console listens on, so a DNS-rebinding page can't reach it under another name.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Access:
    token: str
    host: str  # the address listened on
    port: int

    @property
    def cookie_name(self) -> str:
        return f"rollout-console-{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{_bracketed(self.host)}:{self.port}"

    def url(self, path: str = "/") -> str:
        """What `rollout console` prints: the page, with the token."""
        return f"{self.origin}{path}?token={self.token}"

    def set_cookie(self) -> str:
        return f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def host_allowed(self, host_header: str | None) -> bool:
        """The Host names this console: its address (or another name for loopback)."""
        if not host_header:
            return False
        name, _, port = host_header.rpartition(":")
        if not name or port != str(self.port):
            return False
        name = name.strip("[]").lower()
        if self.host in WILDCARDS:  # every address of the machine: the token guards it
            return True
        names = {self.host.lower()}
        if self.host in LOOPBACK:
            names |= LOOPBACK
        return name in names

    def token_given(self, headers: Mapping[str, str], query_token: str | None) -> bool:
        """The token came with the request: in the query, the cookie, or a Bearer header."""
        candidates = [query_token, self._cookie(headers.get("Cookie")), _bearer(headers)]
        return any(
            candidate is not None and hmac.compare_digest(candidate, self.token)
            for candidate in candidates
        )

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """A state-changing request came from the console's own page: its Origin is ours
        (under the Host it was loaded from), the browser doesn't call it cross-site, and
        its body is JSON (so a cross-origin page would need a preflight)."""
        origin, host = headers.get("Origin"), headers.get("Host")
        if not origin or not host or origin != f"http://{host}" or not self.host_allowed(host):
            return False
        if headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
            return False
        content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        return content_type == "application/json"

    def _cookie(self, header: str | None) -> str | None:
        if not header:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            return None
        morsel = jar.get(self.cookie_name)
        return morsel.value if morsel is not None else None


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")
