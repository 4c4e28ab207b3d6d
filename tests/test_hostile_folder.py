"""A hostile content folder (issue 14 items 1 and 5), through real files, FIFOs, sockets, symlinks and databases.

Each trap must end with the scan finished, every good release beside it stored, nothing stored before
lost, and the cause in one line. A swap between listing and reading is made at the point the ingester
offers for it (`Ingester.before_open`), never by racing the scan.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.ingest import Ingester, ScanResult
from feedsvc.model import Release, release_key
from feedsvc.storage import Storage
from tests.test_ingest import LISTING, SAMPLE_COUNT
from tests.waiting import wait_for

SECRET = """Press Releases

Secret Outside the Folder

Ankara – This text lives outside the content folder and must never be read.
"""


def titles(storage: Storage) -> set[str]:
    return {r.title for r in storage.list_releases(limit=100_000)}


def scan_without_hanging(ingester: Ingester, fifos: list[Path] = []) -> ScanResult:  # noqa: B006
    """The scan, run where a hang on a FIFO is a failure rather than a test run that never ends.

    Should the scan block on opening a FIFO, a writer opened here unblocks it and the test fails.
    """
    result: list[ScanResult] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(ingester.scan())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    if thread.is_alive():
        for fifo in fifos:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        thread.join(30)
        pytest.fail("the scan blocked (on a FIFO?)")
    if failure:
        raise failure[0]
    return result[0]


def bound_socket(folder: Path, name: str) -> socket.socket:
    """A Unix socket listening at folder/name."""
    # AF_UNIX paths are limited to ~108 bytes: bind through a short relative path.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        sock.bind(name)
    finally:
        os.chdir(cwd)
    return sock


@pytest.fixture
def unix_socket(content_dir: Path) -> Iterator[Path]:
    sock = bound_socket(content_dir, "listener.sock")
    yield content_dir / "listener.sock"
    sock.close()


def test_loops_fifos_sockets_and_links_are_refused_and_the_rest_is_stored(
        ingester: Ingester, storage: Storage, content_dir: Path, tmp_path: Path, unix_socket: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET, encoding="utf-8")
    (content_dir / "loop_a.txt").symlink_to(content_dir / "loop_b.txt")
    (content_dir / "loop_b.txt").symlink_to(content_dir / "loop_a.txt")
    (content_dir / "dirloop").symlink_to(content_dir)  # a folder link: never entered
    os.mkfifo(content_dir / "pipe.txt")
    (content_dir / "out.txt").symlink_to(outside)
    (content_dir / "zero.txt").symlink_to("/dev/zero")
    (content_dir / "dangling.txt").symlink_to(content_dir / "nowhere.txt")
    (content_dir / "real.txt").write_text(LISTING, encoding="utf-8")
    (content_dir / "alias.txt").symlink_to("real.txt")  # inside the folder: followed
    (content_dir / "sub").mkdir()
    (content_dir / "sub" / "up.txt").symlink_to("../real.txt")  # inside, through a parent: followed

    result = scan_without_hanging(ingester, [content_dir / "pipe.txt"])
    reasons = dict(result.errors)
    assert reasons == {
        "loop_a.txt": "symlink loop (not followed)",
        "loop_b.txt": "symlink loop (not followed)",
        "dirloop": "symlink to a folder (not followed)",
        "pipe.txt": "not a regular file (a FIFO)",
        "listener.sock": "not a regular file (a socket)",
        "out.txt": "symlink pointing outside the content folder (not followed)",
        "zero.txt": "symlink to a character device (not followed)",
        "dangling.txt": "file vanished during the scan",
    }
    assert result.summary.files_failed == len(reasons)
    assert "Migrants Rescued Off the Coast of Izmir" in titles(storage)
    assert "Secret Outside the Folder" not in titles(storage)
    assert len(titles(storage)) == SAMPLE_COUNT + 2
    # Each refusal is one line of the summary, and in the database (but the vanished link).
    lines = result.lines()
    assert "error: pipe.txt: not a regular file (a FIFO)" in lines
    assert {e["path"] for e in storage.recent_errors()} == set(reasons) - {"dangling.txt"}

    # Reported once: nothing changed, nothing is refused again.
    again = scan_without_hanging(ingester, [content_dir / "pipe.txt"])
    assert [name for name, _ in again.errors] == ["dangling.txt"]
    assert len(titles(storage)) == SAMPLE_COUNT + 2


@pytest.mark.parametrize("swap", ["fifo", "outside link", "socket"])
def test_a_file_swapped_after_listing_is_caught_on_what_was_opened(
        swap: str, ingester: Ingester, storage: Storage, content_dir: Path, tmp_path: Path) -> None:
    victim = content_dir / "victim.txt"
    victim.write_text(LISTING, encoding="utf-8")
    ingester.scan()
    assert "Migrants Rescued Off the Coast of Izmir" in titles(storage)
    victim.write_text(LISTING + "\nA Third Release\n\nEdirne – Teams met on Monday.\n", encoding="utf-8")
    (content_dir / "fresh.txt").write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET, encoding="utf-8")
    sockets: list[socket.socket] = []

    def swap_victim(path: str) -> None:
        if os.path.basename(path) != "victim.txt":
            return
        os.unlink(path)
        if swap == "fifo":
            os.mkfifo(path)
        elif swap == "outside link":
            os.symlink(outside, path)
        else:
            sockets.append(bound_socket(content_dir, "victim.txt"))

    ingester.before_open = swap_victim
    try:
        result = scan_without_hanging(ingester, [victim] if swap == "fifo" else [])
    finally:
        for sock in sockets:
            sock.close()
    reason = dict(result.errors)["victim.txt"]
    assert reason == {
        "fifo": "not a regular file (a FIFO); it replaced a file after the folder was listed",
        "outside link": "replaced by a symlink after the folder was listed (not followed)",
        "socket": "not a regular file (a socket); it replaced a file after the folder was listed",
    }[swap]
    live = titles(storage)
    assert "Secret Outside the Folder" not in live and "A Third Release" not in live
    # What victim.txt gave before stays published; the good file beside it is stored.
    assert {"Migrants Rescued Off the Coast of Izmir", "Migrants Rescued Off the Coast of Bodrum"} <= live


def test_control_characters_in_names_are_stored_as_is_and_shown_escaped(
        ingester: Ingester, storage: Storage, content_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = "two\nlines\x1b[31m.txt"
    bad = "bell\x07\r\u202eevil.txt"
    (content_dir / good).write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")
    (content_dir / bad).write_bytes(bytes(range(256)) * 64)
    with caplog.at_level("INFO", logger="feedsvc"):
        result = ingester.scan()
    stored = {p for r in storage.list_releases(limit=1000) for p, _ in storage.occurrences(r.id)}
    assert good in stored  # the name itself, newline and all
    assert result.errors[0][0] == bad
    lines = "\n".join(result.lines())
    assert "error: bell\\x07\\r\\u202eevil.txt: " in lines
    assert "\x07" not in lines and "\r" not in lines and "\u202e" not in lines
    logged = [r.getMessage() for r in caplog.records]
    assert any("ingested two\\nlines\\x1b[31m.txt: 2 new" in m for m in logged)
    assert any(m.startswith("ingest error: bell\\x07\\r\\u202eevil.txt: ") for m in logged)
    assert not any("\x1b" in m or "\x07" in m for m in logged)


def _cli_env(storage: Storage, content_dir: Path, topics_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": storage.engine.url.render_as_string(hide_password=False),
                "FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_TOPICS": str(topics_file),
                "FEEDSVC_TAG_AUTHORITY": "press.example.org"})
    return env


def _without_permission_bypass() -> list[str]:
    """A prefix that runs a command unable to read what permissions deny it.

    As root, chmod 000 denies nothing: the command then runs without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH (setpriv), still as root, so it owns the files it writes as before.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a folder cannot be made unreadable to this process")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_folder_is_an_error_not_an_absence(
        ingester: Ingester, storage: Storage, content_dir: Path, topics_file: Path) -> None:
    locked = content_dir / "archive"
    locked.mkdir()
    (locked / "old.txt").write_text(LISTING.replace("Izmir", "Mersin"), encoding="utf-8")
    (content_dir / "closed.txt").write_text(LISTING.replace("Izmir", "Antalya"), encoding="utf-8")
    ingester.scan()
    before = titles(storage)
    assert {"Migrants Rescued Off the Coast of Mersin", "Migrants Rescued Off the Coast of Antalya"} <= before
    (content_dir / "closed.txt").write_text(LISTING.replace("Izmir", "Antalya") + "\n", encoding="utf-8")
    (content_dir / "new.txt").write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")
    os.chmod(locked, 0)
    os.chmod(content_dir / "closed.txt", 0)
    try:
        out = subprocess.run([*_without_permission_bypass(), sys.executable, "-m", "feedsvc.cli", "ingest"],
                             env=_cli_env(storage, content_dir, topics_file), capture_output=True,
                             text=True, timeout=300, check=False)
    finally:
        os.chmod(locked, 0o755)
        os.chmod(content_dir / "closed.txt", 0o644)
    assert out.returncode == 0, out.stderr
    assert "error: archive/: cannot read the folder: permission denied" in out.stdout.splitlines()
    assert "error: closed.txt: cannot open: permission denied" in out.stdout.splitlines()
    assert "0 withdrawn" in out.stdout
    after = titles(storage)
    assert before | {"Migrants Rescued Off the Coast of Bodrum"} == after
    assert {"archive/", "closed.txt"} <= {e["path"] for e in storage.recent_errors()}

    # Readable again: read as before, nothing withdrawn, nothing new to report.
    again = ingester.scan()
    assert again.errors == [] and again.summary.releases_withdrawn == 0 and titles(storage) == after


