"""Subscriptions against a hostile client (issue 14.2), through the real form, links, database and SMTP
server: ids never reused, links bound to their address, confirmation once and by POST only,
addresses refused with a reason, the sign-up limit per client the proxy saw."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from feedsvc.app import create_app
from feedsvc.cli import serve_settings
from feedsvc.config import load_settings
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from tests.conftest import Clock
from tests.smtp_server import SmtpTestServer
from tests.test_confirmations import sign_up


@pytest.fixture
def env(db_url: str, content_dir: Path, topics_file: Path, tmp_path: Path, smtp_server: SmtpTestServer) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SECRET_KEY": "subscriptions-test-secret-long-enough-for-production",
            "FEEDSVC_BASE_URL": "https://press.example.org", "FEEDSVC_CONTENT_DIR": str(content_dir),
            "FEEDSVC_TOPICS": str(topics_file), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"),
            "SMTP_URL": f"smtp://{smtp_server.host}:{smtp_server.port}",
            "MAIL_FROM": "IOM Turkey <news@press.example.org>"}


@pytest.fixture
def services(env: dict[str, str], storage: Storage, clock: Clock) -> Services:
    """One process's parts on the test clock (the app, the confirmation sender), as `feedsvc serve` wires them."""
    return build_services(load_settings(env), clock, storage=storage)


def client_of(services: Services) -> Any:
    return create_app(services=services).test_client()


def confirmation_link(services: Services, server: SmtpTestServer, address: str) -> str:
    """Drain the queue as a sender process does; the path of the link in the newest email to `address`."""
    services.confirmations().send_queued()
    (*_, msg) = [m.message for m in server.messages if m.rcpt_tos == (address,)]
    (link,) = set(re.findall(r"https://press\.example\.org(/confirm/[\w.-]+)", msg.get_body(("plain",)).get_content()))
    return link


def state_of(storage: Storage, address: str) -> str | None:
    sub = storage.get_subscriber_by_email(address)
    return sub.state if sub else None


# -- confirmation ----------------------------------------------------------------------------------


def test_a_confirmation_link_confirms_by_post_once_and_never_after_an_unsubscribe(
        services: Services, storage: Storage, smtp_server: SmtpTestServer, clock: Clock) -> None:
    client = client_of(services)
    reader = "reader@example.org"
    assert sign_up(client, reader, "192.0.2.1").status_code == 200
    link = confirmation_link(services, smtp_server, reader)

    # A link scanner opens it: the page offers a button, nothing is confirmed.
    for _ in range(3):
        page = client.get(link)
        assert page.status_code == 200 and '<form method="post"><button type="submit">Confirm subscription' in (
            page.get_data(as_text=True))
    assert state_of(storage, reader) == "pending"

    confirmed = client.post(link)
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.get_data(as_text=True)
    sub = storage.get_subscriber_by_email(reader)
    assert sub is not None and sub.state == "confirmed" and sub.confirmed_at == clock()

    # Twice: nothing more happens (the confirmation time and the digest's start stay).
    clock.advance(minutes=5)
    again = client.post(link)
    assert again.status_code == 200 and "Already confirmed" in again.get_data(as_text=True)
    assert storage.get_subscriber_by_email(reader).confirmed_at == sub.confirmed_at  # type: ignore[union-attr]
    assert "Confirm subscription" not in client.get(link).get_data(as_text=True)

    # The reader unsubscribes; the confirmation link, clicked again (or by a scanner), does not
    # subscribe them again, by GET or by POST.
    unsubscribe = services.links.unsubscribe(sub.id, reader).removeprefix("https://press.example.org")
    assert client.post(unsubscribe).status_code == 200 and state_of(storage, reader) == "unsubscribed"
    assert client.get(link).status_code == 410 and client.post(link).status_code == 410
    assert "already used" in client.post(link).get_data(as_text=True)
    assert state_of(storage, reader) == "unsubscribed"

    # Signed up again (by anyone): still not by the old link; the new email's link confirms.
    clock.advance(hours=2)  # past the hour between two confirmation emails to one address
    assert sign_up(client, reader, "192.0.2.2").status_code == 200
    assert state_of(storage, reader) == "pending"
    assert client.post(link).status_code == 410 and state_of(storage, reader) == "pending"
    fresh = confirmation_link(services, smtp_server, reader)
    assert fresh != link
    assert client.post(fresh).status_code == 200 and state_of(storage, reader) == "confirmed"


