"""What every command shares: settings, the services, a progress display, waiting for a signal."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from ..clock import SYSTEM_CLOCK
from ..config import Settings, load_settings
from ..logs import setup_logging
from ..model import ConfigError, FeedsvcError

if TYPE_CHECKING:
    # What click.progressbar() returns; click exports the class only as that return type.
    from click._termui_impl import ProgressBar

    from ..ingest import Ingester
    from ..runs.postman import Postman
    from ..services import Services
    from ..storage import Storage

log = logging.getLogger("feedsvc")


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    setup_logging(settings.log_level)
    return settings


def open_services(settings: Settings, *, upgrade: bool = True) -> Services:
    """The command's services (build_services, with the real clock), the schema brought up to date."""
    from ..services import build_services

    try:
        services = build_services(settings, SYSTEM_CLOCK)
        if upgrade:
            services.storage.upgrade()
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from None
    return services


def make_ingester(settings: Settings, storage: Storage) -> Ingester:
    """An Ingester over an already open storage (tests, benchmarks), wired as every command's is."""
    from ..services import build_services

    return build_services(settings, SYSTEM_CLOCK, storage=storage).ingester()


def postman_or_exit(services: Services) -> Postman:
    try:
        return services.postman()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class Progress:
    """A bar with counts and rate on a terminal; a line at each tenth of the way elsewhere (CI, a PaaS log)."""

    def __init__(self, label: str, unit: str = "files", *, minimum: int = 50) -> None:
        self.label, self.unit, self.minimum = label, unit, minimum
        self.tty = sys.stderr.isatty()
        self.bar: ProgressBar[int] | None = None
        self.last = 0
        self.started = time.monotonic()

    def rate(self, done: int) -> str:
        elapsed = time.monotonic() - self.started
        return f"{done / elapsed:,.0f} {self.unit}/s" if elapsed > 0 else ""

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum:
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True,
                                             item_show_func=lambda _: self.rate(self.last))
                self.bar.__enter__()
            step, self.last = done - self.last, done
            self.bar.update(step)
            if done >= total:
                self.bar.__exit__(None, None, None)
        elif done * 10 // total != self.last * 10 // total or done >= total:
            click.echo(f"{self.label}: {done:,}/{total:,} {self.unit} ({self.rate(done)})", err=True)
            self.last = done


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
