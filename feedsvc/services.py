"""One wiring: what a process (web, a CLI command, the scheduler) is built from (issue 12 item 3).

`build_services(settings, clock)` is the only place feedsvc's parts are put together; create_app,
every command of cli.py and the scheduler get theirs from it, so a process opens one Storage.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

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
    from .ingest import Ingester
    from .transport.outbox import OutboxMailer
    from .transport.smtp import SmtpMailer
    from .runs.postman import Postman


class _Once:
    """The one Postman of a process, made on first use (it needs SECRET_KEY; ingesting does not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.postman: Postman | None = None


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
    _postman: _Once = dataclasses.field(default_factory=_Once, repr=False, compare=False)

    def taxonomy(self) -> Taxonomy:
        return self.keeper.current()

    def ingester(self) -> Ingester:
        """A new Ingester over this process's storage, publishing feeds after every scan."""
        from .ingest import Ingester

        s = self.settings
        return Ingester(self.storage, s.content_dir, s.topics_file, tag_authority=s.tag_authority,
                        max_file_bytes=s.max_file_bytes, clock=self.clock,
                        on_feeds_changed=self.publisher.after_scan, keeper=self.keeper)

    def postman(self) -> Postman:
        """The process's Postman (digests); ConfigError without SECRET_KEY, which its links need."""
        from .runs.postman import Postman

        if not self.settings.secret_key:
            raise ConfigError("SECRET_KEY is not set: digests carry signed links and need it")
        with self._postman._lock:
            if self._postman.postman is None:
                self._postman.postman = Postman(self.storage, self.settings, clock=self.clock, links=self.links,
                                                taxonomy=self.keeper.current)
            return self._postman.postman

    def mailer(self) -> SmtpMailer | OutboxMailer:
        """A mailer for a single message (a confirmation email); digests go through postman()."""
        from .transport.smtp import make_mailer

        return make_mailer(self.settings.smtp_url, self.settings.outbox_dir)

    def close(self) -> None:
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
