"""Commands for the email digest: sending it, and its subscribers."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from ..config import Settings
from ..config_modes import with_laptop_secret
from ..deliveries import Delivery
from ..model import FeedsvcError
from ..states import parse_state
from ..subscribers import FREQUENCIES, SUBSCRIBER_STATES
from .common import Progress, open_services, postman_or_exit, settings_or_exit

if TYPE_CHECKING:
    from ..runs.batch import SendReport
    from ..runs.postman import Postman
    from ..storage import Storage


@click.command()
@click.option("--send-now", is_flag=True, help="Make a run now, whatever the schedule, and send it.")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default=None,
              help="Only this frequency (default: all).")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; plan and send nothing.")
@click.option("--preview", metavar="EMAIL", default=None,
              help="Print the digest EMAIL would get now: its subject and text, decoded.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --preview: also write the HTML part to FILE, to look at in a browser.")
@click.option("--resume", is_flag=True,
              help="Lift any pause on sending (spam complaints, a failing relay; see /admin), then send what waits.")
@click.option("--retry-parked", is_flag=True,
              help="Give each delivery parked after its last attempt (see /admin) one more attempt.")
def digest(send_now: bool, frequency: str | None, dry_run: bool, preview: str | None,
           html_file: Path | None, resume: bool, retry_parked: bool) -> None:
    """Send digests: resume unfinished work (sending paused by a failing relay too), or make a run now
    with --send-now."""
    services = open_services(with_laptop_secret(settings_or_exit()))
    storage = services.storage
    if resume:
        lifted = storage.resume_sending()
        click.echo(f"sending resumed (paused since {lifted.since:%Y-%m-%d %H:%M} UTC: {lifted.reason})"
                   if lifted else "sending was not paused")
    postman = postman_or_exit(services)
    freqs = (parse_state(frequency, FREQUENCIES),) if frequency else FREQUENCIES
    if html_file is not None and not preview:
        raise click.UsageError("--html goes with --preview EMAIL")
    if preview or dry_run:
        until = storage.max_seq()
        if preview:
            found = storage.get_subscriber_by_email(_stored_form(preview))
            if found is None:
                raise click.ClickException(f"no subscriber {preview}")
            subs = [found]
        else:
            subs = [s for s in storage.iter_subscribers("confirmed") if s.frequency in freqs]
        would = 0
        for sub in subs:
            since = storage.subscriber_cursor(sub.id)
            d = Delivery(0, 0, sub.id, sub.email, sub.topics, sub.frequency, "preview", since,
                         until, False, 0, languages=sub.languages)
            msg = postman.preview(d)
            if preview:
                if msg is None:
                    click.echo(f"{sub.email}: nothing new since the last digest")
                else:
                    _show(msg, html_file)
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
    if retry_parked:
        click.echo(f"{storage.retry_parked()} parked deliveries back in the queue for one more attempt")
    if send_now:
        runs = postman.manual_runs(freqs)
        click.echo(f"planned run(s) {', '.join(map(str, runs))}")
    report = _send_with_progress(postman, storage)
    if report.resumed:
        click.echo(f"sending resumed (it was paused: {report.resumed})")
    click.echo(report.line())


# An idle sender looks for planned deliveries this often (the clock plans runs; any sender may
# find them first). A wait on an event, not a sleep: SIGTERM ends it at once.
SENDER_POLL_SECONDS = 5.0


@click.command()
@click.option("--once", is_flag=True, help="Send what waits now, then exit.")
def sender(once: bool) -> None:
    """A sender process: sends the planned digests as they wait (the Procfile's `sender`).

    On PostgreSQL, run as many as you like, on one machine or several: they share each run, a
    few deliveries at a time, and finish a killed one's work. On SQLite one sends at a time.
    """
    services = open_services(settings_or_exit())
    postman = postman_or_exit(services)
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        postman.stopping.set()  # finish the message in flight; the rest waits for the others
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    said = ""
    while not stop.is_set():
        report = postman.send_pending()
        line = report.line() if report.sent or report.failed or report.retry_later or report.in_doubt \
            or report.paused else ""
        if line and line != said:  # a pause is said once, not every few seconds
            click.echo(line, err=True)
        said = line
        if once or stop.wait(SENDER_POLL_SECONDS):
            break


def _show(msg: EmailMessage, html_file: Path | None) -> None:
    """The message as a reader sees it: headers decoded, the text part as text, not quoted-printable."""
    for name in ("From", "To", "Subject", "List-Unsubscribe"):
        if msg[name]:
            click.echo(f"{name}: {msg[name]}")
    text = msg.get_body(("plain",))
    click.echo("")
    click.echo(text.get_content() if isinstance(text, EmailMessage) else "(no text part)")
    if html_file is not None:
        html = msg.get_body(("html",))
        if not isinstance(html, EmailMessage):
            raise click.ClickException("this message has no HTML part")
        html_file.write_text(html.get_content(), encoding="utf-8")
        click.echo(f"HTML part written to {html_file}", err=True)


def _send_with_progress(postman: Postman, storage: Storage) -> SendReport:
    """send_pending, with a bar (or a line per tenth on a log) counting the deliveries answered.

    The count is read from the ledger once a second, in a thread of its own: the send path
    itself knows nothing of terminals.
    """
    total = storage.count_pending()
    progress = Progress("sending digests", "digests")
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(FeedsvcError):  # a database hiccup only skips a tick
                progress(max(0, total - storage.count_pending()), total)

    watcher = threading.Thread(target=watch, name="feedsvc-progress", daemon=True)
    watcher.start()
    try:
        report = postman.send_pending(resume_relay=True)  # the operator runs it once the relay is fixed
    finally:
        stop.set()
        watcher.join()
    progress(total - report.retry_later, total)
    return report


@click.group()
def subscribers() -> None:
    """Manage digest subscribers."""


def _parse_topics(raw: str, settings: Settings) -> tuple[str, ...]:
    from ..topics import load_taxonomy

    slugs = tuple(dict.fromkeys(raw.replace(",", " ").split()))
    known = set(load_taxonomy(settings.topics_file).slugs)
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ValueError(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return slugs


def _parse_languages(raw: str) -> tuple[str, ...]:
    from ..languages import checked_tag

    return tuple(dict.fromkeys(checked_tag(t) for t in raw.replace(",", " ").split()))  # ValueError names it


def _parse_zone(raw: str) -> str | None:
    from ..zones import checked_zone

    return checked_zone(raw) if raw.strip() else None  # ZoneError (a ValueError) names it


def _parse_locale(raw: str) -> str | None:
    from ..locales import LOCALES, checked_locale

    if not raw.strip():
        return None
    found = checked_locale(raw)
    if found is None:
        raise ValueError(f"locale {raw.strip()!r} is not one the emails are written in ({', '.join(LOCALES)})")
    return found


def _checked_email(raw: str) -> str:
    from ..addresses import AddressError, checked_address

    try:
        return checked_address(raw)
    except AddressError as exc:
        raise ValueError(f"{raw!r} is not a valid email address: {exc}") from None


def _stored_form(raw: str) -> str:
    """An address as it is stored (IDNA domain, lower case), to find it; as typed if it is not valid now."""
    try:
        return _checked_email(raw)
    except ValueError:
        return raw.strip().lower()


@subscribers.command("add")
@click.argument("email")
@click.option("--topics", default="", help="Topic slugs, space or comma separated (default: all).")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="weekly", show_default=True)
@click.option("--languages", default="", help="Language tags (fr, ar, pt-BR), space or comma separated (default: all).")
@click.option("--time-zone", "time_zone", default="",
              help="IANA zone their digests are timed in, e.g. Europe/Istanbul (default: FEEDSVC_TIMEZONE).")
@click.option("--locale", default="",
              help="Language of their emails: en, fr, tr or ar (default: FEEDSVC_DEFAULT_LOCALE).")
def subscribers_add(email: str, topics: str, frequency: str, languages: str, time_zone: str, locale: str) -> None:
    """Add a confirmed subscriber (the office holds their consent)."""
    services = open_services(settings_or_exit())
    try:
        new = services.storage.add_confirmed(_checked_email(email), _parse_topics(topics, services.settings),
                                             parse_state(frequency, FREQUENCIES), services.clock(),
                                             time_zone=_parse_zone(time_zone),
                                             languages=_parse_languages(languages),
                                             locale=_parse_locale(locale))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(("added " if new else "updated ") + email)


@subscribers.command("remove")
@click.argument("email")
def subscribers_remove(email: str) -> None:
    """Forget a subscriber entirely."""
    storage = open_services(settings_or_exit()).storage
    if not storage.remove_subscriber(_stored_form(email)):
        raise click.ClickException(f"no subscriber {email}")
    click.echo(f"removed {email}")


@subscribers.command("list")
@click.option("--state", type=click.Choice(SUBSCRIBER_STATES))
def subscribers_list(state: str | None) -> None:
    """List subscribers."""
    storage = open_services(settings_or_exit()).storage
    for s in storage.iter_subscribers(parse_state(state, SUBSCRIBER_STATES) if state else None):
        click.echo(f"{s.email}\t{s.state}\t{s.frequency}\t{' '.join(s.topics) or '(all)'}")


# What export writes and import reads: every choice a subscriber made, so that a list moved from one
# instance to another loses none of them. The first three were the only ones once: files with just
# those still import, the others keeping their defaults.
CSV_COLUMNS = ("email", "topics", "frequency", "languages", "time_zone", "locale")


@subscribers.command("export")
def subscribers_export() -> None:
    """Write confirmed subscribers as CSV (email,topics,frequency,languages,time_zone,locale) to standard output."""
    import csv

    storage = open_services(settings_or_exit()).storage
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for s in storage.iter_subscribers("confirmed"):
        out.writerow([s.email, " ".join(s.topics), s.frequency, " ".join(s.languages), s.time_zone or "",
                      s.locale or ""])


@subscribers.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def subscribers_import(csv_file: TextIO) -> None:
    """Import confirmed subscribers from a CSV file with columns email,topics,frequency (and
    optionally languages,time_zone,locale: what `subscribers export` writes); empty cells keep defaults."""
    import csv

    services = open_services(settings_or_exit())
    storage, settings = services.storage, services.settings
    reader = csv.DictReader(csv_file)
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise click.ClickException("the CSV file needs a header row with at least an 'email' column")
    added = updated = 0
    errors: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        try:
            raw = (row.get("frequency") or "weekly").strip().lower()
            if raw not in FREQUENCIES:
                raise ValueError(f"frequency {raw!r} must be daily or weekly")
            frequency = parse_state(raw, FREQUENCIES)
            new = storage.add_confirmed(_checked_email(row.get("email") or ""),
                                        _parse_topics(row.get("topics") or "", settings), frequency,
                                        services.clock(), time_zone=_parse_zone(row.get("time_zone") or ""),
                                        languages=_parse_languages(row.get("languages") or "") or None,
                                        locale=_parse_locale(row.get("locale") or ""))
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
