"""`feedsvc check` against a deployment with one thing wrong at a time, through real parts:
a real SQLite or PostgreSQL database, a real SMTP server on loopback (plain, STARTTLS, AUTH)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.check import Finding, run_checks
from feedsvc.storage import Storage

from .conftest import SAMPLES, TOPICS, pg_url_or_skip
from .smtp_server import SmtpTestServer, free_port, self_signed_tls


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A production deployment that works: migrated database, relay with AUTH, https base URL."""
    storage = Storage(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    storage.upgrade()
    storage.close()
    with SmtpTestServer(credentials=("press", "s3cret")) as relay:
        yield {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SECRET_KEY": "x" * 48,
            "FEEDSVC_BASE_URL": "https://press.example.org",
            "SMTP_URL": f"smtp://press:s3cret@{relay.host}:{relay.port}",
            "MAIL_FROM": "Press office <press@press-office.org>",
            "FEEDSVC_CONTENT_DIR": str(SAMPLES),
            "FEEDSVC_TOPICS": str(TOPICS),
            "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"),
        }
        assert relay.messages == []  # a check never sends


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def problems(findings: list[Finding]) -> list[str]:
    return [f.check for f in findings if f.status == "problem"]


def test_a_working_deployment_passes_every_check(deployment: dict[str, str]) -> None:
    found = run_checks(deployment)
    assert [f.status for f in found] == ["ok"] * len(found), [f.lines() for f in found]
    assert "EHLO, AUTH ok (no message sent)" in by_check(found)["SMTP server"].detail
    assert "latest migration" in by_check(found)["database"].detail


@pytest.mark.parametrize(("change", "check", "says"), [
    ({"SMTP_URL": "http://typo.example"}, "SMTP server", "SMTP_URL"),
    ({"FEEDSVC_BASE_URL": "http://press.example.org"}, "FEEDSVC_BASE_URL", "plain http"),
    ({"FEEDSVC_BASE_URL": ""}, "FEEDSVC_BASE_URL", "unset"),
    ({"SECRET_KEY": ""}, "SECRET_KEY", "unset"),
    ({"SECRET_KEY": "x" * 31}, "SECRET_KEY", "31 characters"),
    ({"MAIL_FROM": "Press <press@localhost>"}, "MAIL_FROM", "localhost"),
    ({"FEEDSVC_CONTENT_DIR": "/nonexistent/releases"}, "content folder", "not a folder"),
])
def test_one_wrong_setting_is_one_problem_naming_it(deployment: dict[str, str], change: dict[str, str],
                                                     check: str, says: str) -> None:
    found = run_checks({**deployment, **change})
    if check == "SMTP server" and problems(found) == ["settings"]:
        # Start-up validation may refuse the URL before the SMTP check runs: still one line naming it.
        check = "settings"
    assert problems(found) == [check]
    assert says in by_check(found)[check].detail
    assert by_check(found)[check].fix


