"""Release languages, their direction, translations, feeds per language and readers' languages (issue 17 item 2).

Real parts: Markdown files in a content folder (tests/data/languages: a Turkish and an Arabic
release with their English versions, a French one whose language is identified from its text),
SQLite and PostgreSQL, the app through Flask's test client (feeds through the feed server in front
of it), feedparser, the Atom RELAX NG schema, and a real SMTP server for the digests.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.languages import (
    LanguageTagError,
    TranslationMember,
    checked_tag,
    direction,
    identify,
    matches,
    translation_groups,
)
from feedsvc.services import build_services
from feedsvc.storage import Storage
from tests.conftest import ATOM_RNG, ROOT

DATA = ROOT / "tests" / "data" / "languages"
A = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# -- pure -------------------------------------------------------------------------------


def test_tags_are_checked_and_written_one_way() -> None:
    assert checked_tag("EN_gb") == "en-GB"
    assert checked_tag(" tr ") == "tr"
    assert checked_tag("sr-latn") == "sr-Latn"
    for bad in ("", "klingon-xx", "xx", "fr!", "1234"):
        with pytest.raises(LanguageTagError, match="language"):
            checked_tag(bad)


def test_direction_comes_from_the_language_or_its_script() -> None:
    assert [direction(t) for t in ("ar", "he", "fa", "ur", "ar-EG")] == ["rtl"] * 5
    assert [direction(t) for t in ("en", "tr", "fr", "az-Latn", None, "")] == ["ltr"] * 6
    assert direction("ku-Arab") == "rtl"  # by script, whatever the language
    assert direction("az-Arab") == "rtl"


def test_readers_of_a_language_get_its_regional_variants_and_nothing_else() -> None:
    assert matches("fr-CA", ["fr"]) and matches("fr", ["fr"]) and matches("ar", [])
    assert not matches("fr", ["fr-CA"]) and not matches("en", ["fr"]) and not matches(None, ["fr"])
    assert matches(None, [])


SHORT_RELEASES = {
    "en": "Port reopens after storm damage is repaired. Ships resumed loading at the harbour this morning.",
    "fr": "Le port rouvre après la réparation des dégâts de la tempête. Les navires ont repris le chargement.",
    "es": "El puerto reabre tras reparar los daños de la tormenta. Los barcos reanudaron la carga esta mañana.",
    "de": "Hafen nach Reparatur der Sturmschäden wieder geöffnet. Die Schiffe werden seit heute wieder beladen.",
    "tr": "Liman fırtına hasarının onarılmasının ardından yeniden açıldı. Gemiler bu sabah yüklemeye başladı.",
    "ar": "إعادة فتح الميناء بعد إصلاح أضرار العاصفة. استأنفت السفن التحميل صباح اليوم.",
}


def test_short_press_releases_are_identified_and_a_name_alone_falls_back_to_the_default() -> None:
    for tag, text in SHORT_RELEASES.items():
        found = identify(text, "en")
        assert (found.tag, found.trusted) == (tag, True), (text, found)
    # Too few letters to tell: the default, not a guess.
    assert identify("Ankara, 2026", "fr").tag == "fr"
    assert not identify("Ankara, 2026", "fr").trusted


def test_translations_are_what_files_state_never_guessed() -> None:
    members = [
        TranslationMember("a1", ("news/water.en.md",), None),
        TranslationMember("a2", ("news/water.tr.md",), None),  # named alike: a pair
        TranslationMember("b1", ("clinic.en.md",), None),
        TranslationMember("b2", ("clinic-ar.md",), "clinic.en.md"),  # by file name
        TranslationMember("b3", ("clinic-fr.md",), "/releases/b1"),  # by the page's address
        TranslationMember("c1", ("other.en.md",), None),  # alike but another folder's stem: alone
        TranslationMember("d1", ("lost.md",), "missing.md"),
        TranslationMember("e1", ("self.md",), "self.md"),
    ]
    groups, warnings = translation_groups(members)
    assert groups == {"a1": "a1", "a2": "a1", "b1": "b1", "b2": "b1", "b3": "b1"}
    assert [w[0] for w in warnings] == ["lost.md", "self.md"]
    assert "names no release" in warnings[0][1] and "itself" in warnings[1][1]


# -- through the service -----------------------------------------------------------------


@pytest.fixture
def content_source() -> Path:
    """The content folder (conftest's `content_dir`, in `env`) is a copy of this file's releases."""
    return DATA


@pytest.fixture
def services(env: dict[str, str], mail_env: dict[str, str], storage: Storage, clock):  # type: ignore[no-untyped-def]
    s = build_services(load_settings(env | mail_env), clock, storage=storage)
    yield s
    s.publisher.close()


def _ids(storage: Storage) -> dict[str, str]:
    """title's first word → release id."""
    return {r.title.split()[0]: r.id for r in storage.list_releases(limit=100)}


def _rng_valid(data: bytes) -> etree._Element:
    rng = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    doc = etree.fromstring(data)
    assert rng.validate(doc), rng.error_log
    assert len(rng.error_log) == 0
    return doc


def test_turkish_and_arabic_releases_with_their_english_versions(services, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    result = services.ingester().scan()
    by_title = {r.title: r for r in storage.list_releases(limit=100)}
    languages = {title.split()[0]: r.language for title, r in by_title.items()}
    assert languages == {"Clean": "en", "Temiz": "tr", "Mobile": "en", "افتتاح": "ar", "Le": "fr",
                         "Training": "en"}
    ids = _ids(storage)
    # The stated pairs are linked; nothing else is.
    groups = {title.split()[0]: r.translation_group for title, r in by_title.items()}
    assert groups["Clean"] == groups["Temiz"] is not None
    assert groups["Mobile"] == groups["افتتاح"] is not None and groups["Mobile"] != groups["Clean"]
    assert groups["Le"] is None and groups["Training"] is None
    # What the office must fix is said, naming the file and line, and loses nothing else.
    said = [str(w) for w in result.warnings]
    assert any(w.startswith("training.md line 5:") and "klingon-xx" in w for w in said), said
    assert any(w.startswith("training.md:") and "cooking-course.md" in w and "names no release" in w
               for w in said), said
    assert {w["message"] for w in storage.file_warnings() if w["path"] == "training.md"} >= {
        m.split(": ", 1)[1] for m in said if m.startswith("training.md")}

    client = create_app(services=services).test_client()

    # Atom: every entry says its language; translations are alternate links with hreflang.
    body = client.get("/feeds/all.atom").data
    doc = _rng_valid(body)
    entries = {e.findtext(f"{A}title"): e for e in doc.iter(f"{A}entry")}
    arabic = entries["افتتاح عيادة متنقلة للعائلات على الحدود"]
    assert arabic.get(XML_LANG) == "ar"
    assert {(link.get("hreflang"), link.get("href")) for link in arabic.iter(f"{A}link")
            if link.get("rel") == "alternate"} == {
        ("ar", f"https://press.example.org/releases/{ids['افتتاح']}"),
        ("en", f"https://press.example.org/releases/{ids['Mobile']}")}
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    by_entry = {e.title: e for e in parsed.entries}
    turkish = by_entry["Temiz su tepelerdeki on iki köye ulaştı"]
    assert turkish.title_detail.language == "tr" and turkish.content[0].language == "tr"
    assert {(link.get("hreflang"), link.href) for link in turkish.links if link.rel == "alternate"} == {
        ("tr", f"https://press.example.org/releases/{ids['Temiz']}"),
        ("en", f"https://press.example.org/releases/{ids['Clean']}")}
    assert by_entry["Le port de pêche rouvre après la tempête"].title_detail.language == "fr"

    # JSON Feed 1.1: each item's own language.
    items = json.loads(client.get("/feeds/health.json").data)["items"]
    assert {i["title"].split()[0]: i["language"] for i in items} == {
        "Clean": "en", "Temiz": "tr", "Mobile": "en", "افتتاح": "ar"}

    # A language's feeds hold that language only, and embargoed or other releases never.
    for path, wanted in (("/feeds/ar/all.atom", ["افتتاح"]), ("/feeds/tr/health.atom", ["Temiz"]),
                         ("/feeds/en/health.atom", ["Mobile", "Clean"]), ("/feeds/fr/livelihoods.atom", ["Le"])):
        resp = client.get(path)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/atom+xml")
        feed = _rng_valid(resp.data)
        assert feed.get(XML_LANG) == path.split("/")[2]
        assert [e.findtext(f"{A}title").split()[0] for e in feed.iter(f"{A}entry")] == wanted, path
    assert [i["language"] for i in json.loads(client.get("/feeds/tr/all.json").data)["items"]] == ["tr"]
    assert client.get("/feeds/de/all.atom").status_code == 404
    opml = client.get("/feeds.opml").data.decode()
    assert 'xmlUrl="https://press.example.org/feeds/ar/health.atom"' in opml
    topic_page = html.fromstring(client.get("/topics/health").data)
    assert topic_page.xpath('//link[@rel="alternate"][@hreflang="ar"]/@href') == [
        "/feeds/ar/health.atom", "/feeds/ar/health.json"]

    # Pages: the article in its language and direction, its translations linked both ways.
    page = html.fromstring(client.get(f"/releases/{ids['افتتاح']}").data)
    (article,) = page.xpath("//article")
    assert (article.get("lang"), article.get("dir")) == ("ar", "rtl")
    assert page.xpath('//head/link[@rel="alternate"][@hreflang]/@hreflang') == ["en"]
    assert page.xpath('//head/link[@hreflang="en"]/@href') == [f"https://press.example.org/releases/{ids['Mobile']}"]
    (also,) = page.xpath('//p[@class="translations"]')
    assert also.text_content() == "Also in: English"
    page = html.fromstring(client.get(f"/releases/{ids['Clean']}").data)
    assert (page.xpath("//article/@lang"), page.xpath("//article/@dir")) == (["en"], ["ltr"])
    assert page.xpath('//p[@class="translations"]')[0].text_content() == "Also in: Türkçe"
    assert page.xpath('//p[@class="translations"]/a/@lang') == ["tr"]
    page = html.fromstring(client.get(f"/releases/{ids['Le']}").data)
    assert page.xpath("//article/@lang") == ["fr"] and not page.xpath('//p[@class="translations"]')

    # Search by language.
    found = html.fromstring(client.get("/search?q=Gaziantep&language=ar").data)
    assert [a.get("lang") for a in found.xpath('//ul[contains(@class, "results")]//a[@class="title"]')] == ["ar"]
    found = html.fromstring(client.get("/search?q=Gaziantep").data)
    assert len(found.xpath('//ul[contains(@class, "results")]//a[@class="title"]')) == 2
    assert client.get("/search?q=Gaziantep&language=klingon-xx").status_code == 400
    assert "no language filter" not in client.get("/search").get_data(as_text=True)


def test_a_french_reader_gets_only_french_releases_in_a_real_digest(  # type: ignore[no-untyped-def]
        services, storage: Storage, smtp_server) -> None:
    client = create_app(services=services).test_client()
    storage.add_confirmed("lecteur@example.org", (), "daily", services.clock(), languages=("fr",))
    storage.add_confirmed("everyone@example.org", (), "daily", services.clock())
    services.ingester().scan()

    # The sign-up form offers the languages releases are in, each named in itself.
    form = html.fromstring(client.get("/subscribe").data)
    assert form.xpath('//input[@name="languages"]/@value') == ["ar", "en", "fr", "tr"]
    assert [label.text_content().strip() for label in form.xpath('//input[@name="languages"]/..')] == [
        "العربية", "English", "Français", "Türkçe"]

    postman = services.postman()
    postman.manual_runs(("daily",))
    postman.send_pending()
    got = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    assert set(got) == {"lecteur@example.org", "everyone@example.org"}
    french = html.fromstring(got["lecteur@example.org"].get_body(("html",)).get_content())
    assert [(d.get("lang"), d.get("dir"), d.findtext('.//a[@class="item-link"]'))
            for d in french.xpath('//div[@class="item"]')] == [("fr", "ltr", "Le port de pêche rouvre après la tempête")]
    assert "Le port de pêche" in got["lecteur@example.org"].get_body(("plain",)).get_content()
    everything = html.fromstring(got["everyone@example.org"].get_body(("html",)).get_content())
    items = {d.get("lang"): d.get("dir") for d in everything.xpath('//div[@class="item"]')}
    assert len(everything.xpath('//div[@class="item"]')) == 6
    assert items == {"ar": "rtl", "en": "ltr", "fr": "ltr", "tr": "ltr"}
