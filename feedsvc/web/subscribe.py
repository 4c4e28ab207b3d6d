"""Subscribing to the digest: double opt-in, preferences, RFC 8058 one-click unsubscribe, archive."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import EmailField, HiddenField, RadioField, SelectField, SelectMultipleField, widgets
from wtforms.validators import DataRequired, ValidationError

try:  # WTForms 3.3 deprecates (value, label) tuples as choices (a 500 under -W error); 3.4 drops them
    from wtforms import SelectChoice as _choice
except ImportError:  # older WTForms knows only tuples
    def _choice(value: str, label: str) -> Any:
        return (value, label)

from ..addresses import AddressError, checked_address
from ..digest import plan_digest
from ..entry_extras import listed_attachments
from ..languages import direction, native_name
from ..links import Links
from ..locales import LOCALES, localized_period
from ..locales import native_name as locale_name
from ..subscribers import Subscriber
from ..tokens import CONFIRM_MAX_AGE, BadToken, SubscriberLink, Tokens
from ..zones import ZoneError, checked_zone, known_zones
from . import services
from .i18n import request_locale
from .security import client_key

bp = Blueprint("subscribe", __name__)

SAME_ANSWER = _l("Thank you. If this address can be subscribed, a confirmation email is on its way: "
                 "open the link in it to start receiving the digest.")


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _valid_email(form: Any, field: Any) -> None:
    # Syntax only, no DNS look-up: tests and offline laptops work, and a typo'd domain just never confirms.
    try:
        field.data = checked_address(field.data or "")
    except AddressError as exc:  # its message is a msgid of our catalogues (addresses._REASONS)
        raise ValidationError(_(exc.message, **exc.params)) from None


def _valid_zone(form: Any, field: Any) -> None:
    # Empty: the browser ran no script (or the short form was used): FEEDSVC_TIMEZONE applies.
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = checked_zone(field.data)
    except ZoneError as exc:
        raise ValidationError(_("Time zone: %(reason)s", reason=str(exc))) from None


FREQUENCY_CHOICES = [_choice("instant", _l("As they are published")), _choice("daily", _l("Daily")),
                     _choice("weekly", _l("Weekly"))]
ZONE_LABEL = _l("Time zone of your digest")
TOPICS_LABEL = _l("Topics (none chosen: all topics)")
LANGUAGES_LABEL = _l("Languages (none chosen: every language)")
LOCALE_LABEL = _l("Language of your emails")


class SubscribeForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), _valid_email])
    topics = _Checkboxes(TOPICS_LABEL, choices=[], validate_choice=True)
    # Issue 17 item 2: the languages releases are in (languages.matches: `fr` gets `fr-CA` too).
    languages = _Checkboxes(LANGUAGES_LABEL, choices=[], validate_choice=True)
    frequency = RadioField(_l("How often"), choices=FREQUENCY_CHOICES,
                           default="weekly")
    # Filled by /time-zone.js from the browser (Intl.DateTimeFormat().resolvedOptions().timeZone).
    time_zone = HiddenField(ZONE_LABEL, validators=[_valid_zone])


class PreferencesForm(FlaskForm):
    topics = _Checkboxes(TOPICS_LABEL, choices=[], validate_choice=True)
    # Issue 17 item 2: the languages releases are in (languages.matches: `fr` gets `fr-CA` too).
    languages = _Checkboxes(LANGUAGES_LABEL, choices=[], validate_choice=True)
    frequency = RadioField(_l("How often"), choices=FREQUENCY_CHOICES)
    time_zone = SelectField(ZONE_LABEL, choices=[], validators=[_valid_zone], validate_choice=False)
    # The words of their digests and other emails (issue 17 item 2), each language named in itself.
    locale = RadioField(LOCALE_LABEL, choices=[_choice(code, locale_name(code)) for code in LOCALES])


def _zone_choices() -> list[Any]:
    return [_choice(z, z.replace("_", " ")) for z in sorted(known_zones())]


# Sets every empty `time_zone` field of the page to the browser's zone; a script file, not inline,
# since the pages' Content-Security-Policy allows scripts from this origin only.
TIME_ZONE_JS = """(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  document.querySelectorAll('input[name="time_zone"]').forEach(function (field) {
    if (!field.value) { field.value = zone; }
  });
})();
"""


def _script(body: str) -> Response:
    """A script of this module's, cacheable for an hour by anyone (it is the same for everyone)."""
    resp = Response(body, mimetype="text/javascript")
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp


@bp.get("/time-zone.js")
def time_zone_js() -> Response:
    return _script(TIME_ZONE_JS)


