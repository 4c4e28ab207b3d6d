"""Every setting feedsvc reads, from the environment, in one place.

Nothing else in the package reads os.environ: callers get a `Settings` and pass it on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .languages import LanguageTagError, checked_tag
from .locales import DEFAULT_LOCALE, LOCALES
from .model import ConfigError
from .resources import DEFAULT_TOPICS, TEMPLATES_DIR

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    instance_dir: Path
    content_dir: Path
    topics_file: Path
    templates_dir: Path
    secret_key: str | None
    base_url: str
    tag_authority: str
    organisation: str
    language: str
    smtp_url: str | None
    mail_from: str
    timezone: str
    daily_at: dt.time
    weekly_on: str
    websub_hub: str | None
    admin_token: str | None
    log_level: str
    port: int
    rescan_seconds: int
    max_file_bytes: int
    feed_max_age: int
    feed_recheck_seconds: float
    mail_rate: float
    mail_connections: int
    debug: bool
    # Whether FEEDSVC_BASE_URL / MAIL_FROM were set, not defaulted (production needs the one,
    # and warns about the other when SMTP_URL is set).
    base_url_given: bool = True
    mail_from_given: bool = True
    # DKIM: the PEM (read from the file when DKIM_PRIVATE_KEY names one), never shown in a repr.
    dkim_private_key: bytes | None = dataclasses.field(default=None, repr=False)
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    # Bounces and complaints (issue 16 item 4): VERP return paths, the bounce mailbox, the webhooks.
    bounce_domain: str | None = None
    bounce_mailbox: str | None = dataclasses.field(default=None, repr=False)  # may carry a password
    ses_topic_arns: tuple[str, ...] = ()
    postmark_user: str | None = None
    postmark_password: str | None = dataclasses.field(default=None, repr=False)
    # X-Forwarded-For hops to trust; None when FEEDSVC_PROXY_HOPS is not set: create_app() then
    # trusts one (the PaaS router), `feedsvc serve` none (nothing stands in front of a laptop).
    proxy_hops: int | None = None
    # Permanent refusals in a row, for that many different domains, that pause sending (relay.py).
    relay_failures: int = 20
    max_media_bytes: int = 20_000_000
    # Pages kept rendered per web process (web/pagecache.py); 0 renders every request.
    page_cache_mb: int = 32
    # The public face (issue 17 item 6): the name pages show, the logo file, the accent of each theme.
    site_name: str = "Press office"
    logo: Path | None = None
    accent: str = "#0b57d0"
    accent_dark: str = "#0b57d0"
    # The language of a release whose file states none and whose text cannot be told (issue 17 item 2).
    default_language: str = "en"
    # The interface's language when neither the reader's choice nor Accept-Language names one of ours.
    default_locale: str = "en"

    @property
    def outbox_dir(self) -> Path:
        return self.instance_dir / "outbox"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={raw!r} must be at most {maximum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


def _path(env: Mapping[str, str], name: str, default: str, base: Path) -> Path:
    raw = env.get(name, "").strip() or default
    path = Path(raw)
    return path if path.is_absolute() else (base / path)


def normalise_database_url(url: str, instance_dir: Path) -> str:
    """Accept the `postgres://` scheme PaaS providers hand out, and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel and rel != ":memory:" and rel.startswith("instance/"):
            url = "sqlite:///" + str(instance_dir / rel[len("instance/"):])
    if not re.match(r"^(sqlite|postgresql\+psycopg)(\+\w+)?://", url):
        raise ConfigError(f"DATABASE_URL must be a sqlite:// or postgres(ql):// URL, not {url.split(':', 1)[0]!r}")
    return url


