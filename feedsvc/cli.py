"""The `feedsvc` command."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import parsing
from .clock import SYSTEM_CLOCK
from .config import (
    Settings,
    load_settings,
    production_warnings,
    serve_base_url,
    with_laptop_secret,
)
from .logs import setup_logging
from .model import SUBSCRIBER_STATES, ConfigError, FeedsvcError, ParseError
from .report import Classifier, report_lines

if TYPE_CHECKING:
    from .ingest import Ingester
    from .runs.postman import Postman
    from .services import Services
    from .storage import Storage

log = logging.getLogger("feedsvc")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    setup_logging(settings.log_level)
    return settings


def open_services(settings: Settings, *, upgrade: bool = True) -> Services:
    """The command's services (build_services, with the real clock), the schema brought up to date."""
    from .services import build_services

    try:
        services = build_services(settings, SYSTEM_CLOCK)
        if upgrade:
            services.storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    return services


def make_ingester(settings: Settings, storage: Storage) -> Ingester:
    """An Ingester over an already open storage (tests, benchmarks), wired as every command's is."""
    from .services import build_services

    return build_services(settings, SYSTEM_CLOCK, storage=storage).ingester()


def _postman(services: Services) -> Postman:
    try:
        return services.postman()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


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
    classify = None if as_json else _parse_classifier()
    width = max(40, min(shutil.get_terminal_size((80, 24)).columns, 80))
    for path in files:
        try:
            parsed = parsing.parse_file_with_warnings(path)
        except ParseError as exc:
            click.echo(f"feedsvc parse: {exc}", err=True)
            failed += 1
            continue
        except OSError as exc:
            click.echo(f"feedsvc parse: {path}: {exc.strerror or exc}", err=True)
            failed += 1
            continue
        if as_json:
            # Other tools score the JSON: its shape stays, and warnings go beside it.
            out.extend(r.to_json() for r in parsed.releases)
            for warning in parsed.warnings:
                click.echo(f"feedsvc parse: warning: {warning}", err=True)
        else:
            for line in report_lines(str(path), parsed.releases, parsed.warnings, classify, width):
                click.echo(line)
            click.echo()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


def _parse_classifier() -> Classifier | None:
    """classify() with the configured taxonomy, or None after saying in one line why there is none."""
    from .topics import classify, load_taxonomy

    try:
        taxonomy = load_taxonomy(load_settings().topics_file)
    except ConfigError as exc:
        click.echo(f"topics not shown: {exc}")
        click.echo()
        return None
    return lambda release: classify(release, taxonomy)


@main.command()
def ingest() -> None:
    """Scan the content folder once and store what changed."""
    services = open_services(_settings())
    try:
        result = services.ingester().scan(progress=_Progress("scanning"))
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.lines():
        click.echo(line)
    if not services.publisher.flush(10):
        click.echo("some WebSub hub pings were still pending after 10 s and were dropped", err=True)


@main.command()
def watch() -> None:
    """Watch the content folder and ingest every change until stopped."""
    from .watcher import Watcher

    services = open_services(_settings())
    watcher = Watcher(services.ingester(), rescan_seconds=services.settings.rescan_seconds)
    watcher.start()
    _wait_for_signal()
    watcher.stop()


@main.command()
def scheduler() -> None:
    """The clock process: watcher, periodic rescan and digests on schedule."""
    from .scheduler import Clock as DigestClock
    from .watcher import Watcher

    settings = _settings()
    if not settings.secret_key:
        raise click.ClickException("SECRET_KEY is not set: digests carry signed links and need it")
    try:
        warnings = production_warnings(settings)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    for warning in warnings:
        log.warning("configuration: %s", warning)
    services = open_services(settings)
    ingester = services.ingester()
    # The content that shipped with this deploy is stored before any digest is planned.
    for line in ingester.scan(progress=_Progress("scanning")).lines():
        log.info("first scan: %s", line)
    watcher = Watcher(ingester, rescan_seconds=settings.rescan_seconds)
    watcher.start()
    clock = DigestClock(_postman(services), settings)
    clock.start()
    confirmations = services.start_confirmation_worker()  # also those the web processes queue
    _wait_for_signal()
    log.info("stopping: the digest in flight finishes its current message; the rest resumes later")
    clock.stop()
    confirmations.stop()
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
    storage = open_services(_settings(), upgrade=False).storage
    try:
        storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database {storage.safe_url} at revision {storage.current_revision()}")


