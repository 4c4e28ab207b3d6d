"""The `feedsvc` command: `main` and the process commands; the rest by area in this package."""

from __future__ import annotations

import logging
import threading

import click

from ..config import Settings
from ..config_modes import production_warnings, serve_base_url, with_laptop_secret
from ..model import ConfigError
from ..services import Services
from . import bounces, content, deploy, mail
from .bounces import bounce_reader
from .common import (
    Progress,
    make_ingester,
    open_services,
    postman_or_exit,
    settings_or_exit,
    wait_for_signal,
)

__all__ = ["main", "make_ingester", "open_services", "serve_settings"]

log = logging.getLogger("feedsvc")


class Background:
    """What `scheduler` and `serve` run beside their main loop, started in this order: the first
    scan (the content that shipped with a deploy is stored before any digest is planned), the
    watcher, the digest clock, the confirmation worker."""

    def __init__(self, services: Services) -> None:
        from ..scheduler import Clock as DigestClock
        from ..watcher import Watcher

        settings = services.settings
        ingester = services.ingester()
        for line in ingester.scan(progress=Progress("scanning")).lines():
            log.info("first scan: %s", line)
        self.watcher = Watcher(ingester, rescan_seconds=settings.rescan_seconds)
        self.watcher.start()
        self.clock = DigestClock(postman_or_exit(services), settings, services.publisher,
                                 read_bounces=bounce_reader(services))
        self.clock.start()
        self.confirmations = services.start_confirmation_worker()

    def stop(self) -> None:
        """The clock first: the digest in flight finishes its current message."""
        self.clock.stop()
        self.confirmations.stop()
        self.watcher.stop()


@click.group()
@click.version_option(package_name="feedsvc")
def main() -> None:
    """Press releases in a folder → Atom feeds per topic and an email digest."""


@main.command()
def scheduler() -> None:
    """The clock process: watcher, periodic rescan and digests on schedule."""
    settings = settings_or_exit()
    if not settings.secret_key:
        raise click.ClickException("SECRET_KEY is not set: digests carry signed links and need it")
    try:
        warnings = production_warnings(settings)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    for warning in warnings:
        log.warning("configuration: %s", warning)
    background = Background(open_services(settings))  # also the confirmations web processes queue
    wait_for_signal()
    log.info("stopping: the digest in flight finishes its current message; the rest resumes later")
    background.stop()


def serve_settings(settings: Settings, port: int) -> Settings:
    """`serve`'s settings: links from http://localhost:PORT (the port it listens on) unless FEEDSVC_BASE_URL
    is set; no proxy trusted unless FEEDSVC_PROXY_HOPS says so (a laptop's browser talks to it directly,
    so an X-Forwarded-For it sends is the client's own say)."""
    import dataclasses

    hops = 0 if settings.proxy_hops is None else settings.proxy_hops
    return dataclasses.replace(settings, base_url=serve_base_url(settings, port), proxy_hops=hops)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
def serve(host: str, port: int | None) -> None:
    """Run everything in one process: web, watcher and scheduler (for a laptop)."""
    from werkzeug.serving import make_server

    settings = settings_or_exit()
    port = port or settings.port
    settings = serve_settings(with_laptop_secret(settings), port)
    services = open_services(settings)
    # Sign-ups queue their confirmation email; its worker sends it as soon as the request is done.
    background = Background(services)

    from ..app import create_app

    # The same services: web, watcher and scheduler share one Storage (one pool) in this process.
    app = create_app(services=services)
    server = make_server(host, port, app, threaded=True)
    click.echo(f"feedsvc: serving {settings.content_dir} at http://{host}:{server.port}/, links from "
               f"{settings.base_url}/ "
               f"(database {services.storage.safe_url}); Ctrl-C stops")
    thread = threading.Thread(target=server.serve_forever, name="feedsvc-web", daemon=True)
    thread.start()
    wait_for_signal()
    log.info("stopping")
    server.shutdown()
    background.stop()


for command in (content.parse, content.ingest, content.watch, content.db, mail.digest, mail.sender, mail.subscribers,
                bounces.bounces, deploy.init, deploy.check):
    main.add_command(command)
