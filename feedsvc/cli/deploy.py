"""Commands for a deployment: lay out a new office's folder (init), say whether it will work (check)."""

from __future__ import annotations

from pathlib import Path

import click

from ..model import ConfigError


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Lay out a new office's FOLDER: releases/, topics.toml, .env.example."""
    from ..scaffold import lay_out

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


@click.command()
@click.option("--release", is_flag=True,
              help="Release phase of a deploy: an SMTP server out of reach is a warning, not a failure.")
def check(release: bool) -> None:
    """Say whether this deployment will work: settings, database, SMTP, content, taxonomy."""
    from ..check import run_checks

    findings = run_checks(smtp_optional=release)
    for finding in findings:
        for line in finding.lines():
            click.echo(line)
    problems = sum(f.status == "problem" for f in findings)
    if problems:
        plural = "s" if problems > 1 else ""
        raise click.ClickException(f"{problems} problem{plural} to fix before this deployment works")
    click.echo("all checks passed")
