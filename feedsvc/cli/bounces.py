"""`feedsvc bounces`: the bounce mailbox read, and the suppression list looked at or lifted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..model import FeedsvcError
from .common import Progress, open_services, settings_or_exit

if TYPE_CHECKING:
    from ..services import Services


def bounce_reader(services: Services) -> Callable[[], object] | None:
    """What the clock runs every few minutes: the mailbox drained, when FEEDSVC_BOUNCE_MAILBOX is set."""
    if not services.settings.bounce_mailbox:
        return None
    return lambda: services.bounces().read_mailbox()


@click.command()
@click.option("--list", "show", is_flag=True, help="List the suppressed addresses, newest first, and stop.")
@click.option("--lift", metavar="EMAIL", default=None, help="Lift EMAIL's suppression: it may be mailed again.")
def bounces(show: bool, lift: str | None) -> None:
    """Read FEEDSVC_BOUNCE_MAILBOX: record bounces and complaints, suppress addresses, file the messages."""
    services = open_services(settings_or_exit())
    storage = services.storage
    if lift is not None:
        if not storage.lift_suppression(lift.strip().lower(), services.clock()):
            raise click.ClickException(f"{lift} is not suppressed")
        click.echo(f"lifted the suppression of {lift}: it may be mailed again")
        return
    if show:
        for s in storage.suppressions(limit=1_000_000):
            click.echo(f"{s.email}\t{s.kind}\t{s.suppressed_at:%Y-%m-%d %H:%M}\t{s.reason}")
        click.echo(f"{storage.count_suppressions()} addresses suppressed", err=True)
        return
    if not services.settings.bounce_mailbox:
        raise click.ClickException("FEEDSVC_BOUNCE_MAILBOX is not set: give the bounce mailbox "
                                   "(imaps://user:password@host/INBOX or a maildir path); README: Bounces")
    try:
        tally = services.bounces().read_mailbox(progress=Progress("reading bounces", "messages"))
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    for address in tally.suppressed:
        click.echo(f"suppressed {address}")
    click.echo(tally.line())
    if tally.paused:
        click.echo(f"sending is paused: {tally.paused}. Lift it with `feedsvc digest --resume` "
                   "or on /admin once you have looked.", err=True)