def load_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None,
                  overrides: Mapping[str, object] | None = None) -> Settings:
    """Read every setting; raise ConfigError naming the first bad one.

    `overrides` (create_app's test_config) replace variables of the environment by name.
    """
    env = os.environ if env is None else env
    if overrides:
        env = {**env, **{k: str(v) for k, v in overrides.items()}}
    base = cwd or Path.cwd()
    instance_dir = _path(env, "FEEDSVC_INSTANCE_DIR", "instance", base)
    database_url = normalise_database_url(
        env.get("DATABASE_URL", "").strip() or "sqlite:///instance/feedsvc.sqlite3", instance_dir)

    base_url = (env.get("FEEDSVC_BASE_URL", "").strip() or "http://localhost:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"FEEDSVC_BASE_URL={base_url!r} must be an absolute http(s) URL")

    tz = env.get("FEEDSVC_TIMEZONE", "").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"FEEDSVC_TIMEZONE={tz!r} is not a known time zone") from None

    daily_raw = env.get("FEEDSVC_DAILY_AT", "").strip() or "08:00"
    try:
        daily_at = dt.time.fromisoformat(daily_raw)
    except ValueError:
        raise ConfigError(f"FEEDSVC_DAILY_AT={daily_raw!r} must be a time such as 08:00") from None

    weekly_on = (env.get("FEEDSVC_WEEKLY_ON", "").strip() or "mon")[:3].lower()
    if weekly_on not in WEEKDAYS:
        raise ConfigError(f"FEEDSVC_WEEKLY_ON={env.get('FEEDSVC_WEEKLY_ON')!r} must be a weekday (mon … sun)")

    level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL={level!r} must be DEBUG, INFO, WARNING or ERROR")

    smtp_url = env.get("SMTP_URL", "").strip() or None
    if smtp_url:
        # Checked at start-up, not at the first email: a typo'd scheme would otherwise tell
        # subscribers to wait for mail that never leaves (issue 15.4).
        from .smtp_url import parse_smtp_url

        parse_smtp_url(smtp_url)

    hub = env.get("FEEDSVC_WEBSUB_HUB", "").strip() or None
    if hub and urlsplit(hub).scheme not in ("http", "https"):
        raise ConfigError(f"FEEDSVC_WEBSUB_HUB={hub!r} must be an http(s) URL")

    mail_from = env.get("MAIL_FROM", "").strip() or "Press office <noreply@localhost>"
    dkim_key, dkim_selector, dkim_domain = _dkim(env, mail_from)
    bounce_domain, bounce_mailbox = _bounces(env)
    postmark_user, postmark_password = _postmark(env)
    content_dir = _path(env, "FEEDSVC_CONTENT_DIR", "data/releases", base)
    organisation = env.get("FEEDSVC_ORGANISATION", "").strip() or "Press office"
    accent, accent_dark = _accent(env)

    language = env.get("FEEDSVC_LANGUAGE", "").strip() or "en"
    default_name = "FEEDSVC_DEFAULT_LANGUAGE" if env.get("FEEDSVC_DEFAULT_LANGUAGE", "").strip() else "FEEDSVC_LANGUAGE"
    try:
        default_language = checked_tag(env.get("FEEDSVC_DEFAULT_LANGUAGE", "").strip() or language)
    except LanguageTagError as exc:
        raise ConfigError(f"{default_name} (the default release language): {exc}") from None

    return Settings(
        database_url=database_url,
        instance_dir=instance_dir,
        content_dir=content_dir,
        topics_file=_path(env, "FEEDSVC_TOPICS", str(DEFAULT_TOPICS), base),
        templates_dir=TEMPLATES_DIR,
        secret_key=env.get("SECRET_KEY", "").strip() or None,
        base_url=base_url,
        tag_authority=env.get("FEEDSVC_TAG_AUTHORITY", "").strip() or parts.hostname,
        organisation=organisation,
        language=language,
        default_language=default_language,
        smtp_url=smtp_url,
        mail_from=mail_from,
        timezone=tz,
        daily_at=daily_at,
        weekly_on=weekly_on,
        websub_hub=hub,
        admin_token=env.get("FEEDSVC_ADMIN_TOKEN", "").strip() or None,
        log_level=level,
        port=_int(env, "PORT", 8000, 1),
        rescan_seconds=_int(env, "FEEDSVC_RESCAN_SECONDS", 300, 1),
        max_file_bytes=_int(env, "FEEDSVC_MAX_FILE_BYTES", 20_000_000, 1),
        feed_max_age=_int(env, "FEEDSVC_FEED_MAX_AGE", 300),
        feed_recheck_seconds=_float(env, "FEEDSVC_FEED_RECHECK", 2.0),
        page_cache_mb=_int(env, "FEEDSVC_PAGE_CACHE_MB", 32, 0),
        mail_rate=_float(env, "FEEDSVC_MAIL_RATE", 0.0),
        # Each connection's thread keeps a database connection: 16 stays inside the pool's room.
        mail_connections=_int(env, "FEEDSVC_MAIL_CONNECTIONS", 4, 1, 16),
        debug=(env.get("FEEDSVC_DEBUG", "").strip().lower() in ("1", "true", "yes")),
        base_url_given=bool(env.get("FEEDSVC_BASE_URL", "").strip()),
        mail_from_given=bool(env.get("MAIL_FROM", "").strip()),
        dkim_private_key=dkim_key,
        dkim_selector=dkim_selector,
        dkim_domain=dkim_domain,
        bounce_domain=bounce_domain,
        bounce_mailbox=bounce_mailbox,
        ses_topic_arns=_topic_arns(env),
        postmark_user=postmark_user,
        postmark_password=postmark_password,
        proxy_hops=_int(env, "FEEDSVC_PROXY_HOPS", 0, 0, 10) if env.get("FEEDSVC_PROXY_HOPS", "").strip() else None,
        relay_failures=_int(env, "FEEDSVC_RELAY_FAILURES", 20, 0),
        max_media_bytes=_int(env, "FEEDSVC_MAX_MEDIA_BYTES", 20_000_000, 1),
        site_name=" ".join(env.get("FEEDSVC_SITE_NAME", "").split())[:200] or organisation,
        logo=_logo(env, content_dir),
        accent=accent,
        accent_dark=accent_dark,
        default_locale=_locale(env),
    )


