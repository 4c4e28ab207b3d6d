"""What single listing lines are taken for, before the page's labelling weighs them (parsing/lines.py).

The golden pages in tests/data show each rule at work inside a page; these pin the line-level
readings the rules rest on, including the look-alikes each must leave alone.
"""

from __future__ import annotations

import datetime as dt

import pytest

from feedsvc.parsing.lines import BYLINE, DATE, describe


@pytest.mark.parametrize(("text", "author", "date"), [
    ("Marta Silva | 22 March 2019", "Marta Silva", dt.date(2019, 3, 22)),  # a blog's byline without `By`
    ("Sofia Marín · 12 March 2019", "Sofia Marín", dt.date(2019, 3, 12)),
    ("di Giulia Ferrante | 13 giugno 2019", "Giulia Ferrante", dt.date(2019, 6, 13)),  # Italian
    ("door Jan de Vries | 4 mei 2020", "Jan de Vries", dt.date(2020, 5, 4)),  # Dutch
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
])
def test_titles_that_look_like_controls_stay_titles(text: str) -> None:
    line = describe(1, text, True)
    assert not (line.chrome or line.count) and line.heading


def test_last_update_is_the_pages_date() -> None:
    assert describe(1, "Last update: 16 September 2011", True).updated
    assert not describe(1, "Update 12 March 2019", True).updated