def test_the_watcher_outlives_every_trap(ingester: Ingester, storage: Storage, content_dir: Path,
                                         tmp_path: Path, unix_socket: Path) -> None:
    from feedsvc.watcher import Watcher

    ingester.scan()
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET, encoding="utf-8")
    swapped: list[str] = []

    def swap_once(path: str) -> None:
        if os.path.basename(path) == "swapped.txt" and not swapped:
            os.unlink(path)
            os.symlink(outside, path)
            swapped.append(path)

    ingester.before_open = swap_once
    watcher = Watcher(ingester, rescan_seconds=3600)
    watcher.start()
    try:
        (content_dir / "loop_a.txt").symlink_to(content_dir / "loop_b.txt")
        (content_dir / "loop_b.txt").symlink_to(content_dir / "loop_a.txt")
        os.mkfifo(content_dir / "pipe.txt")
        (content_dir / "swapped.txt").write_text(LISTING, encoding="utf-8")
        (content_dir / "odd\nname.txt").write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")
        wait_for(lambda: "Migrants Rescued Off the Coast of Bodrum" in titles(storage), "the good file stored")
        wait_for(lambda: bool(swapped), "the swap made")
        watcher.request_full_scan()
        (content_dir / "after.txt").write_text(LISTING.replace("Izmir", "Mersin"), encoding="utf-8")
        wait_for(lambda: "Migrants Rescued Off the Coast of Mersin" in titles(storage), "a later file stored")

        def recorded() -> dict[str, str]:  # newest first, so each path keeps its first error
            return {e["path"]: e["reason"] for e in storage.recent_errors()}

        # A full scan stores files in name order: after.txt before pipe.txt and swapped.txt, so a
        # later file stored does not mean the scan that refuses the pipe is done (nor the pipe's own
        # scan, which waits as for any empty new file). Its end is the errors recorded.
        wait_for(lambda: {"swapped.txt", "pipe.txt", "loop_a.txt"} <= recorded().keys(), "every trap recorded")
        assert watcher._thread.is_alive()
        assert "Secret Outside the Folder" not in titles(storage)
        errors = recorded()
        assert errors["swapped.txt"] == "replaced by a symlink after the folder was listed (not followed)"
        assert errors["pipe.txt"] == "not a regular file (a FIFO)"
        assert errors["loop_a.txt"] == "symlink loop (not followed)"
    finally:
        watcher.stop()


