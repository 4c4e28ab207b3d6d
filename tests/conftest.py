"""Shared fixtures: real files on disk, a real database (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "releases"
TOPICS = ROOT / "data" / "topics.toml"
# The Atom RELAX NG schema (RFC 4287, appendix B), kept in the repository: tests read nothing outside it.
ATOM_RNG = ROOT / "tests" / "atom.rng"
# JSON Feed 1.1, written from https://www.jsonfeed.org/version/1.1/ (no official schema exists).
JSONFEED_SCHEMA = ROOT / "tests" / "jsonfeed-1.1.schema.json"
PG_URL = os.environ.get("FEEDSVC_TEST_DATABASE_URL", "")
# CI sets this: there a missing PostgreSQL or chromium is a failure, not a skip.
REQUIRE_ALL = os.environ.get("FEEDSVC_REQUIRE_ALL") == "1"


# What feedsvc reads from the environment (config.py): a child process a test starts gets none of
# this machine's, only the test's own.
SETTINGS = ("FEEDSVC_", "DATABASE_URL", "SMTP_URL", "SECRET_KEY", "MAIL_FROM", "DKIM_", "LOG_LEVEL", "PORT")


def process_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process: this one's without any of feedsvc's settings, then `settings`."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS)} | dict(settings)


def assert_counts_true(storage: Storage) -> None:
    """The kept counts (all and per topic) are what the public lists hold, counted row by row."""
    public = storage.list_releases(limit=10_000)
    assert storage.count_releases() == len(public)
    per_topic: dict[str, int] = {}
    for r in public:
        for t in r.topics:
            per_topic[t] = per_topic.get(t, 0) + 1
    assert {t: n for t, n in storage.topic_counts().items() if n} == per_topic
    for topic, n in per_topic.items():
        assert storage.count_releases(topic) == n == len(storage.list_releases(topic, limit=10_000))


def jsonfeed_validator():  # type: ignore[no-untyped-def]
    """A validator of JSON Feed 1.1 that also checks `date-time` and `uri-reference` formats."""
    import json

    import jsonschema

    schema = json.loads(JSONFEED_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = cls.FORMAT_CHECKER
    # Without rfc3339-validator / rfc3986-validator jsonschema skips these formats silently.
    assert {"date-time", "uri-reference"} <= set(checker.checkers), "install the test extra"
    return cls(schema, format_checker=checker)


def skip_or_fail(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (FEEDSVC_REQUIRE_ALL=1: CI must run this test)")
    pytest.skip(reason)


class Clock:
    """Time the tests control: nothing deep inside feedsvc reads the real clock."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC))


def pg_url_or_skip() -> str:
    if not PG_URL:
        skip_or_fail("PostgreSQL not configured: set FEEDSVC_TEST_DATABASE_URL (as .ci/run does)")
    return _worker_database(PG_URL, os.environ.get("PYTEST_XDIST_WORKER", ""))


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    """The database this test process uses: the configured one, or under pytest-xdist
    (`-n 2`) one per worker beside it (`test_gw0`), created on first use, since the tests
    empty and rebuild the schema they work in."""
    if not worker:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


