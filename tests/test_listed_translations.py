"""One release in several languages inside one listing (issue 17 item 2): the rule, then the service.

The rule is pure (feedsvc/listed_translations.py) and tested on releases written for it, with the
hard cases beside the easy ones. The service is tested end to end: a text listing with a release,
its Turkish and its French versions and an unrelated release of the same day, written into a
content folder, read by the real ingester into SQLite and PostgreSQL, then the release pages and
the Atom feed read through the app as a browser and a feed reader would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from alembic import command
from lxml import html

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.ingest_languages import file_languages
from feedsvc.languages import TranslationMember, translation_groups
from feedsvc.listed_translations import ListedRelease, anchors, evidence, listed_translations
from feedsvc.model import Release
from feedsvc.services import build_services
from feedsvc.storage import Storage

A = "{http://www.w3.org/2005/Atom}"
DAY = dt.date(2026, 11, 20)

EN = ListedRelease(0, "en", DAY, "Antakya", "Mobile health teams reach 4,800 earthquake survivors in Hatay", (
    "Twelve mobile health teams supported by the Ministry of Health and WHO have examined 4,800 people "
    "in 37 villages of Hatay since 10 November, the office said today.",
    "A further 6 teams will start work in Kırıkhan and Reyhanlı on 15 December. The full report is at "
    "https://relief.example.org/reports/hatay-health; press@relief.example.org answers journalists."))
TR = ListedRelease(1, "tr", DAY, "Antakya", "Gezici sağlık ekipleri Hatay'da 4.800 depremzedeye ulaştı", (
    "Sağlık Bakanlığı ve WHO tarafından desteklenen on iki gezici sağlık ekibi, 10 Kasım'dan bu yana "
    "Hatay'ın 37 köyünde 4.800 kişiyi muayene etti.",
    "15 Aralık'ta Kırıkhan ve Reyhanlı'da 6 ekip daha çalışmaya başlayacak. Raporun tamamı "
    "https://relief.example.org/reports/hatay-health adresinde; gazeteciler press@relief.example.org adresine yazabilir."))
FR = ListedRelease(2, "fr", DAY, "Antakya", "Des équipes de santé mobiles auprès de 4 800 rescapés du séisme dans le Hatay", (
    "Douze équipes de santé mobiles soutenues par le ministère de la Santé et l'OMS ont examiné 4 800 personnes "
    "dans 37 villages du Hatay depuis le 10 novembre, a indiqué le bureau aujourd'hui.",
    "Six autres équipes commenceront à travailler à Kırıkhan et Reyhanlı le 15 décembre. Le rapport complet est sur "
    "https://relief.example.org/reports/hatay-health ; les journalistes écrivent à press@relief.example.org."))


def _at(r: ListedRelease, position: int, **changes: Any) -> ListedRelease:
    return dataclasses.replace(r, position=position, **changes)


# -- the rule --------------------------------------------------------------------------------


def test_anchors_are_what_no_language_changes() -> None:
    en, tr, fr = anchors(EN), anchors(TR), anchors(FR)
    # Thousands written three ways, names with a Turkish suffix or a French elision, dotless i: one token.
    for token in ("n:4800", "n:37", "w:hatay", "w:kirikhan", "w:reyhanli", "w:antakya",
                  "e:press@relief.example.org", "u:relief.example.org/reports/hatay-health"):
        assert token in en and token in tr and token in fr, token
    # A sentence's first word is not a name; the date's own year and day are the date's evidence.
    assert "w:twelve" not in en and "w:douze" not in fr and "n:2026" not in en and "n:20" not in en
    assert "w:oms" in fr and "w:who" in en  # acronyms count, translated ones simply do not match


def test_one_release_in_three_languages_is_one_group() -> None:
    assert listed_translations([EN, TR, FR]) == {0: 0, 1: 0, 2: 0}
    e = evidence(EN, FR)
    assert (e.languages_differ, e.dates, e.same_release) == (True, "same", True) and e.share >= 0.75
    # In whatever order the office lists them, and after releases of their own.
    other = ListedRelease(0, "en", DAY, "Van", "Winter kits delivered to 1,500 families in Van", (
        "Volunteers of the Red Crescent handed out 1,500 winter kits in Erciş and Muradiye this week.",))
    assert listed_translations([other, _at(FR, 1), _at(EN, 2), _at(TR, 3)]) == {1: 1, 2: 1, 3: 1}


def test_two_english_releases_of_one_day_sharing_figures_are_two_releases() -> None:
    # The same place, office, figures, address and report: only the language says they are not
    # one release in two languages, and that is required.
    update = _at(EN, 1, title="Mobile health teams extended to Kırıkhan and Reyhanlı", paragraphs=(
        "The Ministry of Health and WHO today extended the 12 mobile teams that examined 4,800 people in 37 "
        "villages of Hatay since 10 November to Kırıkhan and Reyhanlı, from 15 December.",
        "See https://relief.example.org/reports/hatay-health or write to press@relief.example.org."))
    assert evidence(EN, update).shared >= 8 and not evidence(EN, update).same_release
    assert listed_translations([EN, update]) == {}
    # And what two releases of one language in a file share is the office's, not a sign of anything:
    # beside them, a French version is linked to neither.
    assert listed_translations([EN, update, _at(FR, 2)]) == {}


def test_an_english_and_a_french_release_of_one_day_on_other_topics_are_not_linked() -> None:
    # One office, one day, one city: the place and the office's acronym, and little else, in common.
    school = ListedRelease(1, "fr", DAY, "Antakya", "Rentrée dans 14 écoles préfabriquées d'Antakya", (
        "L'UNICEF et la direction de l'éducation nationale ont ouvert 14 écoles préfabriquées pour 3 200 élèves "
        "dans le centre d'Antakya.",
        "Les cours reprendront le 24 novembre; le programme est détaillé sur https://relief.example.org/schools."))
    health = _at(EN, 0, paragraphs=(EN.paragraphs[0].replace("WHO", "UNICEF"), EN.paragraphs[1]))
    e = evidence(health, school)
    assert e.languages_differ and e.dates == "same" and 1 <= e.shared < 3 and not e.same_release
    assert listed_translations([health, school]) == {}


def test_what_every_release_of_the_office_carries_is_not_evidence() -> None:
    # Each release ends with the office's contact: a name, a phone, an address, the website.
    def signed(r: ListedRelease, position: int, text: str) -> ListedRelease:
        return _at(r, position, paragraphs=(*r.paragraphs, text))

    contact = "Contact: Elif Kaya, Relief Ankara, +90 312 555 0140, media@relief.example.org, https://relief.example.org"
    contact_fr = "Contact : Elif Kaya, Relief Ankara, +90 312 555 0140, media@relief.example.org, https://relief.example.org"
    school = ListedRelease(0, "en", DAY, "Antakya", "Prefabricated schools open in Antakya", (
        "UNICEF and the education directorate opened 14 prefabricated schools for 3,200 pupils in Antakya.",))
    school_fr = ListedRelease(0, "fr", DAY, "Antakya", "Des écoles préfabriquées ouvrent à Antakya", (
        "L'UNICEF et la direction de l'éducation ont ouvert 14 écoles préfabriquées pour 3 200 élèves à Antakya.",))
    winter_fr = ListedRelease(0, "fr", DAY, "Antakya", "Des kits d'hiver pour les familles de Van", (
        "Les volontaires ont distribué 1 500 kits d'hiver à Erciş et Muradiye cette semaine.",))
    listing = [signed(EN, 0, contact), signed(FR, 1, contact_fr), signed(school, 2, contact), signed(winter_fr, 3, contact_fr)]
    # The contact alone would link the school release to the French winter release beside it...
    assert evidence(listing[2], listing[3]).same_release
    # ...but it recurs in two English releases of the listing: the office's, not the release's.
    assert listed_translations(listing) == {0: 0, 1: 0}
    assert listed_translations([*listing[:3], signed(school_fr, 3, contact_fr)]) == {0: 0, 1: 0, 2: 2, 3: 2}


def test_dates_neighbours_and_what_the_office_states_win() -> None:
    # Two stated dates that differ are two releases, however alike.
    assert listed_translations([EN, _at(FR, 1, date=DAY + dt.timedelta(days=1))]) == {}
    # Without a date on one side, more must be shared (ANCHOR_SHARE_UNDATED); here enough is.
    assert listed_translations([EN, _at(FR, 1, date=None)]) == {0: 0, 1: 0}
    # Side by side only: a release between them (in a third language, on another topic) parts them.
    between = ListedRelease(1, "de", DAY, "Berlin", "Spendenaufruf für Winterhilfe", (
        "Die Organisation bittet um Spenden für Decken und Öfen.",))
    assert listed_translations([EN, between, _at(FR, 2)]) == {}
    # A release stating `translation_of:` is linked as stated and not guessed; it parts its neighbours.
    assert listed_translations([EN, _at(FR, 1, translation_of="other.md"), _at(TR, 2)]) == {}
    # No language, no guess.
    assert listed_translations([EN, _at(FR, 1, language=None)]) == {}


def test_a_language_the_text_was_too_short_to_tell_tells_no_versions_apart() -> None:
    def release(position: int, title: str, paragraphs: tuple[str, ...], language: str | None = None) -> Release:
        return Release(title=title, location="Antakya", date=DAY, author=None, section=None, paragraphs=paragraphs,
                       title_inferred=False, source_file="hatay.txt", position=position, language=language)

    # Eight letters: the office's default language (here French) is stored, but it is no evidence.
    figures = ("Hatay 4,800", ("WHO 37 / 6 / 15",))
    got = file_languages([release(0, EN.title, EN.paragraphs), release(1, *figures)], "fr")
    assert [(r.stored_language, r.listed_with) for r in got] == [("en", None), ("fr", None)]
    # Stated, it is: the same figures are then the French version's.
    got = file_languages([release(0, EN.title, EN.paragraphs), release(1, *figures, language="fr")], "fr")
    assert [(r.stored_language, r.listed_with) for r in got] == [("en", 0), ("fr", 0)]


def test_listed_groups_join_translation_groups_per_file_and_stated_links_win() -> None:
    members = [
        TranslationMember("a1", (), None, (("news.txt", 0),)),
        TranslationMember("a2", (), None, (("news.txt", 0),)),
        TranslationMember("b1", (), None, (("other.txt", 0),)),  # slot 0 of another file: not a1's
        TranslationMember("b2", (), None, (("other.txt", 0),)),
        TranslationMember("c1", ("c.md",), None, ()),
        # Stated: linked to c1 only, whatever a listing's reading said.
        TranslationMember("c2", ("c-fr.md",), "c.md", (("news.txt", 0),)),
    ]
    groups, warnings = translation_groups(members)
    assert groups == {"a1": "a1", "a2": "a1", "b1": "b1", "b2": "b1", "c1": "c1", "c2": "c1"}
    assert warnings == []


# -- through the service ---------------------------------------------------------------------

LISTING = """Press releases