@main.command()
@click.option("--send-now", is_flag=True, help="Make a run now, whatever the schedule, and send it.")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default=None,
              help="Only this frequency (default: both).")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; plan and send nothing.")
@click.option("--preview", metavar="EMAIL", default=None, help="Print the digest EMAIL would get now.")
def digest(send_now: bool, frequency: str | None, dry_run: bool, preview: str | None) -> None:
    """Send digests: resume unfinished work, or make a run now with --send-now."""
    from .model import FREQUENCIES, Delivery

    services = open_services(with_laptop_secret(_settings()))
    storage = services.storage
    postman = _postman(services)
    freqs = (frequency,) if frequency else FREQUENCIES
    if preview or dry_run:
        until = storage.max_seq()
        if preview:
            found = storage.get_subscriber_by_email(preview.strip().lower())
            if found is None:
                raise click.ClickException(f"no subscriber {preview}")
            subs = [found]
        else:
            subs = [s for s in storage.iter_subscribers("confirmed") if s.frequency in freqs]
        would = 0
        for sub in subs:
            since = storage.subscriber_cursor(sub.id)
            d = Delivery(0, 0, sub.id, sub.email, sub.topics, sub.frequency, "preview", since,
                         until, False, 0)
            msg = postman.preview(d)
            if preview:
                click.echo(msg.as_string() if msg else f"{sub.email}: nothing new since the last digest")
            elif msg is not None:
                would += 1
                click.echo(f"would send to {sub.email}: {msg['Subject']}")
        if dry_run:
            click.echo(f"dry run: {would} digests would be sent; nothing was planned or sent")
        return
    # Confirmation emails queued by sign-ups go first: a reader waits on those, not on a digest.
    confirmations = services.confirmations().send_queued()
    if confirmations.sent or confirmations.failed or confirmations.retry_later:
        click.echo(confirmations.line())
    if send_now:
        runs = postman.manual_runs(freqs)
        click.echo(f"planned run(s) {', '.join(map(str, runs))}")
    report = postman.send_pending()
    click.echo(report.line())


@main.group()
def subscribers() -> None:
    """Manage digest subscribers."""


def _parse_topics(raw: str, settings: Settings) -> tuple[str, ...]:
    from .topics import load_taxonomy

    slugs = tuple(dict.fromkeys(raw.replace(",", " ").split()))
    known = set(load_taxonomy(settings.topics_file).slugs)
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ValueError(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return slugs


def _checked_email(raw: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"{raw!r} is not a valid email address: {exc}") from None


@subscribers.command("add")
@click.argument("email")
@click.option("--topics", default="", help="Topic slugs, space or comma separated (default: all).")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="weekly", show_default=True)
def subscribers_add(email: str, topics: str, frequency: str) -> None:
    """Add a confirmed subscriber (the office holds their consent)."""
    services = open_services(_settings())
    try:
        new = services.storage.add_confirmed(_checked_email(email), _parse_topics(topics, services.settings),
                                             frequency, services.clock())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(("added " if new else "updated ") + email)


@subscribers.command("remove")
@click.argument("email")
def subscribers_remove(email: str) -> None:
    """Forget a subscriber entirely."""
    storage = open_services(_settings()).storage
    if not storage.remove_subscriber(email.strip().lower()):
        raise click.ClickException(f"no subscriber {email}")
    click.echo(f"removed {email}")


@subscribers.command("list")
@click.option("--state", type=click.Choice(SUBSCRIBER_STATES))
def subscribers_list(state: str | None) -> None:
    """List subscribers."""
    storage = open_services(_settings()).storage
    for s in storage.iter_subscribers(state):
        click.echo(f"{s.email}\t{s.state}\t{s.frequency}\t{' '.join(s.topics) or '(all)'}")


@subscribers.command("export")
def subscribers_export() -> None:
    """Write confirmed subscribers as CSV (email,topics,frequency) to standard output."""
    import csv

    storage = open_services(_settings()).storage
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["email", "topics", "frequency"])
    for s in storage.iter_subscribers("confirmed"):
        out.writerow([s.email, " ".join(s.topics), s.frequency])


