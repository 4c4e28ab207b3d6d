"""Issue 13 item 5: corrections readers can see.

Through the real parts: a listing on disk ingested by the same Ingester the app wires, edited and
read again; storage on SQLite and PostgreSQL; the Flask app (release page, history page); the
served feeds read by feedparser and checked against the Atom schema; a digest sent to a real
SMTP server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
import sqlalchemy as sa
from lxml import etree

from feedsvc import history
from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.model import ReleaseVersion
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from tests.conftest import ATOM_RNG
from tests.test_web_feeds import WEB

FIRST = """Press Releases

Emergency Shelter Opens for Arrivals on the Aegean Coast
23 November 2026
Ayvalık – An emergency shelter opened for sea arrivals on the Aegean coast, with room for 200 people.

The shelter is run by the municipality with support from IOM.

Families will be housed separately from single adults.

Border Monitoring Report Published
15 January 2025
Edirne – IOM published its yearly border monitoring report, covering arrivals at land borders.
"""
# The office corrects the first release: a figure in its first paragraph, a new paragraph after
# it, the last paragraph dropped, and a typo-level change of title (so its key changes too).
CORRECTED = """Press Releases

Emergency Shelter Opens for Sea Arrivals on the Aegean Coast
23 November 2026
Ayvalık – An emergency shelter opened for sea arrivals on the Aegean coast, with room for 250 people.

Meals are provided three times a day by local volunteers.

The shelter is run by the municipality with support from IOM.

Border Monitoring Report Published
15 January 2025
Edirne – IOM published its yearly border monitoring report, covering arrivals at land borders.
"""
NEW_TITLE = "Emergency Shelter Opens for Sea Arrivals on the Aegean Coast"
OLD_TITLE = "Emergency Shelter Opens for Arrivals on the Aegean Coast"
OTHER = "Border Monitoring Report Published"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def services(env: dict[str, str], mail_env: dict[str, str], storage: Storage, tmp_path: Path,  # type: ignore[no-untyped-def]
             clock) -> Services:
    """The app's services over an empty content folder, which each test fills, mailing the test server."""
    folder = tmp_path / "office"
    folder.mkdir()
    settings = load_settings(env | WEB | mail_env | {"FEEDSVC_CONTENT_DIR": str(folder)})
    return build_services(settings, clock, storage=storage)


def write(services: Services, text: str) -> None:
    (services.settings.content_dir / "shelter.txt").write_text(text, encoding="utf-8")


def version_rows(storage: Storage) -> list[tuple[str, int]]:
    with storage.engine.connect() as conn:
        return [(r.release_id, r.version) for r in conn.execute(
            sa.text("SELECT release_id, version FROM release_versions ORDER BY release_id, version"))]


def by_title(services: Services, title: str):  # type: ignore[no-untyped-def]
    return next(r for r in services.storage.list_releases() if r.title == title)


