"""Commands over the content folder and the schema: parse, ingest, watch, db."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from .. import parsing
from ..config import load_settings
from ..model import ConfigError, FeedsvcError, ParseError
from ..report import Classifier, report_lines
from .common import Progress, open_services, settings_or_exit, wait_for_signal


@click.command()
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
    from ..topics import classify, load_taxonomy

    try:
        taxonomy = load_taxonomy(load_settings().topics_file)
    except ConfigError as exc:
        click.echo(f"topics not shown: {exc}")
        click.echo()
        return None
    return lambda release: classify(release, taxonomy)


@click.command()
def ingest() -> None:
    """Scan the content folder once and store what changed."""
    services = open_services(settings_or_exit())
    try:
        result = services.ingester().scan(progress=Progress("scanning"))
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.lines():
        click.echo(line)
    if not services.publisher.flush(10):
        click.echo("some WebSub hub pings were still pending after 10 s and were dropped", err=True)


@click.command()
def watch() -> None:
    """Watch the content folder and ingest every change until stopped."""
    from ..watcher import Watcher

    services = open_services(settings_or_exit())
    watcher = Watcher(services.ingester(), rescan_seconds=services.settings.rescan_seconds)
    watcher.start()
    wait_for_signal()
    watcher.stop()


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    storage = open_services(settings_or_exit(), upgrade=False).storage
    try:
        storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database {storage.safe_url} at revision {storage.current_revision()}")
