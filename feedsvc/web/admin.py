"""/admin: what an operator needs to see, behind FEEDSVC_ADMIN_TOKEN (login form or bearer header)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired

from ..bounces.policy import COMPLAINT_LIMIT
from ..deliveries import MAX_ATTEMPTS
from ..model import shown
from ..subscribers import SUBSCRIBER_STATES
from . import services
from .pages import page_number
from .security import client_key

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger("feedsvc.admin")

# Wrong tokens a client may give in a window before it is refused outright (429, right token or
# not). Counted in the database, so every web process refuses the same guesser (issue 14.3).
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
BUCKET = "admin"


class LoginForm(FlaskForm):
    token = PasswordField(_l("Admin token"), validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that changes something (resume sending, retry parked deliveries, lift a suppression):
    CSRF-protected."""

    email = HiddenField()


PARKED_SHOWN = 100


def _token() -> str | None:
    return services().settings.admin_token


def _matches(given: str) -> bool:
    expected = _token()
    if not expected:
        return False
    # compare_digest: the time taken does not tell how much of the token was right.
    return hmac.compare_digest(given.encode(), expected.encode())


def _client() -> str:
    # ProxyFix has put the address the outermost trusted proxy saw here (FEEDSVC_PROXY_HOPS).
    return client_key(request.remote_addr)


def _throttled() -> Response | None:
    """A 429 for a client that gave too many wrong tokens in its window, else None."""
    s = services()
    now = s.clock()
    hits = s.storage.hits(BUCKET, _client(), now)
    if hits.count < MAX_FAILURES:
        return None
    wait = hits.retry_after(now)
    log.warning("admin: refused %r (%s %s): %d wrong tokens, throttled for %d more seconds",
                _client(), request.method, request.path, hits.count, wait)
    resp = Response(render_template(
        "error.html", code=429, name=_("Too many attempts"), feeds=[],
        description=_("Too many wrong admin tokens from your address: try again in %(seconds)d seconds.",
                      seconds=wait)), 429)
    resp.headers["Retry-After"] = str(wait)
    return resp


