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
from typing import Any

from feedsvc.listed_translations import ListedRelease, anchors, evidence, listed_translations

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
    # Nor two versions in one language of the group: a second French release starts its own.
    assert listed_translations([EN, _at(FR, 1), _at(FR, 2, title="Autre communiqué")]) == {0: 0, 1: 0}


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
