"""`feedsvc subscribers …` and `feedsvc digest --dry-run/--preview` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from feedsvc.storage import Storage
from tests.test_cli import run


@pytest.fixture
def db_kind() -> str:
    """SQLite only: these tests are of the commands (each one a process, about 1.2 s of imports);
    what they store is tested on both databases in tests/test_subscriptions.py and test_runs.py."""
    return "sqlite"


@pytest.fixture
def env(db_url: str, content_dir: Path, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "FEEDSVC_CONTENT_DIR": str(content_dir),
            "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst"), "SECRET_KEY": "cli-secret-padded-to-32-characters-or-more"}


def test_add_list_remove(env: dict[str, str], storage: Storage, tmp_path: Path) -> None:
    assert "added" in run("subscribers", "add", "Ada@Example.org", "--topics", "opinion health",
                          "--frequency", "daily", env=env, cwd=tmp_path).stdout
    assert "updated" in run("subscribers", "add", "ada@example.org", "--topics", "opinion",
                            env=env, cwd=tmp_path).stdout
    listed = run("subscribers", "list", env=env, cwd=tmp_path).stdout.splitlines()
    assert listed == ["ada@example.org\tconfirmed\tweekly\topinion"]
    bad = run("subscribers", "add", "not-an-address", env=env, cwd=tmp_path, check=False)
    assert bad.returncode != 0 and "not a valid email address" in bad.stderr
    unknown = run("subscribers", "add", "b@example.org", "--topics", "gardening", env=env, cwd=tmp_path,
                  check=False)
    assert unknown.returncode != 0 and "unknown topic" in unknown.stderr
    assert "removed" in run("subscribers", "remove", "ada@example.org", env=env, cwd=tmp_path).stdout
    assert run("subscribers", "list", env=env, cwd=tmp_path).stdout == ""


def test_import_and_export_round_trip(env: dict[str, str], storage: Storage, tmp_path: Path) -> None:
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("\ufeffemail,topics,frequency\n"
                        "one@example.org,opinion health,daily\n"
                        "two@example.org,,weekly\n"
                        "broken,,daily\n"
                        "three@example.org,opinion,hourly\n", encoding="utf-8")
    out = run("subscribers", "import", str(csv_file), env=env, cwd=tmp_path, check=False)
    assert out.returncode == 1  # some rows were rejected, and said so
    assert "imported: 2 added, 0 updated, 2 rejected" in out.stdout
    assert "line 4" in out.stderr and "line 5" in out.stderr
    exported = run("subscribers", "export", env=env, cwd=tmp_path).stdout
    assert exported.splitlines() == ["email,topics,frequency,languages,time_zone,locale",
                                     "one@example.org,opinion health,daily,,,",
                                     "two@example.org,,weekly,,,"]
    assert storage.get_subscriber_by_email("one@example.org").state == "confirmed"


def test_every_choice_a_subscriber_made_survives_export_then_import(
        env: dict[str, str], storage: Storage, tmp_path: Path) -> None:
    run("subscribers", "add", "ayse@example.org", "--topics", "health", "--frequency", "daily",
        "--languages", "tr en", "--time-zone", "Europe/Istanbul", "--locale", "TR", env=env, cwd=tmp_path)
    ayse = storage.get_subscriber_by_email("ayse@example.org")
    assert (ayse.time_zone, ayse.languages, ayse.locale) == ("Europe/Istanbul", ("tr", "en"), "tr")
    for bad, says in ((("--time-zone", "Mars/Olympus"), "not a known time zone"),
                      (("--locale", "de"), "not one the emails are written in (en, fr, tr, ar)")):
        refused = run("subscribers", "add", "b@example.org", *bad, env=env, cwd=tmp_path, check=False)
        assert refused.returncode != 0 and says in refused.stderr
    assert storage.get_subscriber_by_email("b@example.org") is None
    exported = run("subscribers", "export", env=env, cwd=tmp_path).stdout
    assert exported.splitlines()[1] == "ayse@example.org,health,daily,tr en,Europe/Istanbul,tr"
    # Into another instance, as an office moving its list would.
    other_db = tmp_path / "other.sqlite3"
    other_env = env | {"DATABASE_URL": f"sqlite:///{other_db}", "FEEDSVC_INSTANCE_DIR": str(tmp_path / "other")}
    run("db", "upgrade", env=other_env, cwd=tmp_path)
    (tmp_path / "moved.csv").write_text(exported, encoding="utf-8")
    assert "1 added" in run("subscribers", "import", str(tmp_path / "moved.csv"), env=other_env, cwd=tmp_path).stdout
    assert run("subscribers", "export", env=other_env, cwd=tmp_path).stdout == exported
    # A bad cell rejects its line, saying which and why, and nothing else.
    (tmp_path / "bad.csv").write_text("email,time_zone,locale\nx@example.org,Nowhere/City,\n"
                                      "y@example.org,,xx\nz@example.org,Asia/Tokyo,fr\n", encoding="utf-8")
    out = run("subscribers", "import", str(tmp_path / "bad.csv"), env=other_env, cwd=tmp_path, check=False)
    assert out.returncode == 1 and "1 added, 0 updated, 2 rejected" in out.stdout
    assert "line 2" in out.stderr and "Nowhere/City" in out.stderr and "line 3" in out.stderr


def test_dry_run_and_preview_send_nothing(env: dict[str, str], storage: Storage, tmp_path: Path,
                                          content_dir: Path) -> None:
    run("subscribers", "add", "reader@example.org", env=env, cwd=tmp_path)
    run("ingest", env=env, cwd=tmp_path)
    dry = run("digest", "--dry-run", env=env, cwd=tmp_path).stdout
    assert "would send to reader@example.org" in dry and "23 new" in dry
    preview = run("digest", "--preview", "reader@example.org", "--html", str(tmp_path / "digest.html"),
                  env=env, cwd=tmp_path).stdout
    # Decoded as a reader sees it: headers and the text part, no MIME or quoted-printable.
    head, _, text = preview.partition("\n\n")
    assert "To: reader@example.org" in head and "Subject: " in head and "List-Unsubscribe: <" in head
    assert "Content-Transfer-Encoding" not in preview and not re.search(r"=[0-9A-F]{2}", preview)
    assert "Unsubscribe" in text and "–" in text  # the en dash of a dateline, as a character
    html = (tmp_path / "digest.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "unsubscribe" in html.lower()
    lonely = run("digest", "--html", str(tmp_path / "x.html"), env=env, cwd=tmp_path, check=False)
    assert lonely.returncode != 0 and "--html goes with --preview" in lonely.stderr
    assert not (tmp_path / "inst" / "outbox").exists()
    assert storage.recent_runs() == []
    sent = run("digest", "--send-now", env=env, cwd=tmp_path).stdout
    assert "1 sent" in sent and len(list((tmp_path / "inst" / "outbox").glob("*.eml"))) == 1
    assert "0 sent" in run("digest", "--send-now", env=env, cwd=tmp_path).stdout


def test_a_digest_run_shows_progress_and_one_summary(env: dict[str, str], storage: Storage,
                                                     tmp_path: Path) -> None:
    for i in range(60):
        storage.add_confirmed(f"reader{i:02}@example.org", (), "daily", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    run("ingest", env=env, cwd=tmp_path)
    done = run("digest", "--send-now", env=env, cwd=tmp_path)
    # Not a terminal (a log): a line per tenth of the way with counts and rate, ending at all 60.
    progress = [line for line in done.stderr.splitlines() if line.startswith("sending digests:")]
    assert progress and progress[-1].startswith("sending digests: 60/60 digests (")
    assert progress[-1].endswith("digests/s)")
    assert "digests: 60 sent" in done.stdout
    # The outbox names each message only at LOG_LEVEL=DEBUG; the run's summary is the log.
    assert "outbox:" not in done.stderr
    assert len(list((tmp_path / "inst" / "outbox").glob("*.eml"))) == 60
