"""One wiring: what a process (web, a CLI command, the scheduler) is built from (issue 12 item 3).

`build_services(settings, clock)` is the only place feedsvc's parts are put together; create_app,
every command of cli.py and the scheduler get theirs from it, so a process opens one Storage.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .bounces.fetch import fetch_url
from .clock import Clock
from .config import Settings
from .links import Links
from .model import ConfigError
from .publish import Publisher
from .storage import Storage
from .taxonomy_keeper import TaxonomyKeeper
from .tokens import Tokens
from .topics import Taxonomy

if TYPE_CHECKING:  # imported when first asked for: `feedsvc ingest` never loads the email stack
    from .bounces.processor import BounceProcessor
    from .ingest import Ingester
    from .runs.confirmations import ConfirmationSender, ConfirmationWorker
    from .runs.postman import Postman


class _Once:
    """The process's senders, made on first use (they need SECRET_KEY; ingesting does not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.postman: Postman | None = None
        self.confirmations: ConfirmationSender | None = None
        self.worker: ConfirmationWorker | None = None
        self.bounces: BounceProcessor | None = None


@dataclasses.dataclass(frozen=True)
class Services:
    """What a process works with, made once by build_services."""

    settings: Settings
    clock: Clock
    storage: Storage
    links: Links
    publisher: Publisher
    # The taxonomy in force: topics.toml while it is valid, else the last good one (taxonomy_keeper).
    keeper: TaxonomyKeeper
    _senders: _Once = dataclasses.field(default_factory=_Once, repr=False, compare=False)
    # The network, for the bounce webhooks' GETs (SNS certificates, SubscribeURL): tests hand in
    # their own network here, the one edge they may fake.
    http_get: Callable[[str], bytes] = dataclasses.field(default=fetch_url, repr=False, compare=False)

    def taxonomy(self) -> Taxonomy:
        return self.keeper.current()

    def ingester(self) -> Ingester:
        """A new Ingester over this process's storage, publishing feeds after every scan."""
        from .ingest import Ingester

        s = self.settings
        return Ingester(self.storage, s.content_dir, s.topics_file, tag_authority=s.tag_authority,
                        max_file_bytes=s.max_file_bytes, clock=self.clock,
                        on_feeds_changed=self.publisher.after_scan, keeper=self.keeper, timezone=s.timezone,
                        max_media_bytes=s.max_media_bytes, default_language=s.default_language)

    def postman(self) -> Postman:
        """The process's Postman (digests); ConfigError without SECRET_KEY, which its links need."""
        from .runs.postman import Postman

        if not self.settings.secret_key:
            raise ConfigError("SECRET_KEY is not set: digests carry signed links and need it")
        with self._senders._lock:
            if self._senders.postman is None:
                self._senders.postman = Postman(self.storage, self.settings, clock=self.clock, links=self.links,
                                                taxonomy=self.keeper.current)
            return self._senders.postman

    def confirmations(self) -> ConfirmationSender:
        """The process's sender of queued confirmation emails; ConfigError without SECRET_KEY."""
        from .runs.confirmations import ConfirmationSender

        if not self.settings.secret_key:
            raise ConfigError("SECRET_KEY is not set: confirmation emails carry signed links and need it")
        with self._senders._lock:
            if self._senders.confirmations is None:
                self._senders.confirmations = ConfirmationSender(self.storage, self.settings, self.links,
                                                                 self.clock)
            return self._senders.confirmations

    def bounces(self) -> BounceProcessor:
        """The process's recorder of bounces and complaints (mailbox and webhooks)."""
        from .bounces.processor import BounceProcessor

        with self._senders._lock:
            if self._senders.bounces is None:
                self._senders.bounces = BounceProcessor(self.storage, self.settings, self.clock)
            return self._senders.bounces

    def start_confirmation_worker(self) -> ConfirmationWorker:
        """Drain the confirmation queue in the background of this process (serve, scheduler)."""
        from .runs.confirmations import ConfirmationWorker

        sender = self.confirmations()
        with self._senders._lock:
            if self._senders.worker is None:
                self._senders.worker = ConfirmationWorker(sender).start()
            return self._senders.worker

    def confirmation_queued(self) -> None:
        """A request queued a confirmation email: this process's worker, if it runs one, sends it now.

        Without one (a web process on a PaaS) the scheduler process's worker finds it within
        runs.confirmations.POLL_SECONDS.
        """
        worker = self._senders.worker
        if worker is not None:
            worker.wake()

    def close(self) -> None:
        worker = self._senders.worker
        if worker is not None:
            worker.stop()
        self.publisher.close()
        self.storage.close()


def build_services(settings: Settings, clock: Clock, *, storage: Storage | None = None) -> Services:
    """Everything a process needs, from its settings and its clock; opens the process's one Storage.

    `storage` is given only where one is already open (tests, benchmarks); it is not closed here.
    """
    links = Links(settings.base_url, Tokens(settings.secret_key) if settings.secret_key else None)
    storage = storage if storage is not None else Storage(settings.database_url)
    keeper = TaxonomyKeeper(settings.topics_file, storage)
    return Services(settings=settings, clock=clock, storage=storage, links=links,
                    publisher=Publisher(storage, settings, links=links, clock=clock, taxonomy=keeper.current),
                    keeper=keeper)
