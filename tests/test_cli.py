"""The `feedsvc` command as a user runs it: a real process, real files, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from feedsvc.storage import Storage
from tests.conftest import ROOT, SAMPLES

EXPECTED = ROOT / "tests" / "data" / "seeds_expected.json"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL"))}
    full_env.update(env or {})
    done = subprocess.run([sys.executable, "-m", "feedsvc.cli", *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=300)
    if check and done.returncode != 0:  # what the command said, not only its exit status
        raise AssertionError(f"feedsvc {' '.join(args)} exited {done.returncode}:\n{done.stderr}{done.stdout}")
    return done


def test_parse_json_matches_expected_for_the_samples(tmp_path: Path) -> None:
    files = sorted(SAMPLES.glob("*.txt"))
    out = run("parse", *map(str, files), "--json", cwd=tmp_path)
    releases = json.loads(out.stdout)
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    want = [(name, e) for name, items in expected.items() if not name.startswith("_") for e in items]
    assert len(releases) == len(want)
    for got, (name, e) in zip(releases, want, strict=False):
        assert got["source_file"] == name
        if e["title"] is None:
            assert got["title"] and got["title_inferred"] is True
        else:
            assert (got["title"], got["title_inferred"]) == (e["title"], False)
        for field in ("location", "date", "author", "section"):
            assert got[field] == e[field], (name, field)
        assert " ".join(got["paragraphs"]).startswith(e["body_startswith"])
        assert len(got["paragraphs"]) == e["paragraphs"]
        assert len(got["id"]) == 16
    assert not (tmp_path / "instance").exists()  # parse never touches a database


def test_parse_reports_a_bad_file_and_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    out = run("parse", str(bad), str(SAMPLES / "000_f6e31e41b8e258ab.txt"), "--json", check=False)
    assert out.returncode == 1
    assert "bad.txt" in out.stderr and "binary" in out.stderr
    assert len(json.loads(out.stdout)) == 5


def test_ingest_prints_a_summary_and_is_incremental(tmp_path: Path, content_dir: Path) -> None:
    env = {"FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst")}
    first = run("ingest", env=env, cwd=tmp_path)
    assert "files: 3 scanned, 3 changed, 0 failed" in first.stdout
    assert "releases: 23 new, 0 updated, 0 unchanged, 0 withdrawn" in first.stdout
    second = run("ingest", env=env, cwd=tmp_path)
    assert "files: 3 scanned, 0 changed, 0 failed" in second.stdout
    assert (tmp_path / "inst" / "feedsvc.sqlite3").exists()


def test_bad_configuration_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    out = run("ingest", env={"FEEDSVC_TIMEZONE": "Mars/Olympus"}, cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert "FEEDSVC_TIMEZONE" in out.stderr and "Traceback" not in out.stderr
    too_many = run("ingest", env={"FEEDSVC_MAIL_CONNECTIONS": "64"}, cwd=tmp_path, check=False)
    assert too_many.returncode != 0 and "Traceback" not in too_many.stderr
    assert "FEEDSVC_MAIL_CONNECTIONS='64' must be at most 16" in too_many.stderr


def test_two_processes_ingesting_one_folder_store_each_release_once(
        storage: Storage, db_url: str, content_dir: Path, tmp_path: Path) -> None:
    for i in range(40):
        (content_dir / f"extra_{i:02}.txt").write_text(
            f"Release Number {i} About Return Assistance\n\nAnkara – Body of release {i}, on return.\n\n"
            f"Shared Release Found in Every File\n\nGeneva – The same release appears in all files.\n",
            encoding="utf-8")
    env = {"DATABASE_URL": db_url, "FEEDSVC_CONTENT_DIR": str(content_dir),
           "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst")}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL"))}
    full_env.update(env)
    procs = [subprocess.Popen([sys.executable, "-m", "feedsvc.cli", "ingest"], env=full_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-3000:] for _, err in outs]
    releases = storage.list_releases(limit=1000)
    assert len(releases) == 23 + 40 + 1
    assert len({r.id for r in releases}) == len(releases)
    assert len({r.updated for r in releases}) == len(releases)
    shared = next(r for r in releases if r.title == "Shared Release Found in Every File")
    assert len(storage.occurrences(shared.id)) == 40


# --- issue 11, item 6: `feedsvc parse` tells the office what was read ----------------------------

PARSE_LISTING = (
    "Press Releases\n"
    "\n"
    "IOM Opens a New Office in Gaziantep to Support the Growing Number of Returnees and Their Families\n"
    "\n"
    "Gaziantep – IOM opened a new field office on Tuesday to support the growing number of returnees, "
    "offering health care and counselling to families.\n"
    "\n"
    "Migrants Rescued Off the Coast of Izmir\n"
    "\n"
    "Izmir – The Turkish Coast Guard rescued 42 migrants, IOM said.\n"
)


def test_parse_prints_a_readable_block_per_release(tmp_path: Path) -> None:
    from feedsvc.parsing import parse_file
    from feedsvc.topics import classify, load_taxonomy
    from tests.conftest import TOPICS

    (tmp_path / "listing.txt").write_bytes(PARSE_LISTING.encode("utf-8").replace(b"Tuesday", b"Tues\xffday"))
    out = run("parse", "listing.txt", env={"FEEDSVC_TOPICS": str(TOPICS)}, cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[:2] == [
        "1. IOM Opens a New Office in Gaziantep to Support the Growing Number of",
        "   Returnees and Their Families"]
    first = lines[:lines.index("")]
    assert "   date:    —" in first and "   place:   Gaziantep" in first and "   by:      —" in first
    taxonomy = load_taxonomy(TOPICS)
    expected_topics = [classify(r, taxonomy) for r in parse_file(tmp_path / "listing.txt")]
    assert expected_topics[0]  # the sample taxonomy files it somewhere
    assert f"   topics:  {', '.join(expected_topics[0])}" in first
    body = next(line for line in first if line.startswith("   body:    "))
    assert body.startswith("   body:    IOM opened a new field office on Tues\ufffdday to support") and body.endswith("…")
    assert "   note:    no date: shown as added on the day first seen" in first
    assert "   warning: line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD" in first
    second = lines[lines.index("2. Migrants Rescued Off the Coast of Izmir"):]
    assert "   place:   Izmir" in second and "   body:    The Turkish Coast Guard rescued 42 migrants, IOM said." in second
    assert not any("warning:" in line for line in second)
    assert "listing.txt: 2 releases, 1 warning (2 undated)" in lines
    assert out.stderr == ""


def test_parse_table_goes_on_after_a_bad_file_and_without_a_taxonomy(tmp_path: Path) -> None:
    (tmp_path / "bad.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    (tmp_path / "good.txt").write_text(PARSE_LISTING, encoding="utf-8")
    out = run("parse", "bad.bin", "good.txt", env={"FEEDSVC_TOPICS": str(tmp_path / "missing.toml")},
              cwd=tmp_path, check=False)
    assert out.returncode == 1
    assert out.stderr.splitlines() == ["feedsvc parse: bad.bin: binary file (control bytes)"]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("topics not shown: ") and "missing.toml" in lines[0]
    assert not any(line.startswith("   topics:") for line in lines)
    assert "good.txt: 2 releases, 0 warnings (2 undated)" in lines


def test_parse_json_keeps_its_shape_and_warns_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "listing.txt").write_bytes(PARSE_LISTING.encode("utf-8").replace(b"Tuesday", b"Tues\xffday"))
    out = run("parse", "listing.txt", "--json", cwd=tmp_path)
    releases = json.loads(out.stdout)
    # Every key of before keeps its meaning; `date_stated` was added (issue 13).
    assert [set(r) for r in releases] == [{
        "source_file", "position", "id", "title", "title_inferred", "location", "date", "date_stated",
        "author", "section", "topics", "line", "paragraphs"}] * 2
    assert [r["date_stated"] for r in releases] == [r["date"] is not None for r in releases]
    assert out.stderr.splitlines() == [
        "feedsvc parse: warning: listing.txt line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD"]


def test_ingest_prints_the_warnings_of_a_repaired_file(tmp_path: Path, content_dir: Path) -> None:
    (content_dir / "stray.txt").write_bytes(PARSE_LISTING.encode("utf-8").replace(b"Tuesday", b"Tues\xffday"))
    env = {"FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst")}
    out = run("ingest", env=env, cwd=tmp_path)
    assert "files: 4 scanned, 4 changed, 0 failed, 1 warning" in out.stdout
    assert "warning: stray.txt line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD" in out.stdout.splitlines()
