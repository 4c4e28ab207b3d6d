"""Production or a laptop: what each asks of the settings `config.load_settings` read.

Production (`create_app()` without debug, `feedsvc scheduler`) refuses to start without what it
cannot guess and warns of what looks wrong; `feedsvc serve` on a laptop works with nothing set, so
it fills in its own base URL and secret. Reads no environment: that is config.py's alone.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from .config import Settings
from .model import ConfigError

#: Sessions and emailed links are signed with SECRET_KEY: a short one can be guessed offline.
MIN_SECRET_KEY = 32


def production_warnings(settings: Settings) -> list[str]:
    """Check a production process's settings: ConfigError without FEEDSVC_BASE_URL; the warnings to log.

    Production is `create_app()` without debug, and `feedsvc scheduler`; `feedsvc serve` is a laptop's.
    """
    if not settings.base_url_given:
        raise ConfigError("FEEDSVC_BASE_URL is not set: production refuses to start without the public "
                          "address its feeds and emails link to (`feedsvc serve` uses http://localhost:$PORT)")
    if settings.secret_key is not None and len(settings.secret_key) < MIN_SECRET_KEY:
        raise ConfigError(f"SECRET_KEY has {len(settings.secret_key)} characters: production needs at least "
                          f"{MIN_SECRET_KEY} (make one with: python -c 'import secrets; "
                          "print(secrets.token_urlsafe(48))')")
    warnings: list[str] = []
    parts = urlsplit(settings.base_url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        warnings.append(f"FEEDSVC_BASE_URL={settings.base_url!r} is plain http on a host other than "
                        "loopback: links in feeds and emails will not be encrypted")
    if settings.smtp_url and not settings.mail_from_given:
        warnings.append(f"MAIL_FROM is not set while SMTP_URL is: emails go out from {settings.mail_from!r}")
    return warnings


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    import ipaddress

    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_base_url(settings: Settings, port: int) -> str:
    """The base of `feedsvc serve`'s links: FEEDSVC_BASE_URL if set, else the port it listens on."""
    return settings.base_url if settings.base_url_given else f"http://localhost:{port}"


def with_laptop_secret(settings: Settings) -> Settings:
    """`serve` works with nothing set: a SECRET_KEY generated once and kept in instance/."""
    import secrets

    if settings.secret_key:
        return settings
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return dataclasses.replace(settings, secret_key=path.read_text().strip())
