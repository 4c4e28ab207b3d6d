"""/admin's subscriber list and digest runs (issue 15.6): the queries on SQLite and PostgreSQL, then the page."""

from __future__ import annotations

import datetime as dt

import pytest

from feedsvc.storage import Storage
from tests.html_tables import table_rows

TOKEN = "correct horse battery staple"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)

# Addresses chosen so that a LIKE wildcard taken as a wildcard, or a search that minds case, is caught.
TRICKY = ["ops_desk@example.org", "opsXdesk@example.org", "rate100%@example.org", "rate1000@example.org",
          "Press.Desk@Example.org", "press.office@example.net"]


def add(storage: Storage, emails: list[str], state: str = "confirmed", start: dt.datetime = T0) -> None:
    """Subscribers in `state`, one a minute from `start`, through the storage's own operations."""
    for i, email in enumerate(emails):
        now = start + dt.timedelta(minutes=i)
        if state == "pending":
            storage.subscribe(email, (), "daily", now)
            continue
        storage.add_confirmed(email, (), "daily", now)
        sub = storage.get_subscriber_by_email(email)
        assert sub is not None
        if state == "unsubscribed":
            storage.unsubscribe(sub.id, now)
        elif state == "bounced":
            storage.bounce(sub.id, "550 no such user")


def emails(storage: Storage, address: str = "", state: str | None = None, **page: int) -> list[str]:
    return [s.email for s in storage.find_subscribers(address, state, limit=page.get("limit", 100),
                                                      offset=page.get("offset", 0))]


def test_search_takes_wildcards_literally_and_ignores_case(storage: Storage) -> None:
    add(storage, TRICKY)
    assert emails(storage, "ops_desk") == ["ops_desk@example.org"]  # not opsXdesk
    assert emails(storage, "100%") == ["rate100%@example.org"]  # not rate1000
    assert emails(storage, "_") == ["ops_desk@example.org"]
    assert emails(storage, "%") == ["rate100%@example.org"]
    assert emails(storage, "PRESS.DESK") == ["Press.Desk@Example.org"]
    assert emails(storage, "press.") == ["press.office@example.net", "Press.Desk@Example.org"]  # newest first
    assert emails(storage, "\\") == [] and emails(storage, "/") == []  # the escape character is literal too
    assert emails(storage, "nobody") == []
    assert storage.count_subscribers_by_state("OPS") == {"confirmed": 2}


