"""The interface's language for a request (issue 17 item 2), and Flask-Babel wired to it.

A reader's explicit choice comes first: a language link (`?hl=fr`, the interface language, as
Google names it: `lang` is left to filters on the releases' own language) answers in that
language and keeps the choice in a cookie. Without one, Accept-Language picks the best of ours; without
a match, FEEDSVC_DEFAULT_LOCALE. `request_locale()` is the one function that decides, so a
cache of rendered pages keys on what it returns (and pages say `Vary: Accept-Language, Cookie`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlencode

from flask import Flask, Response, request
from flask_babel import Babel, format_date
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie

from ..locales import DAY_PATTERN, LOCALES, checked_locale, direction, native_name
from ..resources import TRANSLATIONS_DIR
from . import services

PARAM = COOKIE = "hl"
COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds: a reader's language is not a session's
VARY = ("Accept-Language", "Cookie")
# The query arguments pages answer to (paging, search and its filters), which the switcher keeps;
# others (a crawler's utm_source…) are left out, so they never make a page's bytes differ.
KEPT_ARGS = frozenset(["page", "q", "topic", "place", "year", "lang"])


def best_match(accept_language: str | None, default: str) -> str:
    """The interface locale that fits an Accept-Language header best (RFC 9110 §12.5.4), else `default`."""
    # By quality, each tag by its primary language: "fr-FR, en;q=0.5" is French. (Werkzeug's own
    # best_match prefers an exact "en" at any quality to a regional "fr-FR".)
    for tag, quality in parse_accept_header(accept_language or "", LanguageAccept):
        locale = checked_locale(tag) if quality > 0 else None
        if locale:
            return locale
    return default


def environ_locale(environ: dict[str, Any], default: str) -> str:
    """The interface locale of a WSGI request: `?hl=`, else the `hl` cookie, else Accept-Language, else `default`.

    On the environ alone, so the page cache (web/pagecache.py) keys kept pages on it before Flask runs.
    """
    chosen = checked_locale(parse_qs(environ.get("QUERY_STRING", "")).get(PARAM, [""])[-1])
    if chosen is None:
        chosen = checked_locale(parse_cookie(environ.get("HTTP_COOKIE", "")).get(COOKIE))
    return chosen or best_match(environ.get("HTTP_ACCEPT_LANGUAGE"), default)


def request_locale() -> str:
    """The interface locale of the current request: the reader's choice, Accept-Language, the default."""
    return environ_locale(request.environ, services().settings.default_locale)


def language_links() -> list[dict[str, str | bool]]:
    """The switcher: this page in each language (its paging and search arguments kept).

    Query-only references ("?hl=fr"), resolved against the page's own address: the page's bytes
    then do not name its path, so a held release's 404 is the same as any other 404 (issue 17 item 1).
    """
    current = request_locale()
    # Page 1 is the page without ?page=: both show the same bytes.
    args = [(k, v) for k, v in request.args.items(multi=True) if k in KEPT_ARGS and (k, v) != ("page", "1")]
    return [{"code": code, "name": native_name(code), "current": code == current,
             "href": f"?{urlencode([*args, (PARAM, code)])}"} for code in LOCALES]


def day(value: dt.date | dt.datetime) -> str:
    """A date as pages show it, in the request's language."""
    return str(format_date(value, DAY_PATTERN))


def install(app: Flask, default_locale: str) -> None:
    Babel(app, locale_selector=request_locale, default_locale=default_locale,
          default_translation_directories=str(TRANSLATIONS_DIR))
    app.jinja_env.filters["day"] = day

    @app.context_processor
    def page_language() -> dict[str, object]:
        locale = request_locale()
        return {"page_locale": locale, "page_dir": direction(locale), "language_links": language_links}

    @app.after_request
    def remember_choice(resp: Response) -> Response:
        asked = checked_locale(request.args.get(PARAM))
        if asked and asked != request.cookies.get(COOKIE):
            resp.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure)
        if resp.mimetype == "text/html":  # pages, not feeds: their words follow the reader's language
            resp.vary.update(VARY)
        return resp
