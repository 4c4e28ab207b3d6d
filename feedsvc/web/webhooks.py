"""Bounce and complaint webhooks: Amazon SES through SNS (/webhooks/ses) and Postmark (/webhooks/postmark).

Each is off (404) until configured: SES by FEEDSVC_SES_TOPIC_ARN, Postmark by its basic-auth
user and password. What the payloads say is read in bounces/webhooks.py (pure) and recorded by
the process's BounceProcessor, as the mailbox's reports are. A database outage answers 503
(pages.register_errors), and both services deliver again later; an event delivered twice is
recorded once.
"""

from __future__ import annotations

import hmac
import logging
import threading

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from ..bounces.events import BounceReport
from ..bounces.fetch import FetchError
from ..bounces.processor import BounceTally
from ..bounces.webhooks import (
    WebhookError,
    check_sns_url,
    postmark_reports,
    ses_reports,
    sns_message,
    verify_sns_signature,
)
from ..services import Services
from . import services

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger("feedsvc.bounces")

MAX_BODY = 256 * 1024  # SNS's largest message; Postmark's are a few KB
MAX_CERTIFICATES = 16  # signing certificates kept per process (SNS rotates them rarely)
_certificates_lock = threading.Lock()


@bp.post("/ses")
def ses() -> ResponseReturnValue:
    s = services()
    if not s.settings.ses_topic_arns:
        abort(404)
    try:
        message = sns_message(_body())
    except WebhookError as exc:
        return _refused(400, "SES", str(exc))
    if message["TopicArn"] not in s.settings.ses_topic_arns:
        # Anyone can subscribe this URL to a topic of their own: only ours are heard, or confirmed.
        return _refused(403, "SES", f"topic {message['TopicArn'][:200]!r} is not in FEEDSVC_SES_TOPIC_ARN")
    try:
        url = check_sns_url(message["SigningCertURL"], "SigningCertURL")
        verify_sns_signature(message, _certificate(s, url), now=s.clock())
    except WebhookError as exc:
        return _refused(403, "SES", str(exc))
    except FetchError as exc:  # SNS delivers again later: a 5xx asks it to
        log.warning("webhook SES: the signing certificate could not be fetched: %s", exc)
        return Response("the signing certificate could not be fetched; try again", 503, mimetype="text/plain")
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        # Only now, the message verified and its topic ours: fetching SubscribeURL confirms it.
        try:
            s.http_get(check_sns_url(message["SubscribeURL"], "SubscribeURL"))
        except WebhookError as exc:
            return _refused(400, "SES", str(exc))
        except FetchError as exc:
            log.warning("webhook SES: confirming the subscription to %s failed: %s", message["TopicArn"], exc)
            return Response("the subscription could not be confirmed; try again", 503, mimetype="text/plain")
        log.info("webhook SES: subscription to %s confirmed", message["TopicArn"])
        return jsonify({"confirmed": message["TopicArn"]})
    if kind == "UnsubscribeConfirmation":
        log.warning("webhook SES: %s unsubscribed this endpoint; SES bounces no longer arrive", message["TopicArn"])
        return jsonify({"unsubscribed": message["TopicArn"]})
    processor = s.bounces()
    try:
        reports = ses_reports(message["Message"], processor.return_paths)
    except WebhookError as exc:
        return _refused(400, "SES", str(exc))
    return _recorded(s, reports)


@bp.post("/postmark")
def postmark() -> ResponseReturnValue:
    s = services()
    user, password = s.settings.postmark_user, s.settings.postmark_password
    if not user or not password:
        abort(404)
    auth = request.authorization
    given_user = (auth.username or "") if auth is not None and auth.type == "basic" else ""
    given_password = (auth.password or "") if auth is not None and auth.type == "basic" else ""
    # Both compared whatever the first says, in constant time: the answer tells nothing of either.
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    if not (user_ok and password_ok):
        log.warning("webhook Postmark: refused a call from %r: %s", request.remote_addr,
                    "no basic auth" if auth is None else "wrong user or password")
        return Response("basic authentication required", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Basic realm="feedsvc webhooks"'})
    try:
        reports = postmark_reports(_body())
    except WebhookError as exc:
        return _refused(400, "Postmark", str(exc))
    return _recorded(s, reports)


def _body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    return request.get_data(cache=False)[:MAX_BODY + 1]


def _certificate(s: Services, url: str) -> bytes:
    """The signing certificate at `url` (already checked), fetched once per process."""
    cache: dict[str, bytes] = current_app.extensions.setdefault("feedsvc.sns_certificates", {})
    with _certificates_lock:
        if url in cache:
            return cache[url]
    pem = s.http_get(url)
    with _certificates_lock:
        if len(cache) >= MAX_CERTIFICATES:
            cache.clear()
        cache[url] = pem
    return pem


def _recorded(s: Services, reports: list[BounceReport]) -> ResponseReturnValue:
    processor, tally = s.bounces(), BounceTally()
    outcomes = [processor.record(report, tally) for report in reports]
    return jsonify({"recorded": outcomes.count("new"), "repeated": outcomes.count("repeated"),
                    "unmatched": outcomes.count("unmatched"), "suppressed": tally.suppressed})


def _refused(code: int, service: str, reason: str) -> ResponseReturnValue:
    log.warning("webhook %s: refused (%d): %s", service, code, reason)
    return Response(reason, code, mimetype="text/plain")