# The short form on kept pages carries no token (they are the same for everyone): on submit this
# fetches the visitor's own, so the sign-up is one click. Without scripts, /subscribe answers the
# tokenless form with the full one, filled in, to send once more.
SUBSCRIBE_FORM_JS = """(function () {
  document.querySelectorAll('form[action="/subscribe"]').forEach(function (form) {
    var field = form.querySelector('input[name="csrf_token"]');
    if (!field || field.value || !window.fetch) { return; }
    form.addEventListener("submit", function (event) {
      if (field.value) { return; }
      event.preventDefault();
      fetch("/subscribe/token", {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (token) { field.value = token; }, function () {})
        .then(function () { form.submit(); });
    });
  });
})();
"""


@bp.get("/subscribe-form.js")
def subscribe_form_js() -> Response:
    return _script(SUBSCRIBE_FORM_JS)


@bp.get("/subscribe/token")
def subscribe_token() -> Response:
    """This visitor's form token (in their session), for the short form of a kept page."""
    resp = Response(generate_csrf(), mimetype="text/plain")
    resp.cache_control.no_store = True
    return resp


# Sign-ups a client address may make in a window, counted in the database so that every web
# process counts the same ones (issue 14.2); the client is the one the trusted proxy saw.
SIGNUP_LIMIT = 5
SIGNUP_WINDOW = dt.timedelta(minutes=10)
SIGNUP_BUCKET = "signup"


def _links() -> Links:
    return services().links


def _tokens() -> Tokens:
    tokens = _links().tokens
    if tokens is None:  # create_app refuses to start without SECRET_KEY
        raise RuntimeError("the app's links were made without SECRET_KEY")
    return tokens


def _topic_choices() -> list[Any]:
    return [_choice(t.slug, t.title) for t in services().taxonomy().topics]


def _language_choices(chosen: tuple[str, ...] = ()) -> list[Any]:
    """The languages releases are in, and those the subscriber chose before, each named in itself."""
    tags = sorted(set(services().storage.release_languages()) | set(chosen))
    return [_choice(tag, native_name(tag)) for tag in tags]


def _subscriber(purpose: str, token: str, max_age: int | None = None) -> tuple[Subscriber, SubscriberLink]:
    """The subscriber a signed link was made for, or the page saying why there is none."""
    try:
        link = _tokens().read_subscriber(purpose, token, max_age)
    except BadToken as exc:
        abort(400, description=str(exc))
    sub = services().storage.get_subscriber(link.subscriber_id)
    # A link made for someone else than the subscriber now holding its id (an id reused before
    # migration 0015, another database) is, to that subscriber, a link that does not exist.
    if sub is None or not link.names(_tokens(), sub.email, sub.created_at):
        abort(404, description=_("This subscription no longer exists."))
    return sub, link


@bp.route("/subscribe", methods=["GET", "POST"])
def subscribe() -> Any:
    form = SubscribeForm()
    form.topics.choices = _topic_choices()
    form.languages.choices = _language_choices()
    preselect = request.args.get("topic")
    if request.method == "GET" and preselect:
        form.topics.data = [preselect]
    if not form.validate_on_submit():
        if request.method == "POST" and set(form.errors) == {"csrf_token"}:
            # No valid token (the short form without scripts, or an old page): nothing is done;
            # the form comes back filled in, with this visitor's token, to send once more.
            return render_template("subscribe.html", form=form, feeds=[], confirm=True)
        status = 400 if request.method == "POST" else 200
        return render_template("subscribe.html", form=form, feeds=[]), status
    s = services()
    hits = s.storage.add_hit(SIGNUP_BUCKET, client_key(request.remote_addr), s.clock(), SIGNUP_WINDOW)
    if hits.count > SIGNUP_LIMIT:
        resp = Response(render_template(
            "message.html", title=_("Too many requests"), feeds=[],
            message=_("Too many sign-ups from your address: please try again later.")), 429)
        resp.headers["Retry-After"] = str(hits.retry_after(s.clock()))
        return resp
    # The confirmation email is queued with the sign-up, not sent here: the answer never waits on
    # (or tells anything about) the mail server. A sender process drains the queue.
    _subscriber_id, queued = s.storage.subscribe(form.email.data, tuple(form.topics.data or ()), form.frequency.data,
                                    s.clock(), form.time_zone.data, languages=tuple(form.languages.data or ()),
                                    locale=request_locale())
    if queued:
        s.confirmation_queued()
    return render_template("message.html", title=_("Check your inbox"), message=SAME_ANSWER, feeds=[])


