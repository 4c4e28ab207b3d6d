"""`feedsvc check`: will this deployment work? One finding per check, each with how to fix it.

Checks only look: no message is sent, nothing is written, no migration is run.
"""

from __future__ import annotations

import dataclasses
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import email_validator

from .config import Settings, load_settings
from .config_modes import MIN_SECRET_KEY, is_loopback
from .model import ConfigError, StorageError
from .smtp_url import SmtpSettings, parse_smtp_url
from .topics import load_taxonomy

Status = Literal["ok", "warning", "problem"]


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{self.status:<8} {self.check}: {self.detail}"]
        if self.fix and self.status != "ok":
            out.append(f"{'':<8} fix: {self.fix}")
        return out


#: A DNS name -> its TXT records, each one string; raises when the lookup fails.
TxtLookup = Callable[[str], list[str]]
#: A domain -> the host names of its MX records; raises when the lookup fails.
MxLookup = Callable[[str], list[str]]


def run_checks(env: Mapping[str, str] | None = None, *, smtp_optional: bool = False,
               txt_lookup: TxtLookup | None = None, mx_lookup: MxLookup | None = None) -> list[Finding]:
    """Every check, in the order an operator fixes them; later checks need the settings.

    `txt_lookup` answers the DKIM record's lookup, `mx_lookup` the bounce domain's (default:
    dnspython with a short timeout).
    """
    from .bounces.check import bounce_findings, dns_mx  # it builds Findings: imported once they exist

    try:
        settings = load_settings(env)
    except ConfigError as exc:
        return [Finding("settings", "problem", str(exc), "correct that variable (README: Configuration)")]
    production = not settings.debug
    return [
        Finding("settings", "ok", "every variable is valid"),
        _secret(settings, production),
        _base_url(settings, production),
        _database(settings),
        _smtp(settings, smtp_optional),
        _mail_from(settings),
        _dkim(settings, txt_lookup or dns_txt),
        *bounce_findings(settings, mx_lookup or dns_mx),
        _content(settings.content_dir),
        _taxonomy(settings.topics_file),
    ]


def _secret(settings: Settings, production: bool) -> Finding:
    if settings.secret_key and production and len(settings.secret_key) < MIN_SECRET_KEY:
        return Finding("SECRET_KEY", "problem", f"{len(settings.secret_key)} characters: the web process "
                       f"refuses fewer than {MIN_SECRET_KEY}",
                       "set SECRET_KEY to a long random string, e.g. "
                       'python3 -c "import secrets; print(secrets.token_urlsafe(48))"')
    if settings.secret_key:
        return Finding("SECRET_KEY", "ok", "set")
    if not production:
        return Finding("SECRET_KEY", "ok", "unset; debug mode and `feedsvc serve` make their own")
    return Finding("SECRET_KEY", "problem", "unset: the web process refuses to start without it",
                   "set SECRET_KEY to a long random string, e.g. "
                   'python3 -c "import secrets; print(secrets.token_urlsafe(48))"')


def _base_url(settings: Settings, production: bool) -> Finding:
    if production and not settings.base_url_given:
        return Finding("FEEDSVC_BASE_URL", "problem", "unset: feeds and emails would link to localhost",
                       "set FEEDSVC_BASE_URL to the public https address")
    parts = urlsplit(settings.base_url)
    if production and parts.scheme != "https" and not is_loopback(parts.hostname or ""):
        return Finding("FEEDSVC_BASE_URL", "problem", f"{settings.base_url} is plain http on a public host",
                       "serve over https and set FEEDSVC_BASE_URL=https://…")
    return Finding("FEEDSVC_BASE_URL", "ok", settings.base_url)


def _database(settings: Settings) -> Finding:
    import sqlalchemy as sa

    from .storage import Storage

    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database or "").exists():
        # Opening would create an empty file: a check only looks.
        return Finding("database", "problem", f"{url.database} does not exist yet", "run `feedsvc db upgrade`")
    try:
        storage = Storage(settings.database_url)
    except StorageError as exc:
        return Finding("database", "problem", str(exc), "check DATABASE_URL")
    where = storage.safe_url
    try:
        current, head = storage.current_revision(), storage.head_revision()
    except StorageError as exc:
        return Finding("database", "problem", f"{where}: cannot connect: {_first_line(exc)}",
                       "check DATABASE_URL's host, port and credentials, and that the server runs")
    finally:
        storage.close()
    if current != head:
        return Finding("database", "problem", f"{where}: schema at {current or 'nothing'}, latest is {head}",
                       "run `feedsvc db upgrade`")
    return Finding("database", "ok", f"{where}: reachable, schema at the latest migration ({head})")


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__
    orig = getattr(cause, "orig", None) or cause or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else orig.__class__.__name__


