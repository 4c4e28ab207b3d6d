"""Headers every response carries, and the ones only HTTPS responses should."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, request

CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
COMMON = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def client_key(remote_addr: str | None) -> str:
    """Who a per-client limit counts: the address the trusted proxy saw (ProxyFix has put it in
    REMOTE_ADDR), and for IPv6 its /64, the block one subscriber line is given."""
    if not remote_addr:
        return "unknown"
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def pinned_location(location: str, base_url: str) -> str:
    """A redirect's Location, kept on FEEDSVC_BASE_URL's host.

    Werkzeug builds absolute redirects (a merged `//` or a trailing slash) from Host or, through
    ProxyFix, X-Forwarded-Host: a client could make them point anywhere (issue 14.3). A Location
    naming another host (or `//host`, which browsers read as one) is moved onto the base URL's.
    """
    parts = urlsplit(location)
    if not parts.netloc and not location.startswith(("//", "\\", "/\\")):
        return location  # relative: it stays on whatever host the client reached us by
    base = urlsplit(base_url)
    if parts.scheme in ("http", "https", "") and parts.netloc.lower() == base.netloc.lower():
        return location
    path = parts.path if parts.netloc else "/" + location.lstrip("/\\")
    return urlunsplit((base.scheme, base.netloc, path or "/", parts.query, parts.fragment))


def install(app: Flask, base_url: str) -> None:
    @app.after_request
    def headers(resp: Response) -> Response:
        if resp.location:
            resp.location = pinned_location(resp.location, base_url)
        for name, value in COMMON:
            resp.headers.setdefault(name, value)
        resp.headers.setdefault("Content-Security-Policy", CSP)
        # Behind the PaaS router ProxyFix has turned X-Forwarded-Proto into the request's scheme.
        if request.is_secure:
            resp.headers.setdefault(*HSTS)
        return resp
