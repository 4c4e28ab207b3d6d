"""/search and /opensearch.xml (issue 17 item 5): full-text search for people and browsers."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from ..languages import LanguageTagError, checked_tag, native_name
from ..links import ALL
from . import services
from .pages import _feed_links, page_number

bp = Blueprint("search", __name__)
PAGE_SIZE = 20
MAX_QUERY = 500  # characters kept of q: a longer one is cut, never refused
MAX_PLACE = 200
OPENSEARCH = "application/opensearchdescription+xml"


def _year() -> int | None:
    raw = request.args.get("year", "").strip()
    if raw == "":
        return None
    if not re.fullmatch(r"[0-9]{4}", raw):
        abort(400, description=_("The year must be four digits, like 2024, not %(year)s.", year=repr(raw[:20])))
    return int(raw)


@bp.get("/search")
def search() -> str:
    s = services()
    taxonomy = s.taxonomy()
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    topic = request.args.get("topic", "").strip() or None
    if topic is not None and taxonomy.by_slug(topic) is None:
        abort(400, description=_("There is no topic %(topic)s to search in.", topic=repr(topic[:80])))
    place = request.args.get("place", "")[:MAX_PLACE].strip() or None
    year = _year()
    language = _language()
    form = {"q": query, "topic": topic or "", "place": place or "", "year": "" if year is None else str(year),
            "language": language or ""}
    # Issue 17 item 2: the languages releases are in, each named in itself.
    languages = [(tag, native_name(tag)) for tag in s.storage.release_languages()]
    if not query:  # nothing asked: the form alone
        return render_template("search.html", form=form, topics=taxonomy.topics, hits=None, total=0,
                               page=1, pages=1, titles=taxonomy.titles, feeds=_feed_links(ALL),
                               languages=languages)
    page = page_number(10**9)  # its form only: whether such a page exists is known after the count
    hits, total = s.storage.search(query, topic=topic, place=place, year=year, language=language,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        abort(404, description=_("There is no page %(page)d of these results: they have %(pages)d.",
                                 page=page, pages=pages))
    return render_template("search.html", form=form, topics=taxonomy.topics, hits=hits, total=total,
                           page=page, pages=pages, titles=taxonomy.titles, feeds=_feed_links(ALL),
                           languages=languages)


def _language() -> str | None:
    raw = request.args.get("language", "").strip()
    if raw == "":
        return None
    try:
        return checked_tag(raw)
    except LanguageTagError as exc:
        abort(400, description=f"The language must be a language tag, like fr or ar: {exc}.")


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    s = services()
    body = render_template("opensearch.xml", organisation=s.settings.organisation,
                           template=s.links.search_template(), self_url=s.links.opensearch(),
                           home=s.links.search(), language=s.settings.language)
    return Response(body, mimetype=OPENSEARCH)