class _Schemas:
    """The latest schema, migrated once per test session instead of once per test: twenty Alembic
    migrations cost 0.2 s on SQLite and 0.4 s on PostgreSQL, paid by every test that opens a
    database. SQLite tests get a copy of a migrated file; PostgreSQL tests get the migrated tables
    emptied, unless the last test left the schema other than `upgrade` makes it (a test that
    downgrades, drops or adds), in which case it is rebuilt from nothing as before."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite_template: Path | None = None
        self.pg_shape: str | None = None

    def sqlite(self, tmp_path: Path) -> Storage:
        if self.sqlite_template is None:
            template = self.folder / "template.sqlite3"
            made = Storage(f"sqlite:///{template}")
            made.upgrade()
            made.close()  # the last connection's close checkpoints the WAL into the file
            self.sqlite_template = template
        target = tmp_path / "feedsvc.sqlite3"
        shutil.copyfile(self.sqlite_template, target)
        return Storage(f"sqlite:///{target}")

    def postgresql(self, tmp_path: Path) -> Storage:
        from feedsvc.config import normalise_database_url

        storage = Storage(normalise_database_url(pg_url_or_skip(), tmp_path))
        if self.pg_shape is not None and _pg_shape(storage) == self.pg_shape:
            _pg_empty(storage)
            return storage
        storage.drop_everything()
        storage.upgrade()
        self.pg_shape = _pg_shape(storage)
        return storage


def _pg_shape(storage: Storage) -> str:
    """A digest of the schema as PostgreSQL sees it: revision, columns with types, indexes, triggers."""
    query = sa.text("""
        SELECT md5(coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), '')
            || (SELECT string_agg(table_name || '.' || column_name || ':' || data_type || ':'
                                  || is_nullable || ':' || coalesce(column_default, ''), ','
                                  ORDER BY table_name, column_name)
                FROM information_schema.columns WHERE table_schema = current_schema())
            || (SELECT coalesce(string_agg(indexdef, ',' ORDER BY indexdef), '')
                FROM pg_indexes WHERE schemaname = current_schema())
            || (SELECT coalesce(string_agg(tgname, ',' ORDER BY tgname), '')
                FROM pg_trigger WHERE NOT tgisinternal))""")
    with storage.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return ""
        return str(conn.execute(query).scalar())


def _pg_empty(storage: Storage) -> None:
    with storage.engine.begin() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def _schemas(tmp_path_factory: pytest.TempPathFactory) -> _Schemas:
    return _Schemas(tmp_path_factory.mktemp("schemas"))


def _open(kind: str, tmp_path: Path, schemas: _Schemas) -> Storage:
    return schemas.sqlite(tmp_path) if kind == "sqlite" else schemas.postgresql(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage(db_kind: str, tmp_path: Path, _schemas: _Schemas) -> Iterator[Storage]:
    s = _open(db_kind, tmp_path, _schemas)
    yield s
    s.close()


@pytest.fixture
def db_url(storage: Storage) -> str:
    """The URL of the `storage` fixture's database, for subprocesses."""
    return storage.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def env(db_url: str, content_dir: Path, topics_file: Path, tmp_path: Path) -> dict[str, str]:
    """The settings of a feedsvc process over this test's database and folders.

    A test module that needs more defines its own `env` fixture on this one (`return env | {…}`).
    """
    return {"DATABASE_URL": db_url, "SECRET_KEY": "test-secret-padded-to-32-characters-or-more",
            "FEEDSVC_BASE_URL": "https://press.example.org", "FEEDSVC_CONTENT_DIR": str(content_dir),
            "FEEDSVC_TOPICS": str(topics_file), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance")}


@pytest.fixture
def mail_env(smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The settings that send mail to the `smtp_server` fixture, from the office the samples are of."""
    return mail_settings(smtp_server.host, smtp_server.port)


def mail_settings(host: str, port: int) -> dict[str, str]:
    """The settings that send mail to the SMTP server at host:port (`mail_env`, the benchmarks' sinks)."""
    return {"SMTP_URL": f"smtp://{host}:{port}",
            "MAIL_FROM": "IOM Turkey <news@press.example.org>", "FEEDSVC_ORGANISATION": "IOM Turkey"}


@pytest.fixture
def content_source() -> Path:
    """What a test's content folder starts as a copy of: the samples, unless a test module overrides this."""
    return SAMPLES


@pytest.fixture
def content_dir(tmp_path: Path, content_source: Path) -> Path:
    folder = tmp_path / "releases"
    shutil.copytree(content_source, folder)
    return folder


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    shutil.copy(TOPICS, path)
    return path


@pytest.fixture
def ingester(storage: Storage, content_dir: Path, topics_file: Path, clock: Clock):  # type: ignore[no-untyped-def]
    from feedsvc.ingest import Ingester

    return Ingester(storage, content_dir, topics_file, tag_authority="press.example.org",
                    clock=clock)


@pytest.fixture
def make_app():  # type: ignore[no-untyped-def]
    """create_app() with environment overrides; each app's database pool is closed at teardown."""
    from feedsvc import create_app

    apps = []

    def make(env: dict[str, str]):  # type: ignore[no-untyped-def]
        # Production create_app() needs FEEDSVC_BASE_URL; a test that does not care gets the laptop's.
        app = create_app({"FEEDSVC_BASE_URL": "http://localhost:8000", **env})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["feedsvc"].storage.close()


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    """A real SMTP server (aiosmtpd) on loopback, recording every message it accepts."""
    from tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server
