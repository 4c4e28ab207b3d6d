"""Confirmation emails go through a queue: the sign-up never waits on the mail server (issue 12 item 5).

Real parts throughout: the app's /subscribe form, the database, aiosmtpd on loopback, the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.runs.confirmations import LEASE, ConfirmationSender
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from feedsvc.transport.smtp import SmtpMailer, parse_smtp_url
from tests.smtp_server import SmtpTestServer, free_port


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env


def sign_up(client: Any, address: str, remote_addr: str) -> Any:
    """The form as a browser posts it (CSRF token included); each caller its own client address."""
    page = client.get("/subscribe").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post("/subscribe", data={"email": address, "frequency": "weekly", "csrf_token": csrf},
                       environ_base={"REMOTE_ADDR": remote_addr})


def answer(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.get_data(as_text=True)


def no_retries(services: Services, url: str) -> ConfirmationSender:
    """The real sender over the real SMTP mailer, told not to back off (the server is known to be down)."""
    return ConfirmationSender(services.storage, services.settings, services.links, services.clock,
                              mailer_factory=lambda: SmtpMailer(parse_smtp_url(url), retries=0))


def test_sign_up_answers_the_same_with_the_mail_server_down_and_the_email_follows(
        env: dict[str, str], make_app: Any, storage: Storage) -> None:
    port = free_port()
    url = f"smtp://127.0.0.1:{port}"
    app = make_app(env | {"SMTP_URL": url})
    services: Services = app.extensions["feedsvc"]
    client = app.test_client()

    down = sign_up(client, "reader@example.org", "10.0.0.1")
    assert down.status_code == 200 and "Check your inbox" in down.get_data(as_text=True)
    assert storage.get_subscriber_by_email("reader@example.org").state == "pending"
    # A drain while the server is down keeps the email queued, with the reason.
    report = no_retries(services, url).send_queued()
    assert (report.sent, report.retry_later) == (0, 1)
    assert storage.confirmation_counts() == {"pending": 1}

    with SmtpTestServer(port=port) as server:
        up = sign_up(client, "other@example.org", "10.0.0.2")
        assert server.connections == 0  # neither request talked to the mail server
        assert answer(up) == answer(down)  # and nothing in the answer tells whether it could

        assert services.confirmations().send_queued().sent == 2
        assert services.confirmations().send_queued().sent == 0
        by_address = {m.rcpt_tos: m.message for m in server.messages}
        assert sorted(by_address) == [("other@example.org",), ("reader@example.org",)]
    assert storage.confirmation_counts() == {"sent": 2}

    confirmation = by_address[("reader@example.org",)]
    assert "Confirm" in str(confirmation["Subject"])
    text = confirmation.get_body(("plain",)).get_content()
    (link,) = set(re.findall(r"https://press\.example\.org(/confirm/[\w.-]+)", text))
    page = client.get(link)  # what a link scanner does: the page shows a button and changes nothing
    assert page.status_code == 200 and "Confirm subscription" in page.get_data(as_text=True)
    assert storage.get_subscriber_by_email("reader@example.org").state == "pending"
    assert client.post(link).status_code == 200
    assert storage.get_subscriber_by_email("reader@example.org").state == "confirmed"


def test_the_serve_process_sends_from_its_background_worker(env: dict[str, str], storage: Storage,
                                                           smtp_server: SmtpTestServer, clock: Any) -> None:
    """`feedsvc serve`'s wiring: one Services for the web and the worker; no drain called by hand."""
    services = build_services(load_settings(env), clock, storage=storage)
    worker = services.start_confirmation_worker()
    try:
        resp = sign_up(create_app(services=services).test_client(), "reader@example.org", "10.0.0.3")
        assert resp.status_code == 200
        (got,) = smtp_server.wait_for_messages(1)
        assert got.rcpt_tos == ("reader@example.org",)
    finally:
        worker.stop()


def test_claims_refusals_and_expiry(env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer,
                                    clock: Any) -> None:
    services = build_services(load_settings(env), clock, storage=storage)
    sender = services.confirmations()

    # A dead sender's claim: nobody takes it until its lease is over, then it goes out once.
    storage.subscribe("a@example.org", (), "weekly", clock())
    (claimed,) = storage.claim_confirmations(clock(), stale_before=clock() - LEASE)
    assert claimed.email == "a@example.org"
    assert sender.send_queued().sent == 0 and smtp_server.messages == []
    clock.advance(minutes=11)
    assert sender.send_queued().sent == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [("a@example.org",)]

    # Signing up again within the hour queues nothing more.
    assert storage.subscribe("a@example.org", (), "daily", clock())[1] is False

    # A permanent refusal is not retried; an email older than its link is not sent at all.
    smtp_server.handler.rcpt_replies["gone@example.org"] = ["550 5.1.1 no such user"]
    storage.subscribe("gone@example.org", (), "weekly", clock())
    report = sender.send_queued()
    assert (report.sent, report.failed) == (0, 1)
    storage.subscribe("late@example.org", (), "weekly", clock())
    clock.advance(days=3)
    assert sender.send_queued().failed == 1
    assert sender.send_queued().failed == 0
    assert len(smtp_server.messages) == 1
    assert storage.confirmation_counts() == {"sent": 1, "failed": 2}


def test_feedsvc_digest_sends_queued_confirmations(storage: Storage, db_url: str, content_dir: Path,
                                                   tmp_path: Path) -> None:
    from tests.test_cli import run

    # The command reads the real clock: the email is queued now, so its link is still good.
    storage.subscribe("new@example.org", (), "weekly", dt.datetime.now(dt.UTC))
    env = {"DATABASE_URL": db_url, "FEEDSVC_CONTENT_DIR": str(content_dir),
           "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst"), "SECRET_KEY": "cli-secret-long-enough-for-production-use"}
    out = run("digest", env=env, cwd=tmp_path).stdout
    assert "confirmation emails: 1 sent, 0 failed, 0 left for a retry" in out
    (eml,) = (tmp_path / "inst" / "outbox").glob("*.eml")
    assert "To: new@example.org" in eml.read_text() and "Confirm" in eml.read_text()
    assert "confirmation emails" not in run("digest", env=env, cwd=tmp_path).stdout