Mobile health teams reach 4,800 earthquake survivors in Hatay
20 November 2026
ANTAKYA – Twelve mobile health teams supported by the Ministry of Health and WHO have examined 4,800 people in 37 villages of Hatay since 1 November, the office said today.
The teams carry vaccines, medicines for chronic illness and mental health counsellors. A further 6 teams will start work in Kırıkhan and Reyhanlı on 15 December.
Journalists can reach the press office at press@relief.example.org or read the full report at https://relief.example.org/reports/hatay-health.

Gezici sağlık ekipleri Hatay'da 4.800 depremzedeye ulaştı
20 Kasım 2026
ANTAKYA – Sağlık Bakanlığı ve WHO tarafından desteklenen on iki gezici sağlık ekibi, 1 Kasım'dan bu yana Hatay'ın 37 köyünde 4.800 kişiyi muayene etti.
Ekipler aşı, kronik hastalık ilaçları ve ruh sağlığı danışmanları taşıyor. 15 Aralık'ta Kırıkhan ve Reyhanlı'da 6 ekip daha çalışmaya başlayacak.
Gazeteciler basın ofisine press@relief.example.org adresinden ulaşabilir, raporun tamamını https://relief.example.org/reports/hatay-health adresinde okuyabilir.

Des équipes de santé mobiles auprès de 4 800 rescapés du séisme dans le Hatay
20 novembre 2026
ANTAKYA – Douze équipes de santé mobiles soutenues par le ministère de la Santé et l'OMS ont examiné 4 800 personnes dans 37 villages du Hatay depuis le 1er novembre, a indiqué le bureau aujourd'hui.
Les équipes transportent des vaccins, des médicaments contre les maladies chroniques et des conseillers en santé mentale. Six autres équipes commenceront à travailler à Kırıkhan et Reyhanlı le 15 décembre.
Les journalistes peuvent joindre le service de presse à press@relief.example.org ou lire le rapport complet sur https://relief.example.org/reports/hatay-health.