def test_a_second_emails_link_and_the_first_one_act_once_between_them(
        services: Services, storage: Storage, smtp_server: SmtpTestServer, clock: Clock) -> None:
    client = client_of(services)
    reader = "twice@example.org"
    sign_up(client, reader, "192.0.2.3")
    first = confirmation_link(services, smtp_server, reader)
    clock.advance(hours=2)
    sign_up(client, reader, "192.0.2.3")  # no answer yet: asks again an hour later
    second = confirmation_link(services, smtp_server, reader)
    assert client.post(second).status_code == 200 and state_of(storage, reader) == "confirmed"
    sub = storage.get_subscriber_by_email(reader)
    assert sub is not None
    client.post(services.links.unsubscribe(sub.id, reader).removeprefix("https://press.example.org"))
    assert client.post(first).status_code == 410 and state_of(storage, reader) == "unsubscribed"


# -- ids and links -----------------------------------------------------------------------------------


def test_a_deleted_subscribers_links_never_act_on_the_next_one(
        services: Services, storage: Storage, smtp_server: SmtpTestServer) -> None:
    client = client_of(services)
    sign_up(client, "first@example.org", "192.0.2.10")
    link = confirmation_link(services, smtp_server, "first@example.org")
    sign_up(client, "gone@example.org", "192.0.2.11")
    gone_confirm = confirmation_link(services, smtp_server, "gone@example.org")
    gone = storage.get_subscriber_by_email("gone@example.org")
    assert gone is not None
    gone_links = [services.links.unsubscribe(gone.id, gone.email), services.links.preferences(gone.id, gone.email)]
    assert storage.remove_subscriber("gone@example.org")  # the newest row, the one SQLite would hand out again

    sign_up(client, "stranger@example.org", "192.0.2.12")
    stranger = storage.get_subscriber_by_email("stranger@example.org")
    assert stranger is not None and stranger.id > gone.id  # never reused (SQLite AUTOINCREMENT, migration 0015)
    for url in gone_links:
        path = url.removeprefix("https://press.example.org")
        assert client.get(path).status_code == 404 and client.post(path).status_code in (400, 404)
    assert client.get(gone_confirm).status_code == 404 and client.post(gone_confirm).status_code == 404
    assert state_of(storage, "stranger@example.org") == "pending"
    assert client.post(link).status_code == 200 and state_of(storage, "first@example.org") == "confirmed"


