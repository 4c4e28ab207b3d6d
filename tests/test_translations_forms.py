"""The forms in the reader's language, and the language of one's emails chosen later (issue 17 item 2).

Real parts: the app over a real ingest and database, the catalogues as shipped (ours and WTForms'),
a digest run sent to aiosmtpd on loopback.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from feedsvc.locales import LOCALES
from feedsvc.services import Services
from feedsvc.storage import Storage
from tests.test_confirmations import sign_up
from tests.test_translations import TRANSLATED, html_attrs, text, translations
from tests.test_web_feeds import WEB, ingest
from tests.test_zones import LISTING

# WTForms' own catalogue (wtforms/locale), which Flask-WTF's WTF_I18N_ENABLED reads: not ours.
REQUIRED = {"en": "This field is required.", "fr": "Ce champ est requis.", "tr": "Bu alan zorunludur.",
            "ar": "هذا الحقل مطلوب."}
# Ours (feedsvc/addresses.py's reasons, translated in our catalogues), written out as a reader sees them.
NO_DOMAIN = {"en": "The part after the @ sign is not a valid domain name.",
             "fr": "La partie après le @ n’est pas un nom de domaine valide.",
             "tr": "@ işaretinden sonraki kısım geçerli bir alan adı değil.",
             "ar": "الجزء الذي يلي العلامة @ ليس اسم نطاق صالحًا."}


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | WEB | mail_env


@pytest.fixture
def app(env: dict[str, str], storage: Storage, make_app: Any) -> Any:
    ingest(env, storage)  # the samples: on pages, never in a digest of someone who subscribed after
    return make_app(env)


def catalogue(locale: str) -> gettext.NullTranslations:
    return gettext.NullTranslations() if locale == "en" else translations(locale)


def alerts(body: str) -> list[str]:
    return [e.text_content() for e in lxml.html.fromstring(body).xpath("//*[@role='alert']")]


def csrf_of(body: str) -> str:
    return body.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_refused_address_is_explained_in_the_page_s_language(app: Any, storage: Storage, locale: str) -> None:
    client = app.test_client()
    client.get(f"/subscribe?hl={locale}")  # the switcher's choice, kept in its cookie for the POST
    for typed, said in (("", REQUIRED[locale]), ("reader@example", NO_DOMAIN[locale])):
        resp = sign_up(client, typed, "192.0.2.30")
        assert resp.status_code == 400
        assert html_attrs(resp.get_data(as_text=True))[0] == locale
        assert alerts(resp.get_data(as_text=True)) == [said], (locale, typed)
    # A reason with the offending characters in it: the catalogue's sentence, filled in.
    resp = sign_up(client, "ayşe@example.org", "192.0.2.30")
    message = catalogue(locale).gettext(
        "The part before the @ has characters outside plain ASCII (%(characters)s): we cannot yet "
        "send to such an address. Please use another address.") % {"characters": "ş"}
    assert alerts(resp.get_data(as_text=True)) == [message]
    assert locale == "en" or "ASCII (ş): we cannot" not in message
    assert list(storage.iter_subscribers()) == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_missing_form_token_is_explained_in_the_page_s_language(app: Any, storage: Storage, locale: str) -> None:
    services: Services = app.extensions["feedsvc"]
    storage.add_confirmed("reader@example.org", (), "weekly", services.clock())
    sub = storage.get_subscriber_by_email("reader@example.org")
    assert sub is not None
    path = services.links.preferences(sub.id, sub.email).removeprefix(services.settings.base_url)
    resp = app.test_client().post(f"{path}?hl={locale}", data={"frequency": "daily", "locale": "en"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    wanted = catalogue(locale).gettext("The form's security token is missing: reload the page and send the form again.")
    assert wanted in body and "CSRF" not in body and html_attrs(body)[0] == locale
    assert storage.get_subscriber_by_email("reader@example.org") == sub  # nothing changed


def test_a_subscriber_chooses_the_language_of_their_emails_and_the_next_digest_speaks_it(
        app: Any, storage: Storage, content_dir: Path, smtp_server: Any) -> None:
    services: Services = app.extensions["feedsvc"]
    client = app.test_client()
    client.get("/subscribe?hl=en")
    assert sign_up(client, "lecteur@example.org", "192.0.2.31").status_code == 200  # in English
    sub = storage.get_subscriber_by_email("lecteur@example.org")
    assert sub is not None and sub.locale == "en"
    assert services.confirmations().send_queued().sent == 1
    plain = smtp_server.messages[-1].message.get_body(("plain",)).get_content()
    (link,) = set(re.findall(r"https?://[^/\s]+(/confirm/[\w.-]+)", plain))
    assert client.post(link).status_code == 200
    path = services.links.preferences(sub.id, sub.email).removeprefix(services.settings.base_url)

    page = lxml.html.fromstring(text(client.get(path)))
    (fieldset,) = page.xpath("//fieldset[legend='Language of your emails']")
    options = [(label.get("lang"), label.text_content().strip(), label.xpath("input")[0])
               for label in fieldset.xpath("label")]
    assert [(lang, name) for lang, name, _input in options] == [
        ("en", "English"), ("fr", "Français"), ("tr", "Türkçe"), ("ar", "العربية")]
    assert [i.get("value") for _l, _n, i in options] == list(LOCALES)
    assert [i.get("checked") is not None for _l, _n, i in options] == [True, False, False, False]

    form = {"csrf_token": csrf_of(text(client.get(path))), "frequency": "weekly", "time_zone": "UTC"}
    refused = client.post(path, data=form | {"locale": "de"})
    assert refused.status_code == 400 and alerts(refused.get_data(as_text=True)) == ["Not a valid choice."]
    assert storage.get_subscriber_by_email("lecteur@example.org").locale == "en"  # type: ignore[union-attr]

    saved = text(client.post(path, data=form | {"locale": "fr"}))
    assert "Saved." in saved  # the page keeps the reader's page language; the emails change
    assert lxml.html.fromstring(saved).xpath("//input[@name='locale'][@checked]/@value") == ["fr"]
    changed = storage.get_subscriber_by_email("lecteur@example.org")
    assert changed is not None and changed.locale == "fr"
    assert (changed.frequency, changed.time_zone) == ("weekly", "UTC")

    # Something new, then a digest run: it is in French, footer included.
    (content_dir / "apres.txt").write_text(
        LISTING.format(title="Mobile Clinics Reach the Border Villages", what="worked on it"), encoding="utf-8")
    services.ingester().scan()
    before = len(smtp_server.messages)
    postman = services.postman()
    postman.manual_runs(("weekly",))
    assert postman.send_pending().sent == 1
    (received,) = smtp_server.messages[before:]
    message, fr = received.message, translations("fr")
    subject = str(message["Subject"])
    assert subject.endswith(fr.ngettext("(%(num)d new)", "(%(num)d new)", 1) % {"num": 1}), subject
    assert "semaine du " in subject and "week of" not in subject
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    why = fr.gettext("You receive this weekly digest because %(email)s subscribed to %(list)s.")
    assert why % {"email": "lecteur@example.org", "list": "IOM Turkey press releases"} in plain
    assert "Changer de thèmes, de fréquence ou de langue" in html and html_attrs(html) == ("fr", "ltr")

    # And back to Arabic from the same page: the next one is right to left.
    form["csrf_token"] = csrf_of(saved)
    assert "Saved." in text(client.post(path, data=form | {"locale": "ar"}))
    (content_dir / "ensuite.txt").write_text(
        LISTING.format(title="Vocational Courses Open in Gaziantep", what="opened courses"), encoding="utf-8")
    services.ingester().scan()
    postman.manual_runs(("weekly",))
    assert postman.send_pending().sent == 1
    html = smtp_server.messages[-1].message.get_body(("html",)).get_content()
    assert html_attrs(html) == ("ar", "rtl") and "أسبوع" in str(smtp_server.messages[-1].message["Subject"])


@pytest.mark.parametrize("typed", [
    "noat", "a＠example.org", "@example.org", "a" * 65 + "@example.org", "x" * 5000 + "@example.org",
    "a@" + "b" * 300 + ".org", "reader@" + "ü" * 70 + ".example", "x@xn--zz.com", "reader@[127.0.0.1]",
    '"a b"@example.org', "Name <a@example.org>", "reader@example", "a@example.invalid", "a@example.123",
    "a b@example.org", "nul\x00@example.org", "a@exa mple.org", "a@b@example.org", "a..b@example.org",
    "a.@example.org", ".a@example.org", "a@-example.org", "ayşe@example.org"])
def test_every_refusal_is_one_of_the_catalogues_sentences(typed: str) -> None:
    """email-validator's reasons are its own English sentences: each reaches the form as one of ours."""
    from feedsvc.addresses import AddressError, checked_address
    from tests.test_translations import po

    with pytest.raises(AddressError) as refused:
        checked_address(typed)
    for locale in TRANSLATED:
        assert refused.value.message in {m.id for m in po(locale) if m.string}, (typed, locale)
    # Each is told specifically: none of these falls through to the sentence that says nothing.
    assert refused.value.message != "This is not a valid email address."
    assert str(refused.value) == refused.value.message % refused.value.params  # the CLI's English