# -- 100,000 releases --------------------------------------------------------------------------


def _releases(n: int) -> list[Release]:
    return [Release(source_file="big.txt", position=i, title=f"Release {i} on Border Monitoring",
                    title_inferred=False, location="Ankara", date=None, author=None, section=None,
                    paragraphs=(f"Ankara – Teams recorded {i} crossings this week, staff said.",),
                    line=3 + 4 * i, key=release_key(f"Release {i} on Border Monitoring", "Ankara"))
            for i in range(n)]


@pytest.mark.slow
def test_a_listing_of_100000_releases_is_stored_and_withdrawn_whole(storage: Storage) -> None:
    """More keys than SQLite (32,766) or PostgreSQL (65,535) binds in one statement."""
    releases = _releases(100_000)
    now = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    out = storage.apply_file("big.txt", 1, 1, "a", releases, lambda r: ("migration",), now, "x.org")
    assert out.new == 100_000 and storage.count_releases() == 100_000
    storage.forget_files(["big.txt"])
    withdrawn, _ = storage.withdraw_orphans(now)
    assert withdrawn == 100_000 and storage.count_releases() == 0 and storage.count_releases("migration") == 0



# -- an invalid topics.toml ----------------------------------------------------------------------

BROKEN_TOML = '[[topic]\nslug = "health"\n'