Winter kits delivered to 1,500 families in Van
20 November 2026
VAN – Volunteers of the Red Crescent handed out 1,500 winter kits with blankets, stoves and children's coats in the districts of Erciş and Muradiye this week.
Another 900 kits will follow before the end of the month.
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "press"
    out.mkdir()
    (out / "hatay.txt").write_text(LISTING, encoding="utf-8")
    return out


@pytest.fixture
def services(env: dict[str, str], mail_env: dict[str, str], folder: Path, storage: Storage, clock):  # type: ignore[no-untyped-def]
    s = build_services(load_settings(env | mail_env | {"FEEDSVC_CONTENT_DIR": str(folder)}), clock, storage=storage)
    yield s
    s.publisher.close()


def _stored(storage: Storage) -> dict[str, tuple[str, str | None, str | None, dt.datetime]]:
    """title's first word → (id, language, group, updated)."""
    return {r.title.split()[0]: (r.id, r.language, r.translation_group, r.updated)
            for r in storage.list_releases(limit=100)}


def test_a_listing_with_a_release_in_three_languages_links_them_on_pages_and_in_feeds(  # type: ignore[no-untyped-def]
        services, storage: Storage, folder: Path, clock) -> None:
    services.ingester().scan()
    stored = _stored(storage)
    assert {k: v[1] for k, v in stored.items()} == {"Mobile": "en", "Gezici": "tr", "Des": "fr", "Winter": "en"}
    ids = {k: v[0] for k, v in stored.items()}
    group = stored["Mobile"][2]
    assert group is not None and stored["Gezici"][2] == stored["Des"][2] == group
    assert group == min(ids["Mobile"], ids["Gezici"], ids["Des"])  # the smallest id, as for stated links
    assert stored["Winter"][2] is None  # the same day, next to the French version, another release

    # Scanning again, unchanged or rewritten with the same bytes, changes nothing: ids, groups, updated.
    clock.advance(minutes=5)
    assert services.ingester().scan().topics_changed == set()
    path = folder / "hatay.txt"
    path.write_text(LISTING, encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert services.ingester().scan().topics_changed == set()
    assert _stored(storage) == stored
    # The file edited elsewhere is read again and decided again: the same groups, the three unchanged.
    clock.advance(minutes=5)
    path.write_text(LISTING.replace("end of the month.", "end of the month, the office said."), encoding="utf-8")
    result = services.ingester().scan()
    assert (result.summary.files_changed, result.summary.releases_unchanged, result.summary.releases_updated) == (1, 3, 1)
    again = _stored(storage)
    assert {k: again[k] for k in ("Mobile", "Gezici", "Des")} == {k: stored[k] for k in ("Mobile", "Gezici", "Des")}
    assert again["Winter"][:3] == stored["Winter"][:3] and again["Winter"][3] > stored["Winter"][3]

    client = create_app(services=services).test_client()
    base = "https://press.example.org/releases/"
    names = {"en": "English", "tr": "Türkçe", "fr": "Français"}
    for word, lang in (("Mobile", "en"), ("Gezici", "tr"), ("Des", "fr")):
        page = html.fromstring(client.get(f"/releases/{ids[word]}").data)
        assert page.xpath("//article/@lang") == [lang]
        others = {other: ids[w] for w, other in (("Mobile", "en"), ("Gezici", "tr"), ("Des", "fr")) if other != lang}
        assert {(link.get("hreflang"), link.get("href")) for link in page.xpath('//head/link[@rel="alternate"][@hreflang]')} == {
            (other, base + rid) for other, rid in others.items()}
        (also,) = page.xpath('//p[@class="translations"]')
        assert sorted(also.xpath("./a/@lang")) == sorted(others)
        assert also.text_content() == "Also in: " + ", ".join(names[t] for t in sorted(others))
    assert not html.fromstring(client.get(f"/releases/{ids['Winter']}").data).xpath('//p[@class="translations"]')

    parsed = feedparser.parse(client.get("/feeds/all.atom").data)
    assert not parsed.bozo
    entries = {e.title.split()[0]: e for e in parsed.entries}
    for word, lang in (("Mobile", "en"), ("Gezici", "tr"), ("Des", "fr")):
        alternates = {(link.get("hreflang"), link.href) for link in entries[word].links if link.rel == "alternate"}
        assert alternates == {(t, base + ids[w]) for w, t in (("Mobile", "en"), ("Gezici", "tr"), ("Des", "fr"))}, word
        assert entries[word].title_detail.language == lang
    assert [link.href for link in entries["Winter"].links if link.rel == "alternate"] == [base + ids["Winter"]]


def test_a_listing_stored_before_migration_0021_is_grouped_by_the_next_scan(  # type: ignore[no-untyped-def]
        services, storage: Storage) -> None:
    services.ingester().scan()
    before = _stored(storage)
    # A database of before: no slots, no groups of listings.
    command.downgrade(storage.alembic_config(), "0020")
    with storage.engine.begin() as conn:
        conn.execute(sa.text("UPDATE releases SET translation_group = NULL"))
    storage.upgrade()
    assert {v[2] for v in _stored(storage).values()} == {None}
    result = services.ingester().scan()
    # The file is read again; its releases are unchanged (same ids, same `updated`) and grouped.
    assert (result.summary.files_changed, result.summary.releases_unchanged) == (1, 4)
    assert _stored(storage) == before