# A logo's suffix → what its first bytes must be (a file named .png that is not one is refused).
LOGO_TYPES = {".svg": (b"<",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
              ".jpeg": (b"\xff\xd8\xff",), ".webp": (b"RIFF",)}
MAX_LOGO_BYTES = 1_000_000


def _logo(env: Mapping[str, str], content_dir: Path) -> Path | None:
    raw = env.get("FEEDSVC_LOGO", "").strip()
    if not raw:
        return None
    if "://" in raw or raw.startswith("//"):
        raise ConfigError(f"FEEDSVC_LOGO={raw!r} is a URL: give the path of a file in the content folder "
                          "(pages load images only from their own site)")
    path = Path(raw) if Path(raw).is_absolute() else content_dir / raw
    suffix = path.suffix.lower()
    if suffix not in LOGO_TYPES:
        raise ConfigError(f"FEEDSVC_LOGO={raw!r} must be a {', '.join(sorted(LOGO_TYPES))} file")
    try:
        with path.open("rb") as f:
            head = f.read(MAX_LOGO_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"FEEDSVC_LOGO={raw!r}: cannot read {path}: {exc.strerror or exc}") from None
    if len(head) > MAX_LOGO_BYTES:
        raise ConfigError(f"FEEDSVC_LOGO={raw!r} is larger than {MAX_LOGO_BYTES:,} bytes")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n") if suffix == ".svg" else head
    if not start.startswith(LOGO_TYPES[suffix]) or (suffix == ".svg" and b"<svg" not in head):
        raise ConfigError(f"FEEDSVC_LOGO={raw!r}: {path.name} is not a {suffix[1:].upper()} file")
    return path


def _accent(env: Mapping[str, str]) -> tuple[str, str]:
    from .brand import DEFAULT_ACCENT, AccentError, checked_accent

    raw = env.get("FEEDSVC_ACCENT", "").strip() or DEFAULT_ACCENT
    try:
        accent = checked_accent(raw)
    except AccentError as exc:
        raise ConfigError(f"FEEDSVC_ACCENT: {exc}") from None
    return accent.light, accent.dark


def _locale(env: Mapping[str, str]) -> str:
    raw = env.get("FEEDSVC_DEFAULT_LOCALE", "").strip() or DEFAULT_LOCALE
    if raw not in LOCALES:
        raise ConfigError(f"FEEDSVC_DEFAULT_LOCALE={raw!r} must be one of {', '.join(LOCALES)}")
    return raw


# A DNS name: labels of letters, digits and inner hyphens, at least two of them.
_DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")
# arn:aws:sns:<region>:<account>:<topic> (aws-cn and aws-us-gov partitions too)
_TOPIC_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")


def _bounces(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    domain = env.get("FEEDSVC_BOUNCE_DOMAIN", "").strip().lower().rstrip(".") or None
    if domain is not None and not _DOMAIN.fullmatch(domain):
        raise ConfigError(f"FEEDSVC_BOUNCE_DOMAIN={domain!r} must be a domain name such as bounces.example.org")
    mailbox = env.get("FEEDSVC_BOUNCE_MAILBOX", "").strip() or None
    if mailbox is not None:
        from .bounces.mailbox_url import parse_mailbox

        parse_mailbox(mailbox)  # checked at start-up, as SMTP_URL is; the message never shows the password
    return domain, mailbox


def _topic_arns(env: Mapping[str, str]) -> tuple[str, ...]:
    arns = tuple(a.strip() for a in env.get("FEEDSVC_SES_TOPIC_ARN", "").split(",") if a.strip())
    for arn in arns:
        if not _TOPIC_ARN.fullmatch(arn):
            raise ConfigError(f"FEEDSVC_SES_TOPIC_ARN: {arn!r} is not an SNS topic ARN "
                              "(arn:aws:sns:REGION:ACCOUNT:TOPIC)")
    return arns


def _postmark(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    user = env.get("FEEDSVC_POSTMARK_WEBHOOK_USER", "").strip() or None
    password = env.get("FEEDSVC_POSTMARK_WEBHOOK_PASSWORD", "").strip() or None
    if (user is None) != (password is None):
        given, missing = (("FEEDSVC_POSTMARK_WEBHOOK_USER", "FEEDSVC_POSTMARK_WEBHOOK_PASSWORD") if user
                          else ("FEEDSVC_POSTMARK_WEBHOOK_PASSWORD", "FEEDSVC_POSTMARK_WEBHOOK_USER"))
        raise ConfigError(f"{given} is set but {missing} is not: the Postmark webhook needs both")
    return user, password


def _dkim(env: Mapping[str, str], mail_from: str) -> tuple[bytes | None, str | None, str | None]:
    raw_key, selector = env.get("DKIM_PRIVATE_KEY", "").strip(), env.get("DKIM_SELECTOR", "").strip()
    if not raw_key and not selector:
        return None, None, None
    if not raw_key or not selector:
        given, missing = ("DKIM_SELECTOR", "DKIM_PRIVATE_KEY") if selector else ("DKIM_PRIVATE_KEY", "DKIM_SELECTOR")
        raise ConfigError(f"{given} is set but {missing} is not: DKIM signing needs both")
    from email.utils import parseaddr

    from .transport.dkim import SELECTOR, DkimKeyError, read_private_key

    if not SELECTOR.fullmatch(selector):
        raise ConfigError(f"DKIM_SELECTOR={selector!r} must be a DNS name such as 'feedsvc2026'")
    domain = (env.get("DKIM_DOMAIN", "").strip() or parseaddr(mail_from)[1].rpartition("@")[2]).lower().rstrip(".")
    if not domain or not SELECTOR.fullmatch(domain) or "." not in domain:
        raise ConfigError(f"DKIM_DOMAIN={domain!r} must be the domain the mail is sent from, such as example.org "
                          "(it defaults to MAIL_FROM's)")
    try:
        key = read_private_key(raw_key)
    except DkimKeyError as exc:
        raise ConfigError(f"DKIM_PRIVATE_KEY: {exc}") from None
    return key, selector, domain