def test_an_invalid_taxonomy_is_reported_with_its_reason(deployment: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "topics.toml"
    bad.write_text('[[topic]]\nslug = "Bad Slug"\n', encoding="utf-8")
    found = run_checks({**deployment, "FEEDSVC_TOPICS": str(bad)})
    assert problems(found) == ["taxonomy"]
    assert str(bad) in by_check(found)["taxonomy"].detail


def test_a_database_not_migrated_says_to_upgrade(deployment: dict[str, str], tmp_path: Path) -> None:
    storage = Storage(deployment["DATABASE_URL"])
    storage.upgrade("0006")  # an older schema: the deploy forgot `db upgrade`
    storage.drop_everything()
    storage.upgrade("0006")
    storage.close()
    found = run_checks(deployment)
    assert problems(found) == ["database"]
    assert "schema at 0006" in by_check(found)["database"].detail
    assert by_check(found)["database"].fix == "run `feedsvc db upgrade`"


def test_a_missing_sqlite_file_is_reported_and_not_created(deployment: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "db.sqlite3"
    found = run_checks({**deployment, "DATABASE_URL": f"sqlite:///{missing}"})
    assert problems(found) == ["database"]
    assert not missing.parent.exists()


def test_postgresql_refusing_connections_is_one_readable_line(deployment: dict[str, str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    found = run_checks({**deployment, "DATABASE_URL": url})
    assert problems(found) == ["database"]
    detail = by_check(found)["database"].detail
    assert "127.0.0.1" in detail and "\n" not in detail and "sqlalche.me" not in detail


def test_a_migrated_postgresql_passes(deployment: dict[str, str]) -> None:
    url = pg_url_or_skip()
    storage = Storage(url.replace("postgresql://", "postgresql+psycopg://"))
    storage.upgrade()
    storage.close()
    found = run_checks({**deployment, "DATABASE_URL": url})
    assert problems(found) == []


def test_an_unreachable_relay_fails_a_check_but_only_warns_at_release(deployment: dict[str, str]) -> None:
    down = {**deployment, "SMTP_URL": f"smtp://press:s3cret@127.0.0.1:{free_port()}"}
    assert problems(run_checks(down)) == ["SMTP server"]
    released = by_check(run_checks(down, smtp_optional=True))["SMTP server"]
    assert released.status == "warning" and "cannot connect" in released.detail


def test_wrong_smtp_password_is_named(deployment: dict[str, str]) -> None:
    found = run_checks({**deployment, "SMTP_URL": deployment["SMTP_URL"].replace("s3cret", "wrong")})
    assert problems(found) == ["SMTP server"]
    assert "refused the user name or password" in by_check(found)["SMTP server"].detail


def test_starttls_with_an_untrusted_certificate_is_refused_and_trusted_one_passes(
        deployment: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_ctx, _client = self_signed_tls(tmp_path)
    with SmtpTestServer(tls_context=server_ctx) as relay:
        env = {**deployment, "SMTP_URL": f"smtp+starttls://{relay.host}:{relay.port}"}
        refused = by_check(run_checks(env))["SMTP server"]
        assert refused.status == "problem" and "certificate refused" in refused.detail
        # The same relay once its certificate is trusted, as an operator would install it.
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        assert by_check(run_checks(env))["SMTP server"].detail.endswith("EHLO, STARTTLS ok (no message sent)")
        assert relay.messages == []


def test_the_command_exits_non_zero_on_a_problem_and_zero_at_release_with_the_relay_down(
        deployment: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "SMTP_URL", "DATABASE_URL"))}
    env.update(deployment, SMTP_URL=f"smtp://press:s3cret@127.0.0.1:{free_port()}")
    cmd = [sys.executable, "-m", "feedsvc.cli", "check"]
    failed = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "problem  SMTP server" in failed.stdout and "1 problem to fix" in failed.stderr
    released = subprocess.run([*cmd, "--release"], env=env, capture_output=True, text=True, check=False)
    assert released.returncode == 0, released.stdout + released.stderr
    assert "warning  SMTP server" in released.stdout and "all checks passed" in released.stdout


def test_bounce_settings_are_checked(deployment: dict[str, str], tmp_path: Path) -> None:
    import mailbox

    found = by_check(run_checks(deployment))
    assert found["bounce return path"].status == "ok" and "not read" in found["bounce return path"].detail
    assert found["bounce mailbox"].status == "ok"

    maildir = tmp_path / "Maildir"
    mailbox.Maildir(maildir, create=True).add(b"From: MAILER-DAEMON@x\r\n\r\nbounce\r\n")
    configured = {**deployment, "FEEDSVC_BOUNCE_DOMAIN": "bounces.press-office.org",
                  "FEEDSVC_BOUNCE_MAILBOX": str(maildir)}
    found = by_check(run_checks(configured, mx_lookup=lambda domain: ["mx1.press-office.org"]))
    assert found["bounce return path"].status == "ok"
    assert "bounces+<token>@bounces.press-office.org; MX mx1.press-office.org" in found["bounce return path"].detail
    assert found["bounce mailbox"].status == "ok"
    assert "reachable, 1 message waiting (nothing read or moved)" in found["bounce mailbox"].detail
    assert len(mailbox.Maildir(maildir)) == 1  # a check only looks

    no_mx = by_check(run_checks(configured, mx_lookup=lambda domain: []))
    assert no_mx["bounce return path"].status == "problem" and "no MX record" in no_mx["bounce return path"].detail
    gone = by_check(run_checks({**configured, "FEEDSVC_BOUNCE_MAILBOX": str(tmp_path / "nowhere")},
                               mx_lookup=lambda domain: ["mx1.press-office.org"]))
    assert gone["bounce mailbox"].status == "problem" and "not a maildir" in gone["bounce mailbox"].detail
    refused = by_check(run_checks({**configured, "FEEDSVC_BOUNCE_MAILBOX": f"imaps://u:p@127.0.0.1:{free_port()}/INBOX"},
                                  mx_lookup=lambda domain: ["mx1.press-office.org"]))
    assert refused["bounce mailbox"].status == "problem" and "cannot connect" in refused["bounce mailbox"].detail
    assert ":p@" not in refused["bounce mailbox"].detail  # never the password
    unread = by_check(run_checks({**configured, "FEEDSVC_BOUNCE_MAILBOX": ""},
                                 mx_lookup=lambda domain: ["mx1.press-office.org"]))
    assert unread["bounce mailbox"].status == "warning"


def test_a_reachable_imap_bounce_mailbox(deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.dovecot import run_dovecot

    servers = run_dovecot()
    dovecot = next(servers)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))  # the test server's certificate, trusted
        found = by_check(run_checks({**deployment, "FEEDSVC_BOUNCE_MAILBOX": dovecot.url("imap")}))
        assert found["bounce mailbox"].status == "ok", found["bounce mailbox"].lines()
        assert found["bounce mailbox"].detail.startswith(f"imap://bounces@127.0.0.1:{dovecot.imap_port}/INBOX: "
                                                         "reachable, 0 messages waiting")
    finally:
        servers.close()
