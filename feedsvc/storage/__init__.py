"""All SQL lives in this package. `Storage` is one object, its methods split by domain into mixins
built on StorageBase (storage/base.py: engine, transactions, errors)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..model import StorageError
from . import mail_schema  # noqa: F401  (its tables join Base.metadata, which drop_everything drops)
from .base import StorageBase
from .bounces import BouncesMixin
from .confirmations import ConfirmationsMixin
from .digests import DigestsMixin
from .feeds import FeedDocumentsMixin
from .languages import LanguagesMixin
from .limits import LimitsMixin
from .media import MediaMixin
from .pages import PagesMixin
from .reading import ReadingMixin
from .releases import ReleasesMixin
from .runs import RunsMixin
from .schema import Base
from .search import SearchMixin
from .senders import SendersMixin
from .stamps import StampsMixin
from .subscribers import SubscribersMixin
from .versions import VersionsMixin

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Storage(ReleasesMixin, ReadingMixin, VersionsMixin, StampsMixin, FeedDocumentsMixin, SubscribersMixin,
              DigestsMixin, SendersMixin, RunsMixin, LimitsMixin, ConfirmationsMixin, SearchMixin, BouncesMixin,
              MediaMixin, PagesMixin, LanguagesMixin, StorageBase):
    """The database: opened from a URL, closed with close()."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._head: tuple[str | None] | None = None

    # -- schema -------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["engine"] = self.engine
        return cfg

    def head_revision(self) -> str | None:
        """The latest migration this code knows (read from the migration files once per Storage)."""
        if self._head is None:
            from alembic.script import ScriptDirectory

            self._head = (ScriptDirectory.from_config(self.alembic_config()).get_current_head(),)
        return self._head[0]

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic (idempotent)."""
        from alembic import command

        if revision == "head" and self.current_revision() == self.head_revision():
            return
        try:
            command.upgrade(self.alembic_config(), revision)
        except SQLAlchemyError as exc:
            raise self.error(f"upgrading the schema of {self.safe_url}", exc) from exc

    def current_revision(self) -> str | None:
        with self.read("reading the schema revision") as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def drop_everything(self) -> None:
        """Tests only: an empty database."""
        with self.begin("dropping every table") as conn:
            if self.dialect == "sqlite":  # migration 0012's index is not in the models
                conn.execute(sa.text("DROP TABLE IF EXISTS release_fts"))
                conn.execute(sa.text("DROP VIEW IF EXISTS release_search_text"))
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))

    def ping(self) -> bool:
        return self.problem() is None

    def problem(self) -> str | None:
        """Why this database cannot serve (unreachable, schema not at the latest migration), or None."""
        try:
            current = self.current_revision()
        except StorageError as exc:
            return str(exc)
        head = self.head_revision()
        if current != head:
            return (f"the database schema is at migration {current or 'none'}, not the latest ({head}): "
                    "run `feedsvc db upgrade`")
        return None
