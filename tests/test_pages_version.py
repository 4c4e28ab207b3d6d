"""The pages' version on PostgreSQL: heard by notification, not asked on every request (storage/pages.py).

Each test has two Storage objects over one database, as two processes would: `storage` (the
fixture) and `web`, the one a web process asks on every page request. What `web` sends the
server is read from PostgreSQL itself (pg_stat_activity), not from our code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from feedsvc.model import DatabaseUnavailable
from feedsvc.storage import Storage
from feedsvc.storage import pages as pages_module
from feedsvc.storage.pages import _READ, REFRESH, pages_changed
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_for

pytestmark = pytest.mark.parametrize("db_kind", ["postgresql"])


@pytest.fixture
def web(storage: Storage) -> Iterator[Storage]:
    other = Storage(storage.url)
    yield other
    other.close()


def change(storage: Storage) -> None:
    """A change of what pages show, committed as every such change is."""
    with storage.begin("changing what pages show") as conn:
        pages_changed(conn)


def reads(storage: Storage) -> list[tuple[int, dt.datetime]]:
    """(backend pid, start of its last query) of every connection whose last query read the version."""
    with storage.read("looking at the server's sessions") as conn:
        return [(pid, start) for pid, start in conn.execute(sa.text(
            "SELECT pid, query_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = :q"), {"q": _READ})]


def test_a_page_request_sends_postgresql_nothing(storage: Storage, web: Storage) -> None:
    change(storage)
    version = web.pages_version()
    (first,) = reads(storage)
    for _ in range(500):
        assert web.pages_version() == version
    assert reads(storage) == [first]  # no query since: the answers came from what was heard


def test_a_change_by_another_process_is_heard_at_once(storage: Storage, web: Storage) -> None:
    version = web.pages_version()
    change(storage)
    took = wait_for(lambda: web.pages_version() > version, "the change heard", timeout=REFRESH)
    # Heard, not found by the periodic read: that would have taken REFRESH seconds.
    assert took < REFRESH / 2
    (after,) = reads(storage)
    for _ in range(100):
        assert web.pages_version() == version + 1
    assert reads(storage) == [after]


def test_a_change_this_process_commits_is_served_by_it_at_once(storage: Storage, web: Storage) -> None:
    version = web.pages_version()
    for n in range(1, 6):
        change(web)
        assert web.pages_version() == version + n  # no waiting for its own notification


def test_a_change_that_sends_no_notification_is_read_within_refresh(
        storage: Storage, web: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database restored from a backup changes the number without a NOTIFY.
    monkeypatch.setattr(pages_module, "REFRESH", 0.3)
    change(storage)
    wait_for(lambda: web.pages_version() == 1, "the first change heard", timeout=10)
    version = 1
    with storage.begin("restoring an older backup") as conn:
        conn.execute(sa.text("UPDATE meta SET value = '1000' WHERE key = 'pages_version'"))
    started = time.monotonic()
    assert web.pages_version() in (version, 1000)
    time.sleep(0.3 - (time.monotonic() - started) + 0.05)
    assert web.pages_version() == 1000


def test_a_connection_the_server_ends_is_replaced_without_an_error(storage: Storage, web: Storage) -> None:
    version = web.pages_version()
    (pid, _), = reads(storage)
    with storage.read("ending a session") as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    wait_for(lambda: not any(p == pid for p, _ in reads(storage)), "the session ended", timeout=10)
    change(storage)  # committed while `web` had no connection listening: read when it reconnects
    assert web.pages_version() == version + 1
    (new_pid, _), = reads(storage)
    assert new_pid != pid
    change(storage)
    wait_for(lambda: web.pages_version() == version + 2, "the change heard on the new connection",
             timeout=REFRESH / 2)


def test_a_lost_connection_is_an_error_at_once_and_recovers(storage: Storage) -> None:
    url = storage.engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        web = Storage(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        try:
            version = web.pages_version()
            proxy.stop()  # the connection drops; a new one is refused
            # Not the number heard before: while the database is away nothing says it still holds.
            with pytest.raises(DatabaseUnavailable, match="reading the pages' version"):
                web.pages_version()
            change(storage)
            proxy.start()
            assert web.pages_version() == version + 1
        finally:
            web.close()
