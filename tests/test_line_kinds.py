"""What single listing lines are taken for, before the page's labelling weighs them (parsing/lines.py).

The golden pages in tests/data show each rule at work inside a page; these pin the line-level
readings the rules rest on, including the look-alikes each must leave alone.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.parsing import datelines as datelines_module
from feedsvc.parsing import lines as lines_module
from feedsvc.parsing.datelines import split_dateline
from feedsvc.parsing.lines import BYLINE, DATE, Line, describe
from feedsvc.parsing.listing import read_lines


@pytest.mark.parametrize(("text", "author", "date"), [
    ("Marta Silva | 22 March 2019", "Marta Silva", dt.date(2019, 3, 22)),  # a blog's byline without `By`
    ("Sofia Marín · 12 March 2019", "Sofia Marín", dt.date(2019, 3, 12)),
    ("di Giulia Ferrante | 13 giugno 2019", "Giulia Ferrante", dt.date(2019, 6, 13)),  # Italian
    ("door Jan de Vries | 4 mei 2020", "Jan de Vries", dt.date(2020, 5, 4)),  # Dutch
    ("Ruth Achterberg — 14 June 2022", "Ruth Achterberg", dt.date(2022, 6, 14)),  # a spaced dash
    ("12 May 2023 · Commentary · Elena Vasquez", "Elena Vasquez", dt.date(2023, 5, 12)),  # date, type, name
])
def test_a_name_beside_a_date_is_a_byline(text: str, author: str, date: dt.date) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.author, line.date) == (BYLINE, author, date)


@pytest.mark.parametrize("text", [
    "Human Rights Watch | 22 March 2019",  # an organisation
    "New York | 22 March 2019",  # a place
    "Press Release | 22 March 2019",  # a type
    "News Comment | 3 December 2019",
    "Joint Press Release | 10 December 2019",
    "Geneva, Switzerland — 12 May 2021",  # a place and its country
])
def test_a_place_type_or_organisation_beside_a_date_is_no_author(text: str) -> None:
    line = describe(1, text, True)
    assert line.kind == DATE and line.author is None


def test_a_content_systems_account_is_no_author() -> None:
    line = describe(1, "Submitted by admin on Tue, 2007-05-08 17:50", True)
    assert (line.kind, line.author, line.date) == (DATE, None, dt.date(2007, 5, 8))


@pytest.mark.parametrize("text", [
    "Filter by year 2013 2012 2011 2010", "Sort by: Newest", "Filter by topic: All | Aid | Health",
    "Filtrar por país | Filtrar por tema", "Trier par : date", "Home > Media centre > Press releases",
    "Home › Notizie e storie", "Accueil / Salle de presse", "News note", "Joint press release", "Notícia",
    "Pagina iniziale > Sala stampa > Comunicati",  # Italian: a breadcrumb opening with `p`
    "Главная › Новости", "Вы здесь", "Artículo",  # Russian editions; a Spanish type label
])
def test_controls_breadcrumbs_and_type_labels_are_chrome(text: str) -> None:
    assert describe(1, text, True).chrome


@pytest.mark.parametrize("text", [
    "« Notícias anteriores", "« Articoli precedenti", "Next page ›", "Showing 1 - 4 of 212 | Next »",
    "42 résultats – page 1 sur 9", "Toplam 86 kayıt bulundu", "1 - 7 of 7 results",
])
def test_pagers_and_result_counts(text: str) -> None:
    assert describe(1, text, True).count


@pytest.mark.parametrize("text", [
    "«Nos quedamos sin nada»",  # a quotation, not a link beside its arrow
    "Show me the money: aid budgets fall again",
    "Home truths about aid in 2019",
    "Sorting out the refugee registration backlog",
    "Pagina iniziale: a new start for the Naples shelter",  # the breadcrumb's words without its path
])
def test_titles_that_look_like_controls_stay_titles(text: str) -> None:
    line = describe(1, text, True)
    assert not (line.chrome or line.count) and line.heading


def test_last_update_is_the_pages_date() -> None:
    assert describe(1, "Last update: 16 September 2011", True).updated
    assert not describe(1, "Update 12 March 2019", True).updated


@pytest.mark.parametrize("text", ["Monday, 13 Febuary 2023", "9 Apil 2020", "Marhc 24, 2021"])
def test_a_misspelt_month_is_a_date_line_naming_no_day(text: str) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.date) == (DATE, None)


@pytest.mark.parametrize(("text", "author"), [
    ("JOANNA PRZYBYLSKA, Senior Fellow", "JOANNA PRZYBYLSKA"),  # a name in capitals, then the role
    ("Opinion | Renée Castellanos | 12 Marhc 2019", "Renée Castellanos"),  # the date misspelt
    ("Posted on Febuary 22, 2021 by Peter Langat", "Peter Langat"),
    ("Hannah Ellery · Jan 12, 2023 · 5 min read", "Hannah Ellery"),  # Medium
])
def test_more_bylines(text: str, author: str) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.author) == (BYLINE, author)


def test_a_place_and_its_region_is_no_byline() -> None:
    assert describe(1, "NAIROBI, Kenya", True).kind != BYLINE


@pytest.mark.parametrize("text", ["Posted in Advocacy | Tagged World Water Day | 1 Comment", "From: Department for "
                                  "International Development and Foreign & Commonwealth Office"])
def test_a_posts_footer_and_a_long_field_are_tags(text: str) -> None:
    assert describe(1, text, True).tag


@pytest.mark.parametrize("text", ["Read the full piece", "More from Community Voices »", "Subscribe to press releases"])
def test_more_leftovers(text: str) -> None:
    assert describe(1, text, True).leftover


def test_a_town_named_like_a_word_opens_no_dateline() -> None:
    line = describe(1, "Most New Zealanders would be shocked to learn where their chocolate comes from.", True)
    assert not line.dateline


def test_an_apostrophe_inside_a_place_in_capitals() -> None:
    for text, place in [("NUKU'ALOFA, TONGA (14 March 2019) — The grant …", "Nuku'alofa, Tonga"),
                        ("COX'S BAZAR, Bangladesh – Monsoon rains …", "Cox's Bazar, Bangladesh")]:
        found = split_dateline(text)
        assert found is not None and found.place == place


@pytest.mark.parametrize(("text", "title"), [
    ("Continue reading “Summer of smoke”", "Summer of smoke"),
    ("Continue reading “Aged care: they said “fix it”. So fix it.”", "Aged care: they said “fix it”. So fix it."),
    ("Read more", None),
    ("More from our partners in the region", None),  # a sentence, not a link naming a title
])
def test_a_leftover_names_the_title_it_repeats(text: str, title: str | None) -> None:
    assert describe(1, text, True).quoted == title


@pytest.mark.parametrize(("text", "date"), [
    ("21 ноября 2023 г.", dt.date(2023, 11, 21)),  # Russian: genitive month, `г.` after the year
    ("15 листопада 2021 року", dt.date(2021, 11, 15)),  # Ukrainian
    ("Понедельник, 3 марта 2025", dt.date(2025, 3, 3)),
])
def test_russian_and_ukrainian_dates(text: str, date: dt.date) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.date) == (DATE, date)


def test_a_russian_dateline_with_its_date() -> None:
    found = split_dateline("АЛМАТЫ, 21 ноября 2023 г. – Представители правительств собрались")
    assert found is not None and (found.place, found.date) == ("Алматы", dt.date(2023, 11, 21))


@pytest.mark.parametrize("text", ["Région Afrique du Nord et Moyen-Orient", "Pays Égypte", "Region Americas"])
def test_region_and_country_fields_are_tags(text: str) -> None:
    assert describe(1, text, True).tag


def test_a_banner_in_capitals_is_no_dateline() -> None:
    assert split_dateline("FAIRE UN DON, C'EST AGIR : SOUTENEZ NOS ÉQUIPES !") is None
    found = split_dateline("MINGORA, Khyber Pakhtunkhwa: Up to 300 families returned this week.")
    assert found is not None and found.place == "Mingora, Khyber Pakhtunkhwa"


def test_a_pager_in_german() -> None:
    assert describe(1, "« Erste ‹ Vorherige … 16 17 18 19 20 … Nächste › Letzte »", True).count


def test_a_byline_with_a_comma_before_its_date() -> None:
    line = describe(1, "By KATE HOLLOWAY, 2 June 2021", True)
    assert (line.kind, line.author, line.date) == (BYLINE, "KATE HOLLOWAY", dt.date(2021, 6, 2))


def test_a_category_after_a_date_is_no_author() -> None:
    line = describe(1, "21.03.2019 | Community Centres", True)
    assert line.kind == DATE and line.author is None


@pytest.mark.parametrize(("text", "author", "date"), [
    ("Words by TOM KEARNEY · 2 March 2021", "TOM KEARNEY", dt.date(2021, 3, 2)),
    ("BY SAMUEL OYELARAN / SEPTEMBER 4, 2017", "SAMUEL OYELARAN", dt.date(2017, 9, 4)),
])
def test_more_byline_forms(text: str, author: str, date: dt.date) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.author, line.date) == (BYLINE, author, date)


def test_a_ukrainian_dateline_with_its_date() -> None:
    found = split_dateline("УЖГОРОД, 8 грудня 2022 р. – Нові центри надаватимуть допомогу")
    assert found is not None and (found.place, found.date) == ("Ужгород", dt.date(2022, 12, 8))


# The cheap tests that rule a line out before a pattern runs must never rule out a line the
# pattern would take: hypothesis writes lines each pattern matches (in any case, re.IGNORECASE's
# non-ASCII folds included) and each must pass its gate.
_GATES = [
    (lines_module._LEFTOVER, lines_module.LEFTOVER_OPENERS),
    (lines_module._SHARE_START, lines_module.SHARE_OPENERS),
    (lines_module._SUBSCRIBE, lines_module.SUBSCRIBE_OPENERS),
    (lines_module._TAG_FIELD, lines_module.TAG_FIELD_OPENERS),
    (lines_module._LABEL, lines_module.LABEL_OPENERS),
]


@pytest.mark.parametrize(("pattern", "openers"), _GATES, ids=lambda p: getattr(p, "pattern", "openers")[:20])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_line_a_pattern_takes_passes_its_first_letter_gate(pattern: re.Pattern[str], openers: frozenset[str],
                                                              data: st.DataObject) -> None:
    text = data.draw(st.from_regex(pattern, fullmatch=True))
    assert text[:1] in openers, (pattern.pattern[:40], text)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(lines_module._BULLET))
def test_a_bullet_opens_with_a_mark_or_a_digit(text: str) -> None:
    match = lines_module._BULLET.match(text)
    if match is not None:
        assert text[0] in lines_module.BULLET_OPENERS or text[0].isdigit()


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.from_regex(lines_module._PAGER_HINT), st.text(max_size=60)))
def test_the_pager_hint_gate_agrees_with_the_pattern(text: str) -> None:
    assert lines_module._pager_hint(text) == (lines_module._PAGER_HINT.search(text) is not None)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab -–—―‒\t"), max_size=120))
def test_the_dash_test_sees_every_dash_in_a_heads_reach(text: str) -> None:
    reach = datelines_module._MAX_HEAD_CHARS + 4
    assert datelines_module._has_dash(text) == (re.search(r"[-–—―‒]", text[:reach]) is not None)


@pytest.mark.parametrize(("pattern", "text"), [
    (lines_module._SHARE_START, "ſhare"),  # re.IGNORECASE takes the long s for an s
    (lines_module._TAG_FIELD, "Kategori: Sağlık"),  # and the Kelvin sign for a k
    (lines_module._SUBSCRIBE, "İnscreva-se"),  # and the dotted capital I for an i
])
def test_the_gates_keep_the_letters_ignorecase_folds_to_ascii(pattern: re.Pattern[str], text: str) -> None:
    gate = {id(p): o for p, o in _GATES}[id(pattern)]
    assert pattern.match(text) is not None and text[:1] in gate


@pytest.mark.parametrize(("text", "author"), [
    ("By June Alvarez", "June Alvarez"),  # four months are given names too
    ("BY JUNE ALVAREZ / SEPTEMBER 18, 2017", "JUNE ALVAREZ"),
    ("By April Kim and Sam Lee", "April Kim and Sam Lee"),
])
def test_a_given_name_that_is_a_month_opens_a_byline(text: str, author: str) -> None:
    line = describe(1, text, True)
    assert (line.kind, line.author) == (BYLINE, author)


@pytest.mark.parametrize("text", [
    "By June, the agency had agreed",  # a sentence
    "By June Next Year Millions Will Need Aid",  # a headline: more than a name's words
    "By March Madness",  # March is no given name
])
def test_a_month_opening_a_sentence_is_no_byline(text: str) -> None:
    assert describe(1, text, True).kind != BYLINE


def _page(*texts: str) -> list[Line]:
    return read_lines("\n".join(texts) + "\n")


def test_a_name_alone_over_a_date_and_reading_time_is_a_byline() -> None:
    lines = _page("Why the river towns cannot wait", "Hannah Ellery", "September 14, 2020 · 5 min read")
    assert (lines[1].kind, lines[1].author) == (BYLINE, "Hannah Ellery")


@pytest.mark.parametrize("above", [
    "Geneva",  # a place
    "Press Releases",  # the page's words
    "Human Rights Watch",  # an organisation
])
def test_what_is_no_person_over_a_reading_time_stays_text(above: str) -> None:
    lines = _page("A title over it all", above, "September 14, 2020 · 5 min read")
    assert lines[1].kind != BYLINE


def test_a_name_over_a_plain_date_line_is_left_to_the_page() -> None:
    # Without the reading time nothing says the line is no title: the labelling decides.
    lines = _page("Hannah Ellery", "September 14, 2020")
    assert lines[0].kind != BYLINE