def test_state_filter_counts_and_pages(storage: Storage) -> None:
    add(storage, [f"c{i:02d}@example.org" for i in range(7)])
    add(storage, [f"p{i:02d}@example.org" for i in range(3)], "pending", T0 + dt.timedelta(hours=1))
    add(storage, ["u00@example.org", "u01@example.net"], "unsubscribed", T0 + dt.timedelta(hours=2))
    add(storage, ["b00@example.org"], "bounced", T0 + dt.timedelta(hours=3))
    assert storage.count_subscribers_by_state() == {"confirmed": 7, "pending": 3, "unsubscribed": 2, "bounced": 1}
    assert storage.count_subscribers_by_state("example.net") == {"unsubscribed": 1}
    assert emails(storage, state="unsubscribed") == ["u01@example.net", "u00@example.org"]
    assert emails(storage, ".org", "unsubscribed") == ["u00@example.org"]
    assert emails(storage, state="bounced") == ["b00@example.org"]
    # Pages of 3, newest first: no row twice, none left out, and past the end nothing.
    pages = [emails(storage, state="confirmed", limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert pages == [["c06@example.org", "c05@example.org", "c04@example.org"],
                     ["c03@example.org", "c02@example.org", "c01@example.org"], ["c00@example.org"], []]
    everyone = [e for o in range(0, 15, 4) for e in emails(storage, limit=4, offset=o)]
    assert len(everyone) == len(set(everyone)) == 13 and everyone[0] == "b00@example.org"


def test_run_summaries_count_every_delivery_state(storage: Storage, ingester) -> None:  # type: ignore[no-untyped-def]
    add(storage, [f"r{i}@example.org" for i in range(6)])
    assert storage.run_summaries() == []
    ingester.scan()  # releases newer than every reader's cursor: each gets a delivery
    run_id, _ = storage.create_run("manual:one", "daily", "manual", "23 November 2026", T0)
    ids = [d.id for d in storage.pending_deliveries()]
    assert len(ids) == 6
    subscriber_of = {d.id: d.subscriber_id for d in storage.pending_deliveries()}
    writer = storage.ledger_writer()
    try:
        writer.claim([(ids[0], "r", "<0@x>"), (ids[1], "r", "<1@x>"), (ids[4], "r", "<4@x>")], empty=[ids[2]])
        writer.accepted([ids[0]], T0)
        storage.delivery_refused(ids[1], subscriber_of[ids[1]], "550 no such user")
        storage.unsubscribe(subscriber_of[ids[3]], T0)  # its delivery is skipped
        assert storage.recover_deliveries() == 1  # a sender died after SMTP: pending again, in doubt
        writer.claim([(ids[4], "r", "<4@x>")])
        writer.accepted([ids[4]], T0)
    finally:
        writer.close()
    later = T0 + dt.timedelta(hours=1)
    storage.create_run("manual:two", "daily", "manual", "23 November 2026, later", later)  # nothing new
    storage.finish_runs(later)

    two, one = storage.run_summaries()
    assert (one.id, one.created_at, one.finished_at) == (run_id, T0, None)  # one delivery still to go
    assert (one.planned, one.sent, one.failed, one.in_doubt, one.pending, one.empty, one.skipped) == (6, 2, 1, 1, 1, 1, 1)
    assert (two.planned, two.sent, two.pending, two.finished_at, two.period_label) == (
        0, 0, 0, later, "23 November 2026, later")
    assert [r.id for r in storage.run_summaries(limit=1)] == [two.id]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"FEEDSVC_ADMIN_TOKEN": TOKEN}


def test_the_page_searches_filters_and_pages(env: dict[str, str], make_app, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    add(storage, TRICKY)
    add(storage, [f"reader{i:02d}@example.org" for i in range(30)], "pending", T0 + dt.timedelta(hours=1))
    client = make_app(env).test_client()

    def rows(query: str) -> list[dict[str, str]]:
        resp = client.get("/admin" + query, headers=ADMIN)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return table_rows(resp.get_data(as_text=True), "subscriber-list")

    first = rows("")
    assert len(first) == 25 and first[0]["Address"] == "reader29@example.org" and first[0]["State"] == "pending"
    assert [r["Address"] for r in rows("?page=2")][-6:] == TRICKY[::-1]
    assert [r["Address"] for r in rows("?q=OPS_&state=confirmed")] == ["ops_desk@example.org"]
    assert rows("?q=nobody") == [{"": "No subscriber matches."}]
    assert len(rows("?state=pending&page=2")) == 5
    page = client.get("/admin?q=reader&state=pending", headers=ADMIN).get_data(as_text=True)
    assert 'href="/admin?q=reader&amp;state=pending&amp;page=2#subscribers"' in page  # the pager keeps the search
    assert 'href="/admin?q=reader&amp;state=confirmed#subscribers"' in page  # and so do the state links
    assert ">pending 30</a>" in page and ">confirmed 0</a>" in page


@pytest.mark.parametrize("query", ["?page=3", "?page=0", "?page=-1", "?page=abc", "?page=1e3", "?page=" + "9" * 30,
                                   "?state=bounced&page=2", "?q=nobody&page=2"])
def test_a_page_that_does_not_exist_is_404(env: dict[str, str], make_app, storage: Storage, query: str) -> None:  # type: ignore[no-untyped-def]
    add(storage, [f"r{i:02d}@example.org" for i in range(30)])  # two pages
    resp = make_app(env).test_client().get("/admin" + query, headers=ADMIN)
    assert resp.status_code == 404
    assert "There is no page" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("?state=gone", "There is no subscriber state &#39;gone&#39;: it is one of pending, confirmed, unsubscribed, bounced."),
    ("?q=" + "x" * 321, "An address search is at most 320 characters; this one has 321."),
])
def test_a_bad_filter_is_a_400_that_names_it(env: dict[str, str], make_app, storage: Storage, query: str,  # type: ignore[no-untyped-def]
                                             message: str) -> None:
    resp = make_app(env).test_client().get("/admin" + query, headers=ADMIN)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