def _failed(how: str) -> None:
    s = services()
    hits = s.storage.add_hit(BUCKET, _client(), s.clock(), FAILURE_WINDOW)
    log.warning("admin: wrong token by %s from %r (%d of %d allowed in %d minutes)", how, _client(),
                hits.count, MAX_FAILURES, FAILURE_WINDOW.total_seconds() // 60)


def _bearer() -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else None


def _fingerprint() -> str:
    # A session stays valid only while the token it logged in with is the configured one.
    return hashlib.sha256((_token() or "").encode()).hexdigest()[:16]


@bp.before_request
def guard() -> Any:
    if not _token():
        abort(404)  # no token configured: /admin does not exist
    bearer = _bearer()
    if bearer is None and session.get("admin") and session.get("admin_token_check") == _fingerprint():
        return None
    if bearer is not None or (request.endpoint == "admin.login" and request.method == "POST"):
        # Every attempt to prove the token passes here first, so a throttled client is refused
        # before its token is even compared.
        refused = _throttled()
        if refused is not None:
            return refused
    if bearer is not None:
        if _matches(bearer):
            return None
        _failed("bearer header")
        abort(401)
    if request.endpoint == "admin.login":
        return None
    if request.headers.get("Authorization"):
        abort(401)
    return redirect("/admin/login")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        if _matches(form.token.data or ""):
            session.clear()
            session["admin"] = True
            session["admin_token_check"] = _fingerprint()
            return redirect("/admin")
        _failed("login form")
        form.token.errors = [_("That is not the admin token.")]
        return render_template("admin_login.html", form=form, feeds=[]), 403
    return render_template("admin_login.html", form=form, feeds=[])


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect("/")


SUBSCRIBERS_PER_PAGE = 25
SUPPRESSIONS_SHOWN = 100  # the newest; `feedsvc bounces --list` prints them all
MAX_SEARCH = 320  # the longest address there can be (RFC 5321 §4.5.3.1): longer matches nothing


@bp.get("")
def dashboard() -> Any:
    s = services()
    storage = s.storage
    address, state = _subscriber_filter()
    counts = storage.count_subscribers_by_state(address)
    matched = counts.get(state, 0) if state else sum(counts.values())
    pages = max(1, -(-matched // SUBSCRIBERS_PER_PAGE))
    page = page_number(pages)
    taxonomy = s.taxonomy()
    topic_counts = storage.topic_counts()
    # File names are shown escaped (a newline or an escape sequence in a name must not forge a row).
    errors = [e | {"path": shown(e["path"])} for e in storage.recent_errors(50)]
    warnings = [w | {"path": shown(w["path"])} for w in storage.file_warnings(100)]
    held = [dataclasses.replace(h, paths=tuple(shown(p) for p in h.paths)) for h in storage.held_releases()]

    def list_url(**changes: str | int | None) -> str:
        # url_for leaves out None: an address, state or page not given is not in the link.
        args: dict[str, Any] = {"q": address or None, "state": state} | changes
        return url_for("admin.dashboard", _anchor="subscribers", **args)

    runs = storage.run_summaries(20)
    return render_template(
        "admin.html", feeds=[], scans=storage.recent_scans(20), errors=errors, warnings=warnings, held=held,
        taxonomy_error=s.keeper.error,
        topics=[(t.slug, t.title, topic_counts.get(t.slug, 0)) for t in taxonomy.topics],
        total=storage.count_releases(), runs=runs, rates=storage.run_rates([r.id for r in runs]),
        complaint_limit=COMPLAINT_LIMIT, pause=storage.sending_pause(), action_form=ActionForm(),
        suppressions=storage.suppressions(limit=SUPPRESSIONS_SHOWN), suppressed=storage.count_suppressions(),
        states=SUBSCRIBER_STATES, counts=counts, titles=taxonomy.titles,
        all_subscribers=storage.count_subscribers_by_state() if address else counts,
        address=address, state=state, matched=matched, page=page, pages=pages, list_url=list_url,
        subscribers=storage.find_subscribers(address, state, limit=SUBSCRIBERS_PER_PAGE,
                                             offset=(page - 1) * SUBSCRIBERS_PER_PAGE),
        parked=storage.parked_deliveries(PARKED_SHOWN), max_attempts=MAX_ATTEMPTS, logout_form=LoginForm())


@bp.post("/retry-parked")
def retry_parked() -> Any:
    """Parked deliveries get one more attempt: the clock's next pass (within a minute) sends them."""
    if not ActionForm().validate_on_submit():
        abort(400, description=_("The form expired: reload /admin and press the button again."))
    n = services().storage.retry_parked()
    log.warning("admin: %d parked deliveries put back for one more attempt by %r", n, _client())
    return redirect("/admin#attention", 303)


@bp.post("/resume")
def resume() -> Any:
    """Lift the pause on sending, spam complaints' or a failing relay's (as `feedsvc digest --resume` does)."""
    if not ActionForm().validate_on_submit():
        abort(400, description=_("The form has expired: reload /admin and try again."))
    lifted = services().storage.resume_sending()
    if lifted is not None:
        log.warning("admin: sending resumed from %r (it was paused since %s: %s)", _client(),
                    lifted.since.isoformat(), lifted.reason)
    return redirect("/admin#digests", 303)


@bp.post("/suppressions/lift")
def lift_suppression() -> Any:
    """Let a suppressed address be mailed again."""
    form = ActionForm()
    if not form.validate_on_submit() or not form.email.data:
        abort(400, description=_("The form has expired: reload /admin and try again."))
    s = services()
    email = str(form.email.data).strip().lower()
    if not s.storage.lift_suppression(email, s.clock()):
        abort(404, description=_("%(email)s is not suppressed.", email=email[:320]))
    log.warning("admin: suppression of %s lifted from %r", email, _client())
    return redirect("/admin#suppressions", 303)


def _subscriber_filter() -> tuple[str, str | None]:
    """?q= (part of an address) and ?state= of the subscriber list; a bad one is a 400 naming it."""
    address = request.args.get("q", "").strip()
    if len(address) > MAX_SEARCH:
        abort(400, description=_("An address search is at most %(most)d characters; this one has %(length)d.",
                                 most=MAX_SEARCH, length=len(address)))
    state = request.args.get("state", "") or None
    if state is not None and state not in SUBSCRIBER_STATES:
        abort(400, description=_("There is no subscriber state %(state)s: it is one of %(states)s.",
                                 state=repr(state[:40]), states=", ".join(SUBSCRIBER_STATES)))
    return address, state