def test_links_made_before_addresses_were_bound_work_for_their_subscriber_only(
        tmp_path: Path, content_dir: Path, topics_file: Path) -> None:
    """A database from before migration 0015 on SQLite, where a deleted last id was given again."""
    storage = Storage(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    env = {"DATABASE_URL": storage.url, "SECRET_KEY": "subscriptions-test-secret-long-enough-for-production",
           "FEEDSVC_BASE_URL": "https://press.example.org", "FEEDSVC_CONTENT_DIR": str(content_dir),
           "FEEDSVC_TOPICS": str(topics_file), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance")}
    storage.upgrade("0014")
    # Today's code writes the old rows: it selects columns added after 0015 (0018's time_zone, 0019's languages, 0020's locale), so
    # they are lent to the old schema meanwhile and taken back before the deploy adds them for real.
    later_columns = ("time_zone VARCHAR(64)", "languages TEXT NOT NULL DEFAULT ''", "locale VARCHAR(16)")
    with storage.engine.begin() as conn:
        for column in later_columns:
            conn.exec_driver_sql(f"ALTER TABLE subscribers ADD COLUMN {column}")
    now = dt.datetime.now(dt.UTC)
    earlier = now - dt.timedelta(hours=1)
    storage.add_confirmed("keeper@example.org", (), "weekly", earlier)
    storage.subscribe("waiting@example.org", (), "weekly", earlier)
    storage.add_confirmed("leaver@example.org", (), "weekly", earlier)
    keeper, waiting, leaver = (storage.get_subscriber_by_email(f"{n}@example.org") for n in ("keeper", "waiting", "leaver"))
    assert keeper and waiting and leaver
    services = build_services(load_settings(env), lambda: now, storage=storage)
    tokens = services.links.tokens
    assert tokens is not None
    # What the code before issue 14.2 put in emails: the id alone.
    old = {name: tokens.make(purpose, sub.id) for name, purpose, sub in (
        ("keeper", "unsubscribe", keeper), ("waiting", "confirm", waiting), ("leaver", "unsubscribe", leaver),
        ("leaver-prefs", "manage", leaver))}
    storage.remove_subscriber("leaver@example.org")
    storage.add_confirmed("stranger@example.org", (), "weekly", now + dt.timedelta(seconds=5))
    stranger = storage.get_subscriber_by_email("stranger@example.org")
    assert stranger is not None and stranger.id == leaver.id  # SQLite before 0015: the id given again
    with storage.engine.begin() as conn:
        for column in later_columns:
            conn.exec_driver_sql(f"ALTER TABLE subscribers DROP COLUMN {column.split()[0]}")
    storage.upgrade()  # the deploy

    client = client_of(services)
    assert client.get(f"/unsubscribe/{old['leaver']}").status_code == 404
    assert client.post(f"/unsubscribe/{old['leaver']}").status_code == 404
    assert client.get(f"/preferences/{old['leaver-prefs']}").status_code == 404
    assert state_of(storage, "stranger@example.org") == "confirmed"
    # The old links of people still there keep working.
    assert client.post(f"/unsubscribe/{old['keeper']}").status_code == 200
    assert state_of(storage, "keeper@example.org") == "unsubscribed"
    assert "Confirm subscription" in client.get(f"/confirm/{old['waiting']}").get_data(as_text=True)
    assert client.post(f"/confirm/{old['waiting']}").status_code == 200
    assert state_of(storage, "waiting@example.org") == "confirmed"
    storage.close()


def test_ids_are_never_given_again_after_the_migration(storage: Storage, clock: Clock) -> None:
    for name in ("a", "b", "c"):
        storage.subscribe(f"{name}@example.org", (), "weekly", clock())
    c = storage.get_subscriber_by_email("c@example.org")
    assert c is not None and storage.remove_subscriber("c@example.org")
    storage.subscribe("d@example.org", (), "weekly", clock())
    d = storage.get_subscriber_by_email("d@example.org")
    assert d is not None and d.id == c.id + 1
    # Down to 0014 and back (SQLite copies the tables twice): the ids and the sequence survive.
    command.downgrade(storage.alembic_config(), "0014")
    storage.upgrade()
    assert storage.remove_subscriber("d@example.org")
    storage.subscribe("e@example.org", (), "weekly", clock())
    assert storage.get_subscriber_by_email("e@example.org").id == d.id + 1  # type: ignore[union-attr]
    assert storage.confirmation_counts() == {"pending": 3}


# -- addresses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "status", "said"), [
    ("ayşe@example.org", 400, "outside plain ASCII (ş)"),
    ("Ünal.Öztürk@örnek.com.tr", 400, "outside plain ASCII"),
    ("a" * 65 + "@example.org", 400, "has 65 characters: at most 64"),
    ("x@xn--zz.com", 400, "not valid IDNA"),
    ("a@b@example.org", 400, "invalid characters"),
    ("nul\x00@example.org", 400, "invalid characters"),
    ("x" * 5000 + "@example.org", 400, "too long"),
    ("reader@[127.0.0.1]", 400, "bracketed IP address"),
    ("reader@" + "ü" * 70 + ".example", 400, "@"),
    ("", 400, "This field is required"),
])
def test_addresses_that_cannot_be_subscribed_are_refused_on_the_form(
        services: Services, storage: Storage, typed: str, status: int, said: str) -> None:
    resp = sign_up(client_of(services), typed, "192.0.2.20")
    assert resp.status_code == status
    assert said in resp.get_data(as_text=True).replace("&#39;", "'").replace("&amp;", "&")
    assert list(storage.iter_subscribers()) == []


