"""SMTP_URL: what it may say, and the settings it gives the mailer.

Its own module so that configuration (config.py, at start-up) and the mailer read it alike,
without configuration importing the mail stack.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from .model import ConfigError

Security = Literal["plain", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"plain": 25, "starttls": 587, "tls": 465}


@dataclasses.dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    timeout: float = 30.0


def parse_smtp_url(url: str) -> SmtpSettings:
    """`smtp://user:pass@host:port`, `…?starttls=1` or `smtp+starttls://` (STARTTLS), `smtps://` (implicit TLS)."""

    def invalid(reason: str) -> ConfigError:
        # Never the URL itself: it carries the password.
        return ConfigError(f"SMTP_URL is invalid: {reason} (expected smtp://[user:password@]host[:port]"
                           "[?starttls=1], smtp+starttls://… or smtps://…)")

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise invalid("malformed host or port") from None
    security: Security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}.get(
        parts.scheme.lower(), "")  # type: ignore[assignment]
    if not security:
        raise invalid(f"unknown scheme {parts.scheme!r}")
    if not parts.hostname:
        raise invalid("no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise invalid("unexpected path or fragment")
    timeout = 30.0
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "starttls" and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            wanted = value.lower() in ("1", "true", "yes")
            if (security == "tls" and wanted) or (security == "starttls" and not wanted):
                raise invalid(f"starttls={value} contradicts the scheme {parts.scheme}")
            security = "starttls" if wanted else security
        elif name == "timeout" and re.fullmatch(r"\d+(\.\d+)?", value) and float(value) > 0:
            timeout = float(value)
        else:
            raise invalid(f"unknown or bad option {name!r}")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username == "" or (username is not None and password is None):
        raise invalid("a user needs both a name and a password")
    if not f"{username}{password}".isascii():
        raise invalid("the user name and password must be ASCII (smtplib sends them so)")
    return SmtpSettings(parts.hostname, port or DEFAULT_PORTS[security], security, username, password, timeout)
