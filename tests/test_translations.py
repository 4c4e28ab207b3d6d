"""The interface in English, French, Turkish and Arabic (issue 17 item 2): pages, emails, catalogues.

Real parts: the app over a real ingest and database, the catalogues as shipped, aiosmtpd on loopback.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from feedsvc.locales import LOCALES
from feedsvc.resources import TRANSLATIONS_DIR
from feedsvc.services import Services
from feedsvc.storage import Storage
from tests.conftest import ROOT
from tests.test_confirmations import sign_up
from tests.test_web_feeds import WEB, ingest

TRANSLATED = [loc for loc in LOCALES if loc != "en"]
# A word of each page in each language, as its catalogue has it: proof the page is translated.
WORDS = {
    "en": {"/": "Latest", "/search": "Any topic", "/subscribe": "How often", "topic": "Follow this topic:",
           "release": "Added on"},
    "fr": {"/": "Les plus récents", "/search": "Tous les thèmes", "/subscribe": "Fréquence",
           "topic": "Suivre ce thème :", "release": "Ajouté le"},
    "tr": {"/": "En yeniler", "/search": "Tüm konular", "/subscribe": "Sıklık", "topic": "Bu konuyu takip edin:",
           "release": "Eklenme:"},
    "ar": {"/": "الأحدث", "/search": "أي موضوع", "/subscribe": "وتيرة الإرسال", "topic": "تابِع هذا الموضوع:",
           "release": "أُضيف في"},
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | WEB | mail_env


@pytest.fixture
def app(env: dict[str, str], storage: Storage, make_app: Any) -> Any:
    ingest(env, storage)
    return make_app(env)


def urls(storage: Storage) -> dict[str, str]:
    release = storage.list_releases(limit=1)[0]
    topic = release.topics[0]
    return {"/": "/", "/search": "/search", "/subscribe": "/subscribe", "topic": f"/topics/{topic}",
            "release": f"/releases/{release.id}"}


def text(resp: Any) -> str:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return str(resp.get_data(as_text=True))


def html_attrs(body: str) -> tuple[str | None, str | None]:
    root = lxml.html.fromstring(body)
    return root.get("lang"), root.get("dir")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_in_the_browser_s_language(app: Any, storage: Storage, locale: str) -> None:
    client = app.test_client()
    for page, url in urls(storage).items():
        resp = client.get(url, headers={"Accept-Language": f"{locale}-XX, de;q=0.8, en;q=0.1"})
        body = text(resp)
        assert WORDS[locale][page] in body, (locale, url)
        assert html_attrs(body) == (locale, "rtl" if locale == "ar" else "ltr")
        assert {"Accept-Language", "Cookie"} <= set(resp.vary), url
        if locale != "en":
            assert WORDS["en"][page] not in body, (locale, url)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_switcher_s_choice_is_kept_in_a_cookie_and_beats_the_browser(app: Any, storage: Storage,
                                                                         locale: str) -> None:
    client = app.test_client()
    home = lxml.html.fromstring(text(client.get("/")))
    (switcher,) = home.xpath("//nav[@class='languages']")
    assert switcher.get("aria-label") == "Language"
    links = {a.get("hreflang"): a for a in switcher.xpath(".//a")}
    assert list(links) == list(LOCALES) and links["en"].get("aria-current") == "true"
    chosen = client.get("/" + links[locale].get("href"), headers={"Accept-Language": "en"})
    assert html_attrs(text(chosen)) == (locale, "rtl" if locale == "ar" else "ltr")
    assert chosen.headers["Set-Cookie"].startswith(f"hl={locale};")
    # Every later page keeps the choice, whatever the browser asks for.
    for page, url in urls(storage).items():
        body = text(client.get(url, headers={"Accept-Language": "en"}))
        assert WORDS[locale][page] in body and html_attrs(body)[0] == locale, (locale, url)
    # Back to English by the switcher, with the page's own arguments kept.
    doc = lxml.html.fromstring(text(client.get("/search?q=migration&page=1")))
    (back,) = doc.xpath("//nav[@class='languages']//a[@hreflang='en']")
    assert back.get("href") == "?q=migration&hl=en"
    assert html_attrs(text(client.get("/search" + back.get("href")))) == ("en", "ltr")
    assert html_attrs(text(client.get("/"))) == ("en", "ltr")


def test_no_match_is_the_default_locale_and_feeds_do_not_vary(env: dict[str, str], storage: Storage,
                                                             make_app: Any) -> None:
    ingest(env, storage)
    client = make_app(env | {"FEEDSVC_DEFAULT_LOCALE": "tr"}).test_client()
    body = text(client.get("/", headers={"Accept-Language": "de, ja"}))
    assert html_attrs(body) == ("tr", "ltr") and "En yeniler" in body
    assert html_attrs(text(client.get("/", headers={"Accept-Language": "fr"})))[0] == "fr"
    feed = client.get("/feeds/all.atom", headers={"Accept-Language": "fr"})
    # A feed's words are its releases': it varies by encoding (the feed server's Vary), never by language.
    assert feed.status_code == 200 and "Accept-Language" not in feed.headers.get("Vary", "")


def test_an_unknown_default_locale_stops_start_up(env: dict[str, str], make_app: Any) -> None:
    from feedsvc.model import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_DEFAULT_LOCALE='de' must be one of en, fr, tr, ar"):
        make_app(env | {"FEEDSVC_DEFAULT_LOCALE": "de"})


def test_errors_and_dates_are_translated(app: Any, storage: Storage) -> None:
    client = app.test_client()
    missing = client.get("/releases/no-such-release", headers={"Accept-Language": "fr"})
    assert missing.status_code == 404
    body = missing.get_data(as_text=True)
    assert "Introuvable" in body and "Ce communiqué de presse n’existe pas." in body
    release = storage.list_releases(limit=1)[0]
    page = text(client.get(f"/releases/{release.id}", headers={"Accept-Language": "tr"}))
    from babel.dates import format_date

    assert format_date(release.first_seen, "d MMMM y", locale="tr") in page


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_confirmation_email_is_in_the_language_of_the_sign_up(app: Any, storage: Storage, smtp_server: Any,
                                                                  locale: str) -> None:
    client = app.test_client()
    client.get(f"/subscribe?hl={locale}")
    resp = sign_up(client, "lecteur@example.org", "10.0.0.9")
    assert resp.status_code == 200 and html_attrs(text(resp))[0] == locale
    sub = storage.get_subscriber_by_email("lecteur@example.org")
    assert sub is not None and sub.locale == locale
    services: Services = app.extensions["feedsvc"]
    assert services.confirmations().send_queued().sent == 1
    (received,) = smtp_server.messages
    message = received.message
    catalogue = translations(locale)
    subject = catalogue.gettext("Confirm your subscription to %(list)s") % {"list": "IOM Turkey press releases"}
    assert str(message["Subject"]) == subject
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert catalogue.gettext("To confirm, open this link (it expires in %(duration)s):") \
        .split("%(duration)s")[0] in plain
    assert catalogue.gettext("Confirm my subscription") in html
    assert html_attrs(html) == (locale, "rtl" if locale == "ar" else "ltr")
    # The confirmation page it links to speaks the sign-up's language, in any browser: the link
    # names it (a phone's mail app opens it without the cookie of the browser that signed up).
    (link,) = set(re.findall(r"https?://[^/\s]+(/confirm/[\w.-]+\?hl=\w+)", plain))
    assert link.endswith(f"?hl={locale}")
    page = text(app.test_client().get(link, headers={"Accept-Language": "de"}))
    assert html_attrs(page)[0] == locale and catalogue.gettext("Confirm subscription") in page


def test_a_digest_s_links_open_its_pages_in_the_subscriber_s_language(app: Any, storage: Storage,
                                                                       smtp_server: Any, content_dir: Path) -> None:
    services: Services = app.extensions["feedsvc"]
    storage.add_confirmed("okur@example.org", (), "daily", services.clock(), locale="tr")
    storage.add_confirmed("reader@example.org", (), "daily", services.clock())
    (content_dir / "later.txt").write_text(  # a release that comes after they subscribed
        "Press Releases\n\nFishing Port Reopens After the Storm\n\nIzmir – The port reopened on Monday "
        "after repairs, the harbour office said.\n", encoding="utf-8")
    services.ingester().scan()
    postman = services.postman()
    postman.manual_runs(("daily",))
    postman.send_pending()
    got = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    turkish = lxml.html.fromstring(got["okur@example.org"].get_body(("html",)).get_content())
    mine = [h for h in turkish.xpath("//a/@href") if re.search(r"/(preferences|unsubscribe|digests)/", h)]
    assert len({re.search(r"/(preferences|unsubscribe|digests)/", h).group(1) for h in mine}) == 3  # type: ignore[union-attr]
    for href in mine:
        assert href.endswith("?hl=tr"), href
        # A fresh browser asking for English still gets the subscriber's language.
        parts = urlsplit(href)
        page = text(app.test_client().get(f"{parts.path}?{parts.query}", headers={"Accept-Language": "en"}))
        assert html_attrs(page)[0] == "tr", href
    # RFC 8058's one-click POST goes to the same address and still acts.
    header = str(got["okur@example.org"]["List-Unsubscribe"])
    one_click = re.search(r"<https?://[^/>]+(/unsubscribe/[^>]+)>", header)
    assert one_click is not None and one_click.group(1).endswith("?hl=tr")
    assert app.test_client().post(one_click.group(1), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    subscriber = storage.get_subscriber_by_email("okur@example.org")
    assert subscriber is not None and subscriber.state == "unsubscribed"
    # Without a chosen language the links are as before: the browser's language decides.
    english = got["reader@example.org"].get_body(("html",)).get_content()
    assert re.search(r"/preferences/[\w.-]+\"", english) and "?hl=" not in english


# ---------------------------------------------------------------- the catalogues themselves


def translations(locale: str) -> gettext.GNUTranslations:
    with open(TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.mo", "rb") as f:
        return gettext.GNUTranslations(f)


def po(locale: str) -> Any:
    with open(TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def ids(catalog: Any) -> set[Any]:
    return {m.id for m in catalog if m.id}


def test_the_template_holds_every_message_of_the_sources() -> None:
    """messages.pot is what `pybabel extract -F babel.cfg -k _l` finds today (the README's command)."""
    method_map = [("feedsvc/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/email/**.txt", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found = {message if isinstance(message, str) else tuple(message[:2])
             for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, keywords=keywords)}
    with open(TRANSLATIONS_DIR / "messages.pot", "rb") as f:
        template = ids(read_po(f))
    assert found == template


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(locale: str) -> None:
    with open(TRANSLATIONS_DIR / "messages.pot", "rb") as f:
        template = ids(read_po(f))
    catalog = po(locale)
    assert ids(catalog) == template
    problems = []
    for m in catalog:
        if not m.id:
            continue
        if m.fuzzy:
            problems.append(f"fuzzy: {m.id!r}")
        msgids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        msgstrs = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        if len(msgstrs) != (1 if isinstance(m.id, str) else catalog.num_plurals) or not all(msgstrs):
            problems.append(f"untranslated: {m.id!r}")
            continue
        wanted = set(PLACEHOLDER.findall(msgids[-1]))
        for s in msgstrs:
            got = set(PLACEHOLDER.findall(s))
            # A plural form may leave the number out ("نتيجة واحدة": one result); nothing else may be.
            allowed_missing = {"num"} if len(msgstrs) > 1 else set()
            if not got <= wanted or wanted - got - allowed_missing:
                problems.append(f"placeholders {sorted(got)} for {sorted(wanted)}: {s!r}")
    assert problems == []
    assert [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()] == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_shipped_mo_is_the_po_compiled(locale: str) -> None:
    """The .mo files are committed (no build step needed from a clone): they must say what the .po says."""
    catalog = po(locale)
    compiled = translations(locale)._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, str):
            expected[m.id] = m.string
        else:
            expected.update({(m.id[0], n): s for n, s in enumerate(m.string)})
    assert {k: v for k, v in compiled.items() if k != ""} == expected, \
        "recompile: pybabel compile -d feedsvc/translations (the README's Translations)"
    assert translations(locale).info()["plural-forms"] == catalog.plural_forms


def test_arabic_has_six_plural_forms() -> None:
    assert po("ar").num_plurals == 6
    ar = translations("ar")
    assert [ar.ngettext("%(num)d result", "%(num)d results", n) % {"num": n} for n in (0, 1, 2, 3, 11, 100)] == \
        ["لا توجد نتائج", "نتيجة واحدة", "نتيجتان", "3 نتائج", "11 نتيجة", "100 نتيجة"]


def test_the_repository_s_catalogues_are_the_package_s() -> None:
    assert TRANSLATIONS_DIR.resolve() == (ROOT / "feedsvc" / "translations").resolve()
    assert sorted(p.name for p in TRANSLATIONS_DIR.iterdir() if p.is_dir()) == sorted(TRANSLATED)
    assert (ROOT / "babel.cfg").is_file() and Path(TRANSLATIONS_DIR / "messages.pot").is_file()


def test_the_admin_pages_too(env: dict[str, str], storage: Storage, make_app: Any) -> None:
    client = make_app(env | {"FEEDSVC_ADMIN_TOKEN": "t" * 40}).test_client()
    login = text(client.get("/admin/login", headers={"Accept-Language": "tr"}))
    assert "Yönetici anahtarı" in login and "Giriş yap" in login
    admin = text(client.get("/admin", headers={"Accept-Language": "ar", "Authorization": "Bearer " + "t" * 40}))
    assert html_attrs(admin) == ("ar", "rtl")
    assert "يحتاج إلى متابعة" in admin and "المشتركون" in admin and "Needs attention" not in admin


def test_digest_periods_and_datelines_in_each_language() -> None:
    import datetime as dt

    from feedsvc.locales import localized_day, localized_period

    assert localized_period("week of 16 November 2026", "en") == "week of 16 November 2026"
    assert localized_period("week of 16 November 2026", "fr") == "semaine du 16 novembre 2026"
    assert localized_period("2 December 2026", "tr") == "2 Aralık 2026"
    assert localized_period("just published", "ar") == "نُشرت للتو"
    assert localized_period("a label an operator typed", "ar") == "a label an operator typed"
    assert localized_day(dt.date(2026, 11, 16), "en") == "16 November 2026"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_digest_in_the_subscriber_s_language(locale: str) -> None:
    import dataclasses

    from feedsvc.digest import plan_digest
    from tests.test_digest import TOPICS, bodies, release, render, subscriber

    reader = dataclasses.replace(subscriber(), locale=locale)
    sections = plan_digest(reader, [release(1, "migration"), release(2), release(3, "health")], TOPICS)
    msg = render(sections, reader)
    text_part, html_part = bodies(msg)
    catalogue = gettext.NullTranslations() if locale == "en" else translations(locale)
    period = {"en": "week of 16 November 2026", "fr": "semaine du 16 novembre 2026",
              "tr": "16 Kasım 2026 haftası", "ar": "أسبوع 16 نوفمبر 2026"}[locale]
    new = catalogue.ngettext("(%(num)d new)", "(%(num)d new)", 3) % {"num": 3}
    assert str(msg["Subject"]) == f"Press releases — {period} {new}"
    why = catalogue.gettext("You receive this weekly digest because %(email)s subscribed to %(list)s.")
    assert why % {"email": "ayse@example.com", "list": "Press releases"} in text_part
    assert catalogue.gettext("Other releases") in text_part and catalogue.gettext("Other releases") in html_part
    day = {"en": "16 November 2026", "fr": "16 novembre 2026", "tr": "16 Kasım 2026", "ar": "16 نوفمبر 2026"}[locale]
    assert f"Ankara, {day}" in text_part
    assert html_attrs(html_part) == (locale, "rtl" if locale == "ar" else "ltr")
