"""Pages under stress (issue 14.3, 15.4): odd page numbers, a database that goes away and comes back,
a long write on SQLite, a schema behind the code. Real databases, a real TCP cut, real SQLite locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.storage import Storage
from tests.conftest import process_env
from tests.tcp_proxy import TcpProxy

TOPIC = "borders-and-emergencies"


# What only one database does is tested on that one: `@pytest.mark.parametrize("db_kind", [...])`
# narrows conftest's `storage` (and so `env` and `ingested`) to it.


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"FEEDSVC_FEED_RECHECK": "0"}


@pytest.fixture
def ingested(env: dict[str, str], storage: Storage) -> Storage:
    make_ingester(load_settings(env), storage).scan()
    assert storage.count_releases(TOPIC) > 0
    return storage


def assert_unavailable(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 503, resp.get_data(as_text=True)[:300]
    assert resp.headers["Retry-After"] == "30"
    assert "cannot be read at the moment" in resp.get_data(as_text=True)


@pytest.mark.parametrize("page", ["10" + "0" * 30, "-1", "0", "abc", "1e3", "2.0", " 1", "٢", "999999999",
                                  "9999999999"])
def test_any_page_number_that_is_not_a_page_is_404(env, ingested, make_app, page: str) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    resp = client.get(f"/topics/{TOPIC}", query_string={"page": page})
    assert resp.status_code == 404
    assert "There is no page" in resp.get_data(as_text=True)


def test_real_pages_are_served(env, ingested, make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    pages = -(-ingested.count_releases(TOPIC) // 30)
    assert client.get(f"/topics/{TOPIC}").status_code == 200
    assert client.get(f"/topics/{TOPIC}?page=").status_code == 200
    assert client.get(f"/topics/{TOPIC}?page={pages}").status_code == 200
    assert client.get(f"/topics/{TOPIC}?page={pages + 1}").status_code == 404
    assert client.get("/feeds/archive/all/" + "9" * 40 + ".atom").status_code == 404


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_postgresql_going_away_gives_503_and_the_same_app_recovers(env, ingested, make_app) -> None:  # type: ignore[no-untyped-def]
    url = ingested.engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = make_app(env | {"DATABASE_URL": through})
        client = app.test_client()
        release_id = ingested.list_releases(limit=1)[0].id
        pages = ["/", f"/topics/{TOPIC}", f"/releases/{release_id}"]
        for path in pages:
            assert client.get(path).status_code == 200, path
        assert client.get("/feeds/all.atom").status_code == 200  # built, then held by the feed server
        assert client.get("/feeds/all.atom").status_code == 200

        proxy.stop()  # the pool's connections drop; new ones are refused
        for path in pages:
            assert_unavailable(client.get(path))
        # The feed server keeps serving what it holds; a process holding nothing answers 503.
        assert client.get("/feeds/all.atom").status_code == 200
        assert_unavailable(make_app(env | {"DATABASE_URL": through}).test_client().get("/feeds/all.atom"))
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json == {"status": "unavailable", "problems": {"database": (
            f"while reading the schema revision: cannot reach the database at 127.0.0.1:{proxy.port}: "
            "Connection refused")}}

        proxy.start()  # back: the same app answers, nothing restarted
        for path in pages:
            assert client.get(path).status_code == 200, path
        assert client.get("/healthz").json == {"status": "ok"}


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_sqlite_file_that_cannot_be_opened_gives_503_until_it_is_back(env, ingested, make_app) -> None:  # type: ignore[no-untyped-def]
    path = Path(ingested.engine.url.database or "")
    ingested.close()
    app = make_app(env)
    client = app.test_client()
    # A directory where the file was: unreadable as a database whoever runs the test (root too).
    aside = [(p, p.with_name(p.name + ".aside")) for p in path.parent.glob(path.name + "*")]
    for p, q in aside:
        p.rename(q)
    path.mkdir()
    try:
        assert_unavailable(client.get("/"))
        assert_unavailable(client.get(f"/topics/{TOPIC}"))
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json["problems"]["database"] == (
            f"while reading the schema revision: cannot open the SQLite database {path}: unable to open database file")
    finally:
        path.rmdir()
        for p, q in aside:
            q.rename(p)
    assert client.get("/").status_code == 200
    assert client.get("/healthz").json == {"status": "ok"}


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_sqlite_reads_never_wait_for_a_long_write(env, ingested, make_app) -> None:  # type: ignore[no-untyped-def]
    path = ingested.engine.url.database or ""
    client = make_app(env).test_client()
    release_id = ingested.list_releases(limit=1)[0].id
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, held until this test lets go
        writer.execute("UPDATE releases SET title = title || ' (being edited)'")
        # As every write of what pages show does (storage/pages.py): kept pages are rendered again.
        writer.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'pages_version'")
        for page in ["/", f"/topics/{TOPIC}", f"/topics/{TOPIC}?page=1", f"/releases/{release_id}",
                     "/feeds.opml", "/healthz"]:
            resp = client.get(page)
            assert resp.status_code == 200, page
            assert "(being edited)" not in resp.get_data(as_text=True)  # the last committed state
        # The lock was held all along: another writer is refused at once.
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert "(being edited)" in client.get(f"/releases/{release_id}").get_data(as_text=True)


def test_healthz_503_when_the_schema_is_behind(env, ingested, make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    head = ingested.head_revision()
    assert client.get("/healthz").json == {"status": "ok"}
    command.downgrade(ingested.alembic_config(), "0007")
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.headers["Cache-Control"] == "no-store"
    assert resp.json["problems"] == {"database": f"the database schema is at migration 0007, not the latest "
                                                 f"({head}): run `feedsvc db upgrade`"}
    ingested.drop_everything()
    assert client.get("/healthz").json["problems"]["database"].startswith(
        "the database schema is at migration none, not the latest")
    ingested.upgrade()
    assert client.get("/healthz").status_code == 200


def test_a_refused_database_is_one_readable_line(tmp_path: Path) -> None:
    probe = __import__("socket").socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    env = process_env({"DATABASE_URL": f"postgresql://feedsvc:hunter2@127.0.0.1:{port}/feedsvc",
                       "FEEDSVC_INSTANCE_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "-m", "feedsvc", "db", "upgrade"], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"Error: while reading the schema revision: cannot reach the database at 127.0.0.1:{port}: Connection refused"]


def test_storage_errors_name_no_internals(storage: Storage) -> None:
    from feedsvc.model import StorageError

    with pytest.raises(StorageError) as caught, storage.read("reading nothing") as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    message = str(caught.value)
    assert message.startswith("while reading nothing: ProgrammingError: " if storage.dialect == "postgresql"
                              else "while reading nothing: OperationalError: ")
    assert "no_such_table" in message and "sqlalche.me" not in message and "\n" not in message
