"""Subscribing to the digest: double opt-in, preferences, RFC 8058 one-click unsubscribe, archive."""

from __future__ import annotations

import threading
import time
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectMultipleField, widgets
from wtforms.validators import DataRequired, ValidationError

try:  # WTForms 3.3 deprecates (value, label) tuples as choices (a 500 under -W error); 3.4 drops them
    from wtforms import SelectChoice as _choice
except ImportError:  # older WTForms knows only tuples
    def _choice(value: str, label: str) -> Any:
        return (value, label)

from ..digest import plan_digest
from ..links import Links
from ..model import Subscriber
from ..tokens import CONFIRM_MAX_AGE, BadToken, Tokens
from . import services

bp = Blueprint("subscribe", __name__)

SAME_ANSWER = ("Thank you. If this address can be subscribed, a confirmation email is on its way: "
               "open the link in it to start receiving the digest.")


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _valid_email(form: Any, field: Any) -> None:
    try:
        # No DNS look-up: tests and offline laptops work, and a typo'd domain just never confirms.
        field.data = validate_email(field.data or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError(str(exc)) from None


FREQUENCY_CHOICES = [_choice("daily", "Daily"), _choice("weekly", "Weekly")]


class SubscribeForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), _valid_email])
    topics = _Checkboxes("Topics (none chosen: all topics)", choices=[], validate_choice=True)
    frequency = RadioField("How often", choices=FREQUENCY_CHOICES,
                           default="weekly")


class PreferencesForm(FlaskForm):
    topics = _Checkboxes("Topics (none chosen: all topics)", choices=[], validate_choice=True)
    frequency = RadioField("How often", choices=FREQUENCY_CHOICES)


class _RateLimit:
    """At most `limit` sign-ups per client address per window, in this process."""

    def __init__(self, limit: int = 5, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            hits = [t for t in self.hits.get(key, []) if now - t < self.window]
            if len(self.hits) > 10_000:
                self.hits.clear()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            self.hits[key] = hits
            return allowed


_limiter = _RateLimit()


def _links() -> Links:
    return services().links


def _tokens() -> Tokens:
    tokens = _links().tokens
    if tokens is None:  # create_app refuses to start without SECRET_KEY
        raise RuntimeError("the app's links were made without SECRET_KEY")
    return tokens


def _topic_choices() -> list[Any]:
    return [_choice(t.slug, t.title) for t in services().taxonomy().topics]


def _subscriber(purpose: str, token: str, max_age: int | None = None) -> Subscriber:
    try:
        sid = _tokens().read(purpose, token, max_age)
    except BadToken as exc:
        abort(400, description=str(exc))
    sub = services().storage.get_subscriber(sid)
    if sub is None:
        abort(404, description="This subscription no longer exists.")
    return sub


@bp.route("/subscribe", methods=["GET", "POST"])
def subscribe() -> Any:
    form = SubscribeForm()
    form.topics.choices = _topic_choices()
    preselect = request.args.get("topic")
    if request.method == "GET" and preselect:
        form.topics.data = [preselect]
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("subscribe.html", form=form, feeds=[]), status
    if not _limiter.allow(request.remote_addr or "?"):
        return render_template("message.html", title="Too many requests", feeds=[],
                               message="Too many sign-ups from your address: please try again later."), 429
    s = services()
    # The confirmation email is queued with the sign-up, not sent here: the answer never waits on
    # (or tells anything about) the mail server. A sender process drains the queue.
    _, queued = s.storage.subscribe(form.email.data, tuple(form.topics.data or ()), form.frequency.data,
                                    s.clock())
    if queued:
        s.confirmation_queued()
    return render_template("message.html", title="Check your inbox", message=SAME_ANSWER, feeds=[])


@bp.get("/confirm/<token>")
def confirm(token: str) -> Any:
    sub = _subscriber("confirm", token, CONFIRM_MAX_AGE)
    sub = services().storage.confirm(sub.id, services().clock()) or sub
    return render_template("message.html", title="Subscription confirmed", feeds=[],
                           message="You will receive the digest from the next one on.",
                           link=_links().preferences(sub.id), link_text="Manage your subscription")


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    sub = _subscriber("manage", token)
    form = PreferencesForm(data={"topics": list(sub.topics), "frequency": sub.frequency})
    form.topics.choices = _topic_choices()
    saved = False
    if form.validate_on_submit():
        services().storage.set_preferences(sub.id, tuple(form.topics.data or ()), form.frequency.data)
        saved = True
    elif request.method == "POST":
        return render_template("preferences.html", form=form, sub=sub, feeds=[],
                               unsubscribe=_links().unsubscribe(sub.id)), 400
    return render_template("preferences.html", form=form, sub=sub, saved=saved, feeds=[],
                           unsubscribe=_links().unsubscribe(sub.id))


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Any:
    # Link scanners GET every URL in a message: a GET only shows the button.
    sub = _subscriber("unsubscribe", token)
    return render_template("unsubscribe.html", sub=sub, feeds=[])


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Any:
    """RFC 8058 one-click: the mailbox provider POSTs `List-Unsubscribe=One-Click`; no other step."""
    sub = _subscriber("unsubscribe", token)
    services().storage.unsubscribe(sub.id, services().clock())
    return render_template("message.html", title="Unsubscribed", feeds=[],
                           message=f"{sub.email} will get no more emails from us.")


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
        abort(404, description="There is no such digest.")
    releases = s.storage.releases_by_ids(d["release_ids"].split())
    sub = s.storage.get_subscriber(d["subscriber_id"])
    everyone = Subscriber(id=0, email="", topics=sub.topics if sub else (), frequency="weekly",
                          state="confirmed", created_at=s.clock())
    sections = plan_digest(everyone, releases, s.taxonomy().titles)
    return render_template("digest_archive.html", sections=sections, period_label=d["period_label"],
                           feeds=[])