def test_an_internationalised_domain_is_stored_and_sent_to_in_its_ascii_form(
        services: Services, storage: Storage, smtp_server: SmtpTestServer) -> None:
    client = client_of(services)
    assert sign_up(client, "Reader@Bücher.Example", "192.0.2.21").status_code == 200
    assert sign_up(client, "a" * 64 + "@example.org", "192.0.2.21").status_code == 200
    assert sorted(s.email for s in storage.iter_subscribers()) == ["a" * 64 + "@example.org",
                                                                   "reader@xn--bcher-kva.example"]
    assert services.confirmations().send_queued().sent == 2
    assert sorted(m.rcpt_tos for m in smtp_server.messages) == [("a" * 64 + "@example.org",),
                                                                ("reader@xn--bcher-kva.example",)]
    # The same person typing the Unicode form again is the same subscriber.
    assert sign_up(client, "reader@bücher.example", "192.0.2.21").status_code == 200
    assert len(list(storage.iter_subscribers())) == 2


# -- the answer, and when the email goes -------------------------------------------------------------


def test_the_answer_is_the_same_whatever_the_address_and_the_email_follows_it(
        services: Services, storage: Storage, smtp_server: SmtpTestServer, clock: Clock) -> None:
    storage.add_confirmed("subscribed@example.org", (), "weekly", clock())
    storage.subscribe("pending@example.org", (), "weekly", clock())
    storage.add_confirmed("left@example.org", (), "weekly", clock())
    storage.unsubscribe(storage.get_subscriber_by_email("left@example.org").id, clock())  # type: ignore[union-attr]
    storage.add_confirmed("bounced@example.org", (), "weekly", clock())
    storage.bounce(storage.get_subscriber_by_email("bounced@example.org").id, "550 5.1.1 no such user")  # type: ignore[union-attr]
    # `serve`'s wiring: the worker sends what a request queued. The SMTP server holds its greeting
    # until the test has read the answer: the answer cannot have waited on the email.
    answered = threading.Event()
    smtp_server.handler.on_event = lambda kind, n: answered.wait(30) if kind == "connect" else None
    worker = services.start_confirmation_worker()
    try:
        client = client_of(services)
        answers = {}
        for address in ("new@example.org", "pending@example.org", "subscribed@example.org", "left@example.org",
                        "bounced@example.org"):
            resp = sign_up(client, address, "192.0.2.30")
            answers[address] = (resp.status_code, resp.get_data(as_text=True))
        assert smtp_server.messages == []
        answered.set()
        # Pending's was queued at its own sign-up; the form's second one within the hour queued none.
        got = smtp_server.wait_for_messages(4)
    finally:
        worker.stop()
        smtp_server.handler.on_event = None
    assert len(set(answers.values())) == 1 and next(iter(answers.values()))[0] == 200
    assert sorted(m.rcpt_tos[0] for m in got) == ["bounced@example.org", "left@example.org", "new@example.org",
                                                  "pending@example.org"]
    assert state_of(storage, "subscribed@example.org") == "confirmed"


# -- the sign-up limit, per client the proxy saw -------------------------------------------------------


def post_from(client: Any, address: str, remote: str, forwarded: str | None) -> int:
    page = client.get("/subscribe").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return int(client.post("/subscribe", data={"email": address, "frequency": "weekly", "csrf_token": csrf},
                           headers=headers, environ_base={"REMOTE_ADDR": remote}).status_code)