def test_an_invalid_taxonomy_leaves_the_last_good_one_in_force_everywhere(
        ingester: Ingester, storage: Storage, content_dir: Path, topics_file: Path, tmp_path: Path,
        make_app) -> None:  # type: ignore[no-untyped-def]
    ingester.scan()
    counts = storage.topic_counts()
    good = ingester.taxonomy()
    topics_file.write_text(BROKEN_TOML, encoding="utf-8")
    (content_dir / "new.txt").write_text(
        "Press Releases\n\nCOVID-19 Vaccines Reach Gaziantep\n\nGaziantep – Health teams vaccinated "
        "migrants against COVID-19 this week.\n", encoding="utf-8")

    result = ingester.scan()  # neither raises nor re-files anything
    assert ingester.taxonomy() == good
    line = next(line for line in result.lines() if line.startswith("error: taxonomy: "))
    assert "invalid TOML" in line and line.endswith("(topics.toml not applied; in force: the last valid one read)")
    assert {t: n for t, n in storage.topic_counts().items() if n} == \
        {t: n for t, n in counts.items() if n} | {"health": counts.get("health", 0) + 1}

    # Another process, started while the file is broken, works with the taxonomy kept in the database.
    env = {"DATABASE_URL": storage.engine.url.render_as_string(hide_password=False),
           "SECRET_KEY": "x" * 40, "FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_TOPICS": str(topics_file),
           "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"), "FEEDSVC_ADMIN_TOKEN": "admin-token"}
    client = make_app(env).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and "taxonomy" in health.json["problems"]
    reason = health.json["problems"]["taxonomy"]
    assert "invalid TOML" in reason and "kept in the database" in reason
    admin = client.get("/admin", headers={"Authorization": "Bearer admin-token"}).get_data(as_text=True)
    assert "Taxonomy not applied:" in admin and "invalid TOML" in admin
    home = client.get("/")
    assert home.status_code == 200 and good.topics[0].title in home.get_data(as_text=True)

    # `feedsvc ingest` says so in one line and stores the rest.
    (content_dir / "more.txt").write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "feedsvc.cli", "ingest"], capture_output=True, text=True,
                         env=_cli_env(storage, content_dir, topics_file), timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert sum(line.startswith("error: taxonomy: ") for line in out.stdout.splitlines()) == 1
    assert "Migrants Rescued Off the Coast of Bodrum" in titles(storage)

    # Fixed: in force again, everywhere, and health is ok.
    shutil.copy(Path(__file__).resolve().parents[1] / "data" / "topics.toml", topics_file)
    assert ingester.scan().errors == []
    assert client.get("/healthz").status_code == 200
    assert "Taxonomy not applied" not in client.get(
        "/admin", headers={"Authorization": "Bearer admin-token"}).get_data(as_text=True)


def test_a_fresh_start_with_an_invalid_taxonomy_uses_the_default_one(tmp_path: Path) -> None:
    from feedsvc.resources import DEFAULT_TOPICS
    from feedsvc.taxonomy_keeper import TaxonomyKeeper
    from feedsvc.topics import load_taxonomy

    broken = tmp_path / "topics.toml"
    broken.write_text(BROKEN_TOML, encoding="utf-8")
    keeper = TaxonomyKeeper(broken)
    assert keeper.current() == load_taxonomy(DEFAULT_TOPICS)
    assert keeper.error is not None and keeper.error.endswith(f"in force: the default taxonomy ({DEFAULT_TOPICS}))")
    missing = TaxonomyKeeper(tmp_path / "nowhere.toml", default=broken)  # even the default is unusable
    assert missing.current().topics == () and "cannot read the taxonomy" in (missing.error or "")
