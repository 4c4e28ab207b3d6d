"""`create_app()`: wiring only. Configuration comes from the environment through config.load_settings."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .clock import SYSTEM_CLOCK
from .config import Settings, load_settings
from .config_modes import production_warnings
from .model import ConfigError
from .services import Services, build_services
from .web.feedserver import FeedServer, xsl_pages

# Proxies in front of a production web process when FEEDSVC_PROXY_HOPS is not set: the PaaS router.
PAAS_PROXY_HOPS = 1


def create_app(test_config: Mapping[str, Any] | None = None, *, services: Services | None = None) -> Flask:
    """The web application. `test_config` overrides environment variables by name.

    `services` is the process's own when the app shares it (`feedsvc serve`: one Storage for
    the web, the watcher and the scheduler); otherwise the app builds its own.
    """
    if services is None:
        settings = load_settings(overrides=test_config)
        if not settings.secret_key:
            if not settings.debug:
                raise ConfigError("SECRET_KEY is not set: production refuses to start without it "
                                  "(`feedsvc serve` keeps a generated one in instance/ for a laptop)")
            # A fresh key per start, never a known one: a debug app reachable from elsewhere
            # must not accept sessions or links forged with a key everyone can read (issue 14.3).
            settings = _with_secret(settings, secrets.token_urlsafe(48))
        if not settings.debug:
            for warning in production_warnings(settings):
                logging.getLogger("feedsvc").warning("configuration: %s", warning)
        services = build_services(settings, SYSTEM_CLOCK)
    settings = services.settings
    if not settings.secret_key:
        raise ConfigError("SECRET_KEY is not set: the app signs sessions and links with it")

    app = Flask("feedsvc", template_folder=str(settings.templates_dir), static_folder=None)
    app.config.update(SECRET_KEY=settings.secret_key, FEEDSVC_SETTINGS=settings,
                      DEBUG=settings.debug, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
                      # WTForms' own messages ("This field is required.") from its catalogues, in
                      # Flask-Babel's locale (web/i18n.request_locale): Flask-WTF's default, kept on.
                      WTF_I18N_ENABLED=True)
    app.extensions["feedsvc"] = services

    from flask_wtf.csrf import CSRFProtect
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .web import admin, brand, formats, health, i18n, media, pagecache, pages, search, security, subscribe, webhooks

    csrf = CSRFProtect(app)
    i18n.install(app, settings.default_locale)
    app.register_blueprint(pages.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(formats.bp)
    app.register_blueprint(subscribe.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(brand.bp)
    brand.install(app, settings, services.links)
    security.install(app, settings.base_url)
    # RFC 8058: the mailbox provider's one-click POST carries no CSRF token; the signed URL is the proof.
    csrf.exempt(subscribe.unsubscribe)
    # Bounce webhooks prove themselves by SNS's signature or Postmark's basic auth, not a form token.
    csrf.exempt(webhooks.bp)
    # Likewise a confirmation's POST: the signed link is the proof (and a mail app's browser may
    # keep no cookie between the page and its button).
    csrf.exempt(subscribe.confirm)
    # The short sign-up form of kept pages has no token (web/pagecache.py): the view checks the
    # form's own, and without a valid one subscribes nobody but shows the form again, with one.
    csrf.exempt(subscribe.subscribe)
    pages.register_errors(app)
    pagecache.install(app)

    # Pages kept per version of what they show (web/pagecache.py); the feed server stands in front.
    # Pages differ by the interface language too: the cache keys them on web/i18n's choice.
    page_cache = pagecache.PageCache(
        app.wsgi_app, services.storage.pages_version, lambda: services.taxonomy().digest,
        max_bytes=settings.page_cache_mb * 1_000_000,
        variant=lambda environ: f"{pagecache.variant(environ)}:{i18n.environ_locale(environ, settings.default_locale)}")
    app.extensions["feedsvc.page_cache"] = page_cache
    feed_server = FeedServer(page_cache, services.storage, recheck_seconds=settings.feed_recheck_seconds,
                             max_age=settings.feed_max_age, extra_headers=security.COMMON,
                             page_of=xsl_pages(settings.templates_dir / "feed.xsl"),
                             page_headers=[("Content-Security-Policy", security.CSP)])
    app.extensions["feedsvc.feed_server"] = feed_server
    # FEEDSVC_PROXY_HOPS proxies stand in front (by default the PaaS router, `serve` none): only
    # the X-Forwarded-* values they appended are believed; what a client wrote there itself is not.
    hops = PAAS_PROXY_HOPS if settings.proxy_hops is None else settings.proxy_hops
    app.wsgi_app = ProxyFix(feed_server, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def _with_secret(settings: Settings, key: str) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, secret_key=key)