def test_the_sign_up_limit_is_shared_by_web_processes_and_keyed_on_the_client_the_router_saw(
        env: dict[str, str], make_app: Any, storage: Storage) -> None:
    one, two = make_app(env).test_client(), make_app(env).test_client()  # two web processes, one database
    router = "10.1.2.3"
    # A PaaS (no FEEDSVC_PROXY_HOPS): the router appends the address it saw to X-Forwarded-For.
    statuses = [post_from((one, two)[i % 2], f"r{i}@example.org", router, "203.0.113.7") for i in range(5)]
    assert statuses == [200] * 5
    assert post_from(one, "r5@example.org", router, "203.0.113.7") == 429
    # What the client writes in front of it is not believed: the router's entry is the last one.
    assert post_from(two, "r6@example.org", router, "198.51.100.99, 203.0.113.7") == 429
    resp = one.post("/subscribe", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": router})
    assert resp.status_code == 400  # no CSRF token: refused before counting
    # Another client behind the same router is not limited.
    assert post_from(one, "other@example.org", router, "203.0.113.8") == 200
    # IPv6: one subscriber line is a /64.
    for i in range(5):
        assert post_from(two, f"v6-{i}@example.org", router, f"2001:db8:1:2::{i + 1}") == 200
    assert post_from(two, "v6-5@example.org", router, "2001:db8:1:2:ffff::9") == 429
    assert post_from(two, "v6-other@example.org", router, "2001:db8:1:3::1") == 200
    limited = one.post  # the 429 says when to come back
    page = one.get("/subscribe").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    resp = limited("/subscribe", data={"email": "late@example.org", "frequency": "weekly", "csrf_token": csrf},
                   headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": router})
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 600
    assert storage.get_subscriber_by_email("r5@example.org") is None


def test_proxy_hops_are_as_configured(env: dict[str, str], make_app: Any, storage: Storage) -> None:
    # Two proxies (a CDN, then the router): the client is the second entry from the right.
    cdn = make_app(env | {"FEEDSVC_PROXY_HOPS": "2"}).test_client()
    for i in range(5):
        assert post_from(cdn, f"c{i}@example.org", "10.0.0.1", f"spoofed{i}, 203.0.113.50, 192.0.2.200") == 200
    assert post_from(cdn, "c5@example.org", "10.0.0.1", "another, 203.0.113.50, 192.0.2.201") == 429
    # None (`feedsvc serve`'s default): X-Forwarded-For is the client's own say, and ignored.
    settings = serve_settings(load_settings(env), 8000)
    assert settings.proxy_hops == 0
    assert serve_settings(load_settings(env | {"FEEDSVC_PROXY_HOPS": "1"}), 8000).proxy_hops == 1
    laptop = create_app(services=build_services(settings, lambda: dt.datetime.now(dt.UTC), storage=storage)).test_client()
    for i in range(5):
        assert post_from(laptop, f"l{i}@example.org", "192.0.2.77", f"198.51.100.{i}") == 200
    assert post_from(laptop, "l5@example.org", "192.0.2.77", "198.51.100.200") == 429
    assert load_settings(env).proxy_hops is None
    with pytest.raises(Exception, match="FEEDSVC_PROXY_HOPS"):
        load_settings(env | {"FEEDSVC_PROXY_HOPS": "-1"})


def test_addresses_kept_with_a_unicode_domain_are_moved_to_their_ascii_form(storage: Storage, clock: Clock) -> None:
    """What the form stored before migration 0015: the domain as typed. The mailer cannot send to it."""
    command.downgrade(storage.alembic_config(), "0014")
    for email in ("reader@bücher.example", "twice@örnek.com.tr", "twice@xn--rnek-4qa.com.tr", "ayşe@example.org"):
        storage.add_confirmed(email, (), "weekly", clock())
    storage.upgrade()
    assert sorted(s.email for s in storage.iter_subscribers()) == [
        "ayşe@example.org",  # a non-ASCII local part: nothing to do about it (the mailer refuses it, as before)
        "reader@xn--bcher-kva.example",
        "twice@xn--rnek-4qa.com.tr",
        "twice@örnek.com.tr",  # its ASCII form is subscribed already: left alone, the operator is told
    ]
