"""The `feedsvc` command."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from . import parsing
from .config import Settings, load_settings
from .logs import setup_logging
from .model import ConfigError, FeedsvcError, ParseError

log = logging.getLogger("feedsvc")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    setup_logging(settings.log_level)
    return settings


def open_storage(settings: Settings, *, upgrade: bool = True) -> Any:
    from .storage import Storage

    try:
        storage = Storage(settings.database_url)
        if upgrade:
            storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    return storage


def make_ingester(settings: Settings, storage: Any) -> Any:
    from .ingest import Ingester
    from .publish import Publisher

    publisher = Publisher(storage, settings)
    return Ingester(storage, settings.content_dir, settings.topics_file,
                    tag_authority=settings.tag_authority, max_file_bytes=settings.max_file_bytes,
                    on_feeds_changed=publisher.after_scan)


class _Progress:
    """A bar on a terminal; a log line every tenth of the way elsewhere (CI, a PaaS log)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.last = 0

    def __call__(self, done: int, total: int) -> None:
        if total < 50:
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.last)
            self.last = done
            if done == total:
                self.bar.__exit__(None, None, None)
        elif done * 10 // total != self.last * 10 // total or done == total:
            click.echo(f"{self.label}: {done}/{total} files", err=True)
            self.last = done


@click.group()
@click.version_option(package_name="feedsvc")
def main() -> None:
    """Press releases in a folder → Atom feeds per topic and an email digest."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of the releases.")
def parse(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse listing FILES and print their releases (the database is not touched)."""
    out: list[dict[str, Any]] = []
    failed = 0
    for path in files:
        try:
            releases = parsing.parse_file(path)
        except ParseError as exc:
            click.echo(f"feedsvc parse: {exc}", err=True)
            failed += 1
            continue
        except OSError as exc:
            click.echo(f"feedsvc parse: {path}: {exc.strerror or exc}", err=True)
            failed += 1
            continue
        out.extend(r.to_json() for r in releases)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for r in out:
            click.echo(f"{r['source_file']}#{r['position']}  {r['id']}  {r['date'] or '-':10}  "
                       f"{r['location'] or '-'}  {r['title']}")
    if failed:
        sys.exit(1)


@main.command()
def ingest() -> None:
    """Scan the content folder once and store what changed."""
    settings = _settings()
    storage = open_storage(settings)
    try:
        result = make_ingester(settings, storage).scan(progress=_Progress("scanning"))
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.lines():
        click.echo(line)


@main.command()
def watch() -> None:
    """Watch the content folder and ingest every change until stopped."""
    from .watcher import Watcher

    settings = _settings()
    storage = open_storage(settings)
    watcher = Watcher(make_ingester(settings, storage), rescan_seconds=settings.rescan_seconds)
    watcher.start()
    _wait_for_signal()
    watcher.stop()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    settings = _settings()
    storage = open_storage(settings, upgrade=False)
    try:
        storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database {storage.safe_url} at revision {storage.current_revision()}")


def _laptop_secret(settings: Settings) -> Settings:
    """`serve` works with nothing set: a key generated once and kept in instance/."""
    import dataclasses
    import secrets

    if settings.secret_key:
        return settings
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return dataclasses.replace(settings, secret_key=path.read_text().strip())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
def serve(host: str, port: int | None) -> None:
    """Run everything in one process: web, watcher and scheduler (for a laptop)."""
    from werkzeug.serving import make_server

    from .watcher import Watcher

    settings = _laptop_secret(_settings())
    storage = open_storage(settings)
    ingester = make_ingester(settings, storage)
    result = ingester.scan(progress=_Progress("scanning"))
    for line in result.lines():
        log.info("first scan: %s", line)
    watcher = Watcher(ingester, rescan_seconds=settings.rescan_seconds)
    watcher.start()

    from .app import create_app

    env = {"SECRET_KEY": settings.secret_key or ""}
    app = create_app(env)
    server = make_server(host, port or settings.port, app, threaded=True)
    click.echo(f"feedsvc: serving {settings.content_dir} at http://{host}:{server.port}/ "
               f"(database {storage.safe_url}); Ctrl-C stops")
    thread = threading.Thread(target=server.serve_forever, name="feedsvc-web", daemon=True)
    thread.start()
    _wait_for_signal()
    log.info("stopping")
    server.shutdown()
    watcher.stop()


if __name__ == "__main__":
    main()