def test_an_edit_stores_a_version_and_an_unchanged_read_none(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    write(services, FIRST)
    assert services.ingester().scan().summary.releases_new == 2
    shelter, other = by_title(services, OLD_TITLE), by_title(services, OTHER)
    assert version_rows(services.storage) == sorted([(shelter.id, 1), (other.id, 1)])
    (v1,) = services.storage.release_versions(shelter.id)
    assert (v1.number, v1.seen_at, v1.title) == (1, shelter.first_seen, OLD_TITLE)
    assert v1.paragraphs == shelter.paragraphs and shelter.revised_at is None

    # Read again, re-saved with other bytes (CRLF) but the same releases: nothing is a version.
    clock.advance(hours=1)
    write(services, FIRST.replace("\n", "\r\n"))
    summary = services.ingester().scan().summary
    assert (summary.files_changed, summary.releases_unchanged, summary.releases_updated) == (1, 2, 0)
    assert len(version_rows(services.storage)) == 2
    assert services.storage.get_release(shelter.id) == shelter

    clock.advance(days=9)  # 2 December 2026, 09:00
    write(services, CORRECTED)
    assert services.ingester().scan().summary.releases_updated == 1
    corrected = services.storage.get_release(shelter.id)
    assert corrected is not None and corrected.title == NEW_TITLE  # same id, title corrected
    assert corrected.revised_at == clock() and corrected.updated > shelter.updated
    assert services.storage.get_release(other.id) == other
    assert version_rows(services.storage) == sorted([(shelter.id, 1), (shelter.id, 2), (other.id, 1)])
    v1_again, v2 = services.storage.release_versions(shelter.id)
    assert v1_again == v1  # every version is kept as it was
    assert (v2.number, v2.seen_at, v2.title, v2.paragraphs) == (2, clock(), NEW_TITLE, corrected.paragraphs)


def test_history_page_shows_each_version_and_what_changed(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    write(services, FIRST)
    services.ingester().scan()
    shelter = by_title(services, OLD_TITLE)
    client = create_app(services=services).test_client()
    page = lxml.html.fromstring(client.get(f"/releases/{shelter.id}").data)
    assert not page.xpath('//*[@class="updated"]') and not page.xpath('//a[contains(@href, "/history")]')
    one = lxml.html.fromstring(client.get(f"/releases/{shelter.id}/history").data)
    assert [h.text_content() for h in one.xpath("//ol[@class='versions']/li/h2")] == [
        "Version 1, seen on 23 November 2026"]

    clock.advance(days=9)
    write(services, CORRECTED)
    services.ingester().scan()
    page = lxml.html.fromstring(client.get(f"/releases/{shelter.id}").data)
    (updated,) = page.xpath('//p[@class="updated"]')
    assert updated.text_content().startswith("Updated on 2 December 2026")
    assert updated.xpath(".//a/@href") == [f"/releases/{shelter.id}/history"]

    resp = client.get(f"/releases/{shelter.id}/history")
    assert resp.status_code == 200 and "text/html" in resp.content_type
    doc = lxml.html.fromstring(resp.data)
    assert doc.xpath("//meta[@name='viewport']")  # readable on a phone: scaled to the device
    versions = doc.xpath("//ol[@class='versions']/li")
    assert [v.xpath("string(h2)") for v in versions] == [
        "Version 2, seen on 2 December 2026", "Version 1, seen on 23 November 2026"]
    latest = versions[0]
    changes = dict(zip([dt_.text_content() for dt_ in latest.xpath(".//dt")], latest.xpath(".//dd"), strict=True))
    assert list(changes) == ["Title changed", "Paragraph 1 changed", "Paragraph 2 added",
                             "Paragraph 3 removed"]
    assert changes["Title changed"].xpath("ins/text()") == ["Sea"]
    assert changes["Title changed"].xpath("del") == []
    figure = changes["Paragraph 1 changed"]
    assert figure.xpath("del/text()") == ["200"] and figure.xpath("ins/text()") == ["250"]
    assert "room for" in figure.text_content()  # the words around the change, unmarked
    assert changes["Paragraph 2 added"].xpath("ins/text()") == [
        "Meals are provided three times a day by local volunteers."]
    assert changes["Paragraph 3 removed"].xpath("del/text()") == [
        "Families will be housed separately from single adults."]
    # Each version can still be read in full, the first as first published.
    assert "room for 200 people" in versions[1].xpath("string(.//details)")
    assert "As first published" in versions[1].text_content()


def test_history_escapes_release_text(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    write(services, FIRST)
    services.ingester().scan()
    shelter = by_title(services, OLD_TITLE)
    clock.advance(days=1)
    write(services, FIRST.replace("with room for 200 people.",
                                  "with room for <script>alert(1)</script> & <b>more</b>."))
    services.ingester().scan()
    body = create_app(services=services).test_client().get(f"/releases/{shelter.id}/history").data
    assert b"<script>" not in body and b"<b>" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    ins = lxml.html.fromstring(body).xpath("//ol[@class='versions']/li[1]//dd/ins")
    assert "".join(i.text_content() for i in ins) == "<script>alert(1)</script> & <b>more</b>."


def test_feed_entries_say_updated_on_and_stay_valid(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    relaxng = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    write(services, FIRST)
    services.ingester().scan()
    client = create_app(services=services).test_client()
    entries = {e.title: e for e in feedparser.parse(client.get("/feeds/all.atom").data).entries}
    assert all("Updated on" not in e.content[0].value for e in entries.values())
    first_updated = entries[OLD_TITLE].updated

    clock.advance(days=9)
    write(services, CORRECTED)
    services.ingester().scan()
    shelter = by_title(services, NEW_TITLE)
    history_url = f"http://localhost/releases/{shelter.id}/history"
    atom = client.get("/feeds/all.atom").data
    assert relaxng.validate(etree.fromstring(atom)), relaxng.error_log
    parsed = feedparser.parse(atom)
    assert not parsed.bozo
    entries = {e.title: e for e in parsed.entries}
    content = lxml.html.fragment_fromstring(entries[NEW_TITLE].content[0].value, create_parent="div")
    first = content.xpath("p")[0]
    assert first.text_content() == "Updated on 2 December 2026 (what changed)"
    assert first.xpath("a/@href") == [history_url]
    assert "room for 250 people" in content.text_content()
    assert entries[NEW_TITLE].updated != first_updated  # `updated` moves, as it did
    assert "Updated on" not in entries[OTHER].content[0].value
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    assert not rss.bozo
    items = {e.title: e for e in rss.entries}
    assert items[NEW_TITLE].content[0].value.startswith("<p><strong>Updated on 2 December 2026</strong>")
    assert "Updated on" not in items[OTHER].content[0].value


def test_withdrawal_and_return_make_a_version_only_when_the_text_changed(services: Services, clock,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    write(services, FIRST)
    services.ingester().scan()
    shelter = by_title(services, OLD_TITLE)
    client = create_app(services=services).test_client()
    listing = services.settings.content_dir / "shelter.txt"

    clock.advance(days=1)
    listing.rename(tmp_path / "away.txt")
    assert services.ingester().scan().summary.releases_withdrawn == 2
    assert client.get(f"/releases/{shelter.id}/history").status_code == 410
    assert client.get("/releases/0123456789abcdef/history").status_code == 404

    clock.advance(days=1)
    (tmp_path / "away.txt").rename(listing)  # back as it was: no version, no "Updated on"
    services.ingester().scan()
    back = services.storage.get_release(shelter.id)
    assert back is not None and not back.withdrawn and back.revised_at is None
    assert len(services.storage.release_versions(shelter.id)) == 1
    assert client.get(f"/releases/{shelter.id}/history").status_code == 200

    clock.advance(days=1)
    listing.unlink()
    services.ingester().scan()
    clock.advance(days=1)
    # Back with a corrected figure (same title and place: found by its key): one more version.
    write(services, FIRST.replace("room for 200", "room for 250"))
    services.ingester().scan()
    assert [v.number for v in services.storage.release_versions(shelter.id)] == [1, 2]
    assert services.storage.get_release(shelter.id).revised_at == clock()  # type: ignore[union-attr]


def test_a_digest_never_resends_an_updated_release(services: Services, clock, smtp_server) -> None:  # type: ignore[no-untyped-def]
    services.storage.add_confirmed("ayse@example.com", (), "daily", clock())
    postman = services.postman()
    clock.advance(minutes=5)
    write(services, FIRST)
    services.ingester().scan()
    postman.manual_runs(("daily",))
    assert postman.send_pending().sent == 1
    (first,) = smtp_server.messages
    assert OLD_TITLE in first.message.get_body(("plain",)).get_content()

    clock.advance(days=1)
    write(services, CORRECTED)  # the release is corrected: a new version, `updated` moves
    services.ingester().scan()
    assert len(services.storage.release_versions(by_title(services, NEW_TITLE).id)) == 2
    postman.manual_runs(("daily",))
    report = postman.send_pending()
    assert (report.sent, report.empty) == (0, 0) and len(smtp_server.messages) == 1

    # A new release in the same listing is sent; the corrected one is not, again.
    clock.advance(days=1)
    write(services, CORRECTED.replace("Press Releases\n", "Press Releases\n\nIOM Opens a Second Shelter in Dikili\n"
                                      "25 November 2026\nDikili – A second shelter opened for arrivals.\n"))
    services.ingester().scan()
    postman.manual_runs(("daily",))
    assert postman.send_pending().sent == 1
    assert len(smtp_server.messages) == 2
    text = smtp_server.messages[1].message.get_body(("plain",)).get_content()
    assert "Second Shelter in Dikili" in text
    assert "Emergency Shelter" not in text


# -- the diff itself (feedsvc.history, pure) ------------------------------------------------


def version(number: int, *paragraphs: str, title: str = "Shelter Opens", **fields: object) -> ReleaseVersion:
    values: dict[str, Any] = {"location": "Ayvalık", "date": None, "author": None, "section": None} | fields
    return ReleaseVersion(release_id="r", number=number, title=title, paragraphs=paragraphs,
                          seen_at=dt.datetime(2026, 11, 20 + number, 23, 30, tzinfo=dt.UTC), **values)


def shown(change: history.Change) -> str:
    """A change as the page marks it: [-removed-] and {+added+}."""
    marks = {"same": "{}", "removed": "[-{}-]", "added": "{{+{}+}}"}
    return "".join(marks[p.op].format(p.text) for p in change.pieces)


def test_word_diff_marks_only_the_words_that_changed() -> None:
    assert history.word_diff("room for 200 people.", "room for 250 people.") == (
        history.Piece("same", "room for "), history.Piece("removed", "200"),
        history.Piece("added", "250"), history.Piece("same", " people."))
    assert history.word_diff("same", "same") == (history.Piece("same", "same"),)
    assert history.word_diff("", "new text") == (history.Piece("added", "new text"),)


@pytest.mark.parametrize(("old", "new", "marked"), [
    ("a b c", "a b", "a b [-c-]"),  # the space before a change stays outside its mark
    ("x a", "a", "[-x-] a"),
    ("a", "x a", "{+x+} a"),
    ("a b c", "a c", "a [-b-] c"),
    ("a  b\n", "a b", "a b"),  # re-spacing is no change
])
def test_word_diff_keeps_the_spaces_between_words(old: str, new: str, marked: str) -> None:
    assert shown(history.Change("edited", "Paragraph 1", history.word_diff(old, new))) == marked


def test_an_edited_paragraph_beside_an_inserted_one_is_still_an_edit() -> None:
    old = version(1, "The shelter opened on Monday with room for 200 people.",
                  "It is run by the municipality.")
    new = version(2, "Volunteers serve meals three times a day.",
                  "The shelter opened on Monday with room for 250 people.",
                  "It is run by the municipality.")
    got = [(c.kind, c.label, shown(c)) for c in history.changes(old, new)]
    assert got == [
        ("added", "Paragraph 1", "{+Volunteers serve meals three times a day.+}"),
        ("edited", "Paragraph 2", "The shelter opened on Monday with room for [-200-]{+250+} people."),
    ]


def test_a_rewritten_paragraph_is_removed_and_added_not_a_word_soup() -> None:
    old = version(1, "Families will be housed separately from single adults.")
    new = version(2, "Health checks are offered by IOM medical teams on arrival.")
    assert [(c.kind, c.label) for c in history.changes(old, new)] == [
        ("removed", "Paragraph 1"), ("added", "Paragraph 1")]


def test_fields_are_compared_as_readers_see_them() -> None:
    old = version(1, "Text.", title="Shelter Opens", date=dt.date(2026, 11, 23))
    new = version(2, "Text.", title="Shelter Opens in Ayvalık", location="Dikili", date=dt.date(2026, 11, 24))
    got = [(c.label, shown(c)) for c in history.changes(old, new)]
    assert got == [("Title", "Shelter Opens {+in Ayvalık+}"), ("Place", "[-Ayvalık-]{+Dikili+}"),
                   ("Date", "[-23-]{+24+} November 2026")]
    assert history.changes(old, old) == []


def test_history_is_newest_first_each_against_the_one_before() -> None:
    v1, v2, v3 = version(1, "a b c"), version(2, "a b d"), version(3, "a b d", title="New")
    views = history.history([v2, v3, v1])
    assert [(v.version.number, v.first, v.day) for v in views] == [
        (3, False, "23 November 2026"), (2, False, "22 November 2026"), (1, True, "21 November 2026")]
    assert [c.label for c in views[0].changes] == ["Title"]
    assert [shown(c) for c in views[1].changes] == ["a b [-c-]{+d+}"]
    assert views[2].changes == () and history.history([]) == []