def probe(s: SmtpSettings) -> str:
    """Connect, EHLO, STARTTLS or TLS as configured, AUTH if a user is given; send nothing."""
    context = ssl.create_default_context()
    conn: smtplib.SMTP
    if s.security == "tls":
        conn = smtplib.SMTP_SSL(s.host, s.port, timeout=min(s.timeout, 10), context=context)
    else:
        conn = smtplib.SMTP(s.host, s.port, timeout=min(s.timeout, 10))
    try:
        conn.ehlo_or_helo_if_needed()
        if s.security == "starttls":
            conn.starttls(context=context)
            conn.ehlo()
        if s.username is not None:
            conn.login(s.username, s.password or "")
        steps = {"plain": "EHLO", "starttls": "EHLO, STARTTLS", "tls": "TLS, EHLO"}[s.security]
        return steps + (", AUTH" if s.username is not None else "")
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def _smtp(settings: Settings, optional: bool) -> Finding:
    if not settings.smtp_url:
        return Finding("SMTP server", "warning" if not settings.debug else "ok",
                       f"SMTP_URL unset: mail is written to {settings.outbox_dir}, not sent",
                       "set SMTP_URL to your relay (smtp+starttls://user:password@host:587)")
    try:
        smtp = parse_smtp_url(settings.smtp_url)
    except ConfigError as exc:
        return Finding("SMTP server", "problem", str(exc), "correct SMTP_URL")
    where = f"{smtp.host}:{smtp.port}"
    try:
        done = probe(smtp)
    except smtplib.SMTPAuthenticationError as exc:
        return Finding("SMTP server", "problem", f"{where} refused the user name or password ({exc.smtp_code})",
                       "correct the user and password in SMTP_URL")
    except ssl.SSLCertVerificationError as exc:
        return Finding("SMTP server", "problem", f"{where}: TLS certificate refused: {exc.verify_message}",
                       "use the relay's real host name, or fix its certificate")
    except smtplib.SMTPNotSupportedError as exc:
        return Finding("SMTP server", "problem", f"{where}: {exc}",
                       "use smtps:// or smtp:// as the relay supports")
    except (smtplib.SMTPException, OSError) as exc:
        reason = f"{where}: cannot connect: {exc or exc.__class__.__name__}"
        if optional:  # a relay outage at deploy time must not block the deploy
            return Finding("SMTP server", "warning", reason, "digests wait and retry; check the relay")
        return Finding("SMTP server", "problem", reason, "check SMTP_URL's host and port, and the firewall")
    return Finding("SMTP server", "ok", f"{where}: {done} ok (no message sent)")


def _mail_from(settings: Settings) -> Finding:
    _name, address = parseaddr(settings.mail_from)
    if not settings.smtp_url:
        return Finding("MAIL_FROM", "ok", f"{address} (outbox only: checked when SMTP_URL is set)")
    try:
        domain = email_validator.validate_email(address, check_deliverability=False).domain
    except email_validator.EmailNotValidError as exc:
        return Finding("MAIL_FROM", "problem", f"{settings.mail_from!r}: {exc}",
                       'set MAIL_FROM to "Office name <press@your-domain>"')
    if domain in ("localhost", "localdomain", "example.com") or domain.endswith((".local", ".localhost", ".example")):
        return Finding("MAIL_FROM", "problem", f"{address}: receivers reject mail from {domain}",
                       "use an address on a domain you own, with SPF and DKIM for the relay")
    return Finding("MAIL_FROM", "ok", address)


def _content(folder: Path) -> Finding:
    if not folder.is_dir():
        return Finding("content folder", "problem", f"{folder} is not a folder",
                       "set FEEDSVC_CONTENT_DIR, or `feedsvc init DIR`")
    try:
        with os.scandir(folder) as entries:
            count = sum(1 for _ in entries)
    except OSError as exc:
        return Finding("content folder", "problem", f"{folder}: cannot be read: {exc.strerror}",
                       "give the service's user read access")
    return Finding("content folder", "ok", f"{folder} ({count} entries)")


def _taxonomy(path: Path) -> Finding:
    try:
        taxonomy = load_taxonomy(path)
    except ConfigError as exc:
        return Finding("taxonomy", "problem", str(exc), "correct the file (README: Topics)")
    return Finding("taxonomy", "ok", f"{path} ({len(taxonomy.topics)} topics)")


def dns_txt(name: str) -> list[str]:
    """The TXT records at `name`, through the system's resolver, giving up after 3 seconds."""
    import dns.resolver

    answer = dns.resolver.resolve(name, "TXT", lifetime=3.0)
    return [b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer]


def _dkim(settings: Settings, lookup: TxtLookup) -> Finding:
    from .transport.dkim import published_key, signer_for

    signer = signer_for(settings)
    if signer is None:
        return Finding("DKIM", "ok", "DKIM_PRIVATE_KEY and DKIM_SELECTOR unset: mail goes out unsigned")
    record, name = signer.dns_record(), signer.record_name
    publish = f'publish at {name} the TXT record "{record}"'
    try:
        published = [key for txt in lookup(name) if (key := published_key(txt)) is not None]
    except Exception as exc:  # noqa: BLE001 - any resolver failure (timeout, NXDOMAIN, no network) is the same to the operator
        return Finding("DKIM", "warning", f"could not look it up ({_first_line(exc)}); {publish}",
                       "publish the record, then run `feedsvc check` where DNS is reachable")
    if not published:
        return Finding("DKIM", "problem", f"{name} has no DKIM record: receivers cannot check the signature; {publish}",
                       "publish that record at your DNS host")
    if published_key(record) not in published:
        return Finding("DKIM", "problem", f"{name} publishes a different key than DKIM_PRIVATE_KEY's: "
                       f"signatures will fail; {publish}",
                       "replace the published record, or set DKIM_PRIVATE_KEY to the key it belongs to")
    return Finding("DKIM", "ok", f"signing as d={signer.domain} s={signer.selector}; the record published at "
                   f"{name} matches the key: \"{record}\"")
