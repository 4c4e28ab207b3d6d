"""Headers every response carries, and the ones only HTTPS responses should."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
COMMON = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def install(app: Flask) -> None:
    @app.after_request
    def headers(resp: Response) -> Response:
        for name, value in COMMON:
            resp.headers.setdefault(name, value)
        resp.headers.setdefault("Content-Security-Policy", CSP)
        # Behind the PaaS router ProxyFix has turned X-Forwarded-Proto into the request's scheme.
        if request.is_secure:
            resp.headers.setdefault(*HSTS)
        return resp