@subscribers.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def subscribers_import(csv_file: Any) -> None:
    """Import confirmed subscribers from a CSV file with columns email,topics,frequency."""
    import csv

    services = open_services(_settings())
    storage, settings = services.storage, services.settings
    reader = csv.DictReader(csv_file)
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise click.ClickException("the CSV file needs a header row with at least an 'email' column")
    added = updated = 0
    errors: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        try:
            frequency = (row.get("frequency") or "weekly").strip().lower()
            if frequency not in ("daily", "weekly"):
                raise ValueError(f"frequency {frequency!r} must be daily or weekly")
            new = storage.add_confirmed(_checked_email(row.get("email") or ""),
                                        _parse_topics(row.get("topics") or "", settings), frequency,
                                        services.clock())
        except ValueError as exc:
            errors.append(f"line {line_no}: {exc}")
            continue
        added += new
        updated += not new
    for e in errors:
        click.echo(e, err=True)
    click.echo(f"imported: {added} added, {updated} updated, {len(errors)} rejected")
    if errors:
        sys.exit(1)


def serve_settings(settings: Settings, port: int) -> Settings:
    """`serve`'s settings: links from http://localhost:PORT (the port it listens on) unless FEEDSVC_BASE_URL is set."""
    import dataclasses

    return dataclasses.replace(settings, base_url=serve_base_url(settings, port))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
def serve(host: str, port: int | None) -> None:
    """Run everything in one process: web, watcher and scheduler (for a laptop)."""
    from werkzeug.serving import make_server

    from .watcher import Watcher

    settings = _settings()
    port = port or settings.port
    settings = serve_settings(with_laptop_secret(settings), port)
    services = open_services(settings)
    ingester = services.ingester()
    result = ingester.scan(progress=_Progress("scanning"))
    for line in result.lines():
        log.info("first scan: %s", line)
    watcher = Watcher(ingester, rescan_seconds=settings.rescan_seconds)
    watcher.start()
    from .scheduler import Clock as DigestClock

    clock = DigestClock(_postman(services), settings)
    clock.start()
    # Sign-ups queue their confirmation email; this thread sends it as soon as the request is done.
    confirmations = services.start_confirmation_worker()

    from .app import create_app

    # The same services: web, watcher and scheduler share one Storage (one pool) in this process.
    app = create_app(services=services)
    server = make_server(host, port, app, threaded=True)
    click.echo(f"feedsvc: serving {settings.content_dir} at http://{host}:{server.port}/, links from "
               f"{settings.base_url}/ "
               f"(database {services.storage.safe_url}); Ctrl-C stops")
    thread = threading.Thread(target=server.serve_forever, name="feedsvc-web", daemon=True)
    thread.start()
    _wait_for_signal()
    log.info("stopping")
    server.shutdown()
    clock.stop()
    confirmations.stop()
    watcher.stop()


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Lay out a new office's FOLDER: releases/, topics.toml, .env.example."""
    from .scaffold import lay_out

    try:
        made = lay_out(folder)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for path in made:
        click.echo(f"created {path}{'/' if path.is_dir() else ''}")
    releases, topics, env = made
    click.echo(f"""
Next:
  1. edit {topics} to name your topics (the default is a starting point);
  2. copy {env.name} to .env, or export the settings it lists, then run from {env.parent}:
       FEEDSVC_CONTENT_DIR={releases} FEEDSVC_TOPICS={topics} feedsvc serve
  3. drop listing files (.txt, .html, .md) into {releases}/: they are published within seconds.""")


@main.command()
@click.option("--release", is_flag=True,
              help="Release phase of a deploy: an SMTP server out of reach is a warning, not a failure.")
def check(release: bool) -> None:
    """Say whether this deployment will work: settings, database, SMTP, content, taxonomy."""
    from .check import run_checks

    findings = run_checks(smtp_optional=release)
    for finding in findings:
        for line in finding.lines():
            click.echo(line)
    problems = sum(f.status == "problem" for f in findings)
    if problems:
        raise click.ClickException(f"{problems} problem{'s' if problems > 1 else ''} to fix before this deployment works")
    click.echo("all checks passed")


if __name__ == "__main__":
    main()
