"""`feedsvc check`'s findings about bounces: the return path's domain, and the bounce mailbox reachable."""

from __future__ import annotations

from collections.abc import Callable

from ..check import Finding
from ..config import Settings
from ..model import ConfigError
from .mailbox import MailboxError, open_mailbox
from .mailbox_url import parse_mailbox
from .verp import PREFIX


def bounce_findings(settings: Settings, mx_lookup: Callable[[str], list[str]]) -> list[Finding]:
    return [_return_path(settings, mx_lookup), _mailbox(settings)]


def _webhooks(settings: Settings) -> list[str]:
    return [name for name, on in (("SES", settings.ses_topic_arns), ("Postmark", settings.postmark_user)) if on]


def _return_path(settings: Settings, mx_lookup: Callable[[str], list[str]]) -> Finding:
    domain = settings.bounce_domain
    if not domain:
        hooks = _webhooks(settings)
        if hooks:
            return Finding("bounce return path", "ok", f"FEEDSVC_BOUNCE_DOMAIN unset; bounces come through the "
                           f"{' and '.join(hooks)} webhook")
        return Finding("bounce return path", "ok", "FEEDSVC_BOUNCE_DOMAIN unset: bounces go back to MAIL_FROM "
                       "and are not read, only refusals while sending are seen (README: Bounces)")
    where = f"MAIL FROM {PREFIX}<token>@{domain}"
    if not settings.smtp_url:
        return Finding("bounce return path", "ok", f"{where} (outbox only: its MX is checked when SMTP_URL is set)")
    try:
        hosts = mx_lookup(domain)
    except Exception as exc:  # noqa: BLE001 - any resolver failure (timeout, NXDOMAIN, no network) is the same here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return Finding("bounce return path", "warning", f"{where}; its MX could not be looked up ({reason})",
                       f"publish an MX record for {domain} that delivers into FEEDSVC_BOUNCE_MAILBOX")
    if not hosts:
        return Finding("bounce return path", "problem", f"{where}, but {domain} has no MX record: bounces "
                       "cannot reach us, and some receivers refuse mail from a domain that takes none",
                       f"publish an MX record for {domain} that delivers into FEEDSVC_BOUNCE_MAILBOX")
    return Finding("bounce return path", "ok", f"{where}; MX {', '.join(sorted(hosts))}")


def _mailbox(settings: Settings) -> Finding:
    if not settings.bounce_mailbox:
        if settings.bounce_domain:
            return Finding("bounce mailbox", "warning", "FEEDSVC_BOUNCE_MAILBOX unset: bounces reach "
                           f"{settings.bounce_domain} but nothing reads them",
                           "set FEEDSVC_BOUNCE_MAILBOX to the mailbox that domain delivers into")
        return Finding("bounce mailbox", "ok", "FEEDSVC_BOUNCE_MAILBOX unset: no mailbox is read")
    try:
        mailbox_settings = parse_mailbox(settings.bounce_mailbox)
        box = open_mailbox(mailbox_settings)
    except (ConfigError, MailboxError) as exc:
        return Finding("bounce mailbox", "problem", str(exc),
                       "check FEEDSVC_BOUNCE_MAILBOX's host, port, user, password and folder (or path)")
    try:
        waiting = box.count()
    except MailboxError as exc:
        return Finding("bounce mailbox", "problem", str(exc), "check the folder and the user's rights")
    finally:
        box.close()
    hint = "" if settings.bounce_domain else "; FEEDSVC_BOUNCE_DOMAIN unset, so bounces are matched by address only"
    return Finding("bounce mailbox", "ok", f"{mailbox_settings.where()}: reachable, {waiting} "
                   f"{'message' if waiting == 1 else 'messages'} waiting (nothing read or moved){hint}")


def dns_mx(domain: str) -> list[str]:
    """The MX hosts of `domain`, through the system's resolver, giving up after 3 seconds (none: [])."""
    import dns.resolver

    try:
        answer = dns.resolver.resolve(domain, "MX", lifetime=3.0)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return []
    return [str(rdata.exchange).rstrip(".") for rdata in answer]
