"""/admin's part in bounces (issue 16 item 4): each run's bounce and complaint rates, the pause banner and its
Resume button, the suppression list and its Lift buttons. Digests really sent (to the outbox), complaints
recorded through the BounceProcessor, the page read as tables."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from feedsvc.bounces.events import BounceReport
from feedsvc.bounces.processor import BounceProcessor
from feedsvc.config import load_settings
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from tests.html_tables import table_rows
from tests.test_admin import ADMIN, TOKEN

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"FEEDSVC_ADMIN_TOKEN": TOKEN, "FEEDSVC_BOUNCE_DOMAIN": "bounces.press.example.org"}


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/admin", headers=ADMIN).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_complaints_past_the_limit_pause_sending_and_admin_sees_lifts_and_resumes(  # type: ignore[no-untyped-def]
        env, make_app, storage: Storage, ingester, clock) -> None:
    readers = [f"reader{i}@example.org" for i in range(8)]
    for address in readers:
        storage.add_confirmed(address, (), "daily", T0 - dt.timedelta(days=1))
    ingester.scan()
    settings = load_settings(env)
    postman = Postman(storage, settings, clock=clock)
    run_id, = postman.manual_runs(("daily",))
    assert postman.send_pending().sent == 8
    processor = BounceProcessor(storage, settings, clock)

    def report(address: str, kind: str, key: str) -> BounceReport:
        return BounceReport("mailbox", key, kind, address, f"test {kind}", clock())  # type: ignore[arg-type]

    assert processor.record(report("reader0@example.org", "hard", "<b1@x>")) == "new"
    assert processor.record(report("reader1@example.org", "complaint", "<c1@x>")) == "new"
    assert storage.sending_pause() is None  # one complaint: one reader, not yet the run
    assert processor.record(report("reader2@example.org", "complaint", "<c2@x>")) == "new"
    pause = storage.sending_pause()
    assert pause is not None and pause.run_id == run_id and "2 spam complaints for 8 delivered" in pause.reason

    client = make_app(env).test_client()
    page = client.get("/admin", headers=ADMIN).get_data(as_text=True)
    assert 'id="sending-paused"' in page and "Sending is paused" in page and "25.00%" in page
    run, = table_rows(page, "digest-runs")
    assert (run["Sent"], run["Bounces"], run["Complaints"]) == ("8", "1 (12.50%)", "2 (25.00%)")
    assert 'class="n over" data-label="Complaints"' in page
    rows = {r["Address"]: r for r in table_rows(page, "suppression-list")}
    assert set(rows) == {"reader0@example.org", "reader1@example.org", "reader2@example.org"}
    assert rows["reader0@example.org"]["Why"] == "hard" and rows["reader0@example.org"]["Reason"] == "hard bounce: test hard"
    assert rows["reader1@example.org"]["Since"] == clock().strftime("%Y-%m-%d %H:%M")
    assert "3 addresses are never mailed" in page

    # Actions need the form's token.
    assert client.post("/admin/resume", headers=ADMIN).status_code == 400
    token = csrf(client)
    lifted = client.post("/admin/suppressions/lift", data={"csrf_token": token, "email": "reader0@example.org"},
                         headers=ADMIN)
    assert lifted.status_code == 303 and lifted.headers["Location"].endswith("/admin#suppressions")
    assert not storage.is_suppressed("reader0@example.org")
    assert storage.get_subscriber_by_email("reader0@example.org").state == "confirmed"  # type: ignore[union-attr]
    assert storage.get_subscriber_by_email("reader1@example.org").state == "unsubscribed"  # type: ignore[union-attr]
    again = client.post("/admin/suppressions/lift", data={"csrf_token": token, "email": "reader0@example.org"},
                        headers=ADMIN)
    assert again.status_code == 404

    resumed = client.post("/admin/resume", data={"csrf_token": token}, headers=ADMIN)
    assert resumed.status_code == 303 and storage.sending_pause() is None
    assert 'id="sending-paused"' not in client.get("/admin", headers=ADMIN).get_data(as_text=True)
    # A third complaint on the run an operator resumed does not pause sending again.
    processor.record(report("reader3@example.org", "complaint", "<c3@x>"))
    assert storage.sending_pause() is None