# What a confirmation link's page says when it cannot confirm: (status, title, message).
_CANNOT_CONFIRM = {
    "already": (200, _l("Already confirmed"), _l("This subscription is already confirmed: nothing more to do.")),
    "used": (410, _l("Link no longer valid"),
             _l("This confirmation link was already used, or replaced by a newer one, or the address was "
                "unsubscribed since. To subscribe, sign up again: a new link will be sent.")),
    "gone": (404, _l("Link no longer valid"), _l("This subscription no longer exists. To subscribe, sign up again.")),
}


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> Any:
    # Link scanners GET every URL in a message: the GET only shows a button; the POST confirms.
    sub, link = _subscriber("confirm", token, CONFIRM_MAX_AGE)
    state = services().storage.confirm_link_state(sub.id, link.confirmation_id, link.signed_at)
    if state == "ready":
        return render_template("confirm.html", sub=sub, feeds=[])
    return _cannot_confirm(state, sub)


@bp.post("/confirm/<token>")
def confirm(token: str) -> Any:
    sub, link = _subscriber("confirm", token, CONFIRM_MAX_AGE)
    state = services().storage.confirm_by_link(sub.id, link.confirmation_id, link.signed_at, services().clock())
    if state == "confirmed":
        return render_template("message.html", title=_("Subscription confirmed"), feeds=[],
                               message=_("You will receive the digest from the next one on."),
                               link=_links().preferences(sub.id, sub.email), link_text=_("Manage your subscription"))
    return _cannot_confirm(state, sub)


def _cannot_confirm(state: str, sub: Subscriber) -> Any:
    status, title, message = _CANNOT_CONFIRM[state]
    manage = {"link": _links().preferences(sub.id, sub.email), "link_text": _("Manage your subscription")}
    return render_template("message.html", title=title, message=message, feeds=[],
                           **(manage if state == "already" else {})), status


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    sub, _link = _subscriber("manage", token)
    form = PreferencesForm(data={"topics": list(sub.topics), "frequency": sub.frequency,
                                 "time_zone": sub.time_zone or services().settings.timezone,
                                 "languages": list(sub.languages),
                                 "locale": sub.locale or services().settings.default_locale})
    form.topics.choices = _topic_choices()
    form.languages.choices = _language_choices(sub.languages)
    form.time_zone.choices = _zone_choices()
    unsubscribe = _links().unsubscribe(sub.id, sub.email)
    saved = False
    if form.validate_on_submit():
        services().storage.set_preferences(sub.id, tuple(form.topics.data or ()), form.frequency.data,
                                           form.time_zone.data, languages=tuple(form.languages.data or ()),
                                           locale=form.locale.data)
        saved = True
    elif request.method == "POST":
        return render_template("preferences.html", form=form, sub=sub, feeds=[], unsubscribe=unsubscribe), 400
    return render_template("preferences.html", form=form, sub=sub, saved=saved, feeds=[], unsubscribe=unsubscribe)


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Any:
    # Link scanners GET every URL in a message: a GET only shows the button.
    sub, _link = _subscriber("unsubscribe", token)
    return render_template("unsubscribe.html", sub=sub, feeds=[])


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Any:
    """RFC 8058 one-click: the mailbox provider POSTs `List-Unsubscribe=One-Click`; no other step."""
    sub, _link = _subscriber("unsubscribe", token)
    services().storage.unsubscribe(sub.id, services().clock())
    return render_template("message.html", title=_("Unsubscribed"), feeds=[],
                           message=_("%(email)s will get no more emails from us.", email=sub.email))


@bp.get("/digests/<token>")
def archive(token: str) -> Any:
    """"View in browser": exactly the releases that digest carried."""
    try:
        delivery_id = _tokens().read("digest", token)
    except BadToken as exc:
        abort(400, description=str(exc))
    s = services()
    d = s.storage.get_delivery(delivery_id)
    if d is None or not d["release_ids"]:
        abort(404, description=_("There is no such digest."))
    releases = s.storage.releases_by_ids(d["release_ids"].split())
    sub = s.storage.get_subscriber(d["subscriber_id"])
    everyone = Subscriber(id=0, email="", topics=sub.topics if sub else (), frequency="weekly",
                          state="confirmed", created_at=s.clock())
    sections = plan_digest(everyone, releases, s.taxonomy().titles)
    # As the email showed them: each release in its language and direction, with its pictures and files.
    attachments = {r.id: listed_attachments(r.attachments, s.links) for r in releases}
    return render_template("digest_archive.html", sections=sections, attachments=attachments,
                           direction=direction,
                           period_label=localized_period(d["period_label"], request_locale()),
                           feeds=[])
