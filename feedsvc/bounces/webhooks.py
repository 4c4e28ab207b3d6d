"""Bounce webhooks read, purely: Amazon SES notifications through SNS (signature checked) and Postmark.

SNS signs each message with a certificate it names by URL (SigningCertURL). Verification here
is a pure function of the message and that certificate's bytes; fetching it is the web view's
I/O, and only from an https URL on an `sns.<region>.amazonaws.com` host (anyone can put a
certificate on any other host). A signature proves the message came from SNS, not that it
came from our topic: anyone may subscribe our endpoint to a topic of their own. So only topics
named in FEEDSVC_SES_TOPIC_ARN are heard, confirmed or believed.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
https://postmarkapp.com/developer/webhooks/bounce-webhook
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .events import BounceKind, BounceReport
from .verp import ReturnPaths

# sns.us-east-1.amazonaws.com, sns.cn-north-1.amazonaws.com.cn
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
MESSAGE_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The fields signed, in this order, per message type (those absent from a message are skipped).
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class WebhookError(ValueError):
    """The payload is malformed or its signature does not hold; the message says which (for a 4xx)."""


def _json_object(body: bytes) -> dict[str, Any]:
    """A webhook call's body as the JSON object it must be, else WebhookError saying what it is not."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError("the body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookError("the body is not a JSON object")
    return value


def sns_message(body: bytes) -> dict[str, str]:
    """An SNS HTTP(S) delivery's JSON body, checked for the fields every message type has."""
    message = _json_object(body)
    kind = message.get("Type")
    if kind not in MESSAGE_TYPES:
        raise WebhookError(f"unknown SNS message type {str(kind)[:40]!r}")
    for field in (*_SIGNED[kind], "SignatureVersion", "Signature", "SigningCertURL"):
        if field != "Subject" and not isinstance(message.get(field), str):
            raise WebhookError(f"the SNS message has no {field}")
    return {k: v for k, v in message.items() if isinstance(v, str)}


def check_sns_url(url: str, what: str) -> str:
    """An SNS URL we may fetch (the signing certificate, SubscribeURL): https on an SNS host, else WebhookError."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise WebhookError(f"{what} is not a URL") from None
    if parts.scheme != "https" or not SNS_HOST.fullmatch(host) or port not in (None, 443) or parts.username:
        raise WebhookError(f"{what} must be an https URL on an sns.<region>.amazonaws.com host, not {url[:200]!r}")
    if what == "SigningCertURL" and not parts.path.endswith(".pem"):
        raise WebhookError("SigningCertURL must name a .pem certificate")
    return url


def string_to_sign(message: Mapping[str, str]) -> bytes:
    """What SNS signed: "Name\\nvalue\\n" for each signed field present, in the documented order."""
    fields = _SIGNED[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode("utf-8")


def verify_sns_signature(message: Mapping[str, str], certificate_pem: bytes, *,
                         now: dt.datetime | None = None) -> None:
    """Raise WebhookError unless `message` is signed by the key of `certificate_pem` (SignatureVersion 1: SHA1,
    2: SHA256, both RSA PKCS#1 v1.5). `now`: also refuse a certificate outside its validity period."""
    algorithm = _HASHES.get(message.get("SignatureVersion", ""))
    if algorithm is None:
        raise WebhookError(f"unknown SignatureVersion {message.get('SignatureVersion', '')[:10]!r}")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise WebhookError("the signing certificate is not a PEM certificate") from None
    if now is not None and not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        raise WebhookError("the signing certificate has expired or is not valid yet")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookError("the signing certificate's key is not RSA")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("the Signature is not base64") from None
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise WebhookError("the SNS signature does not match the message") from None


# -- Amazon SES ------------------------------------------------------------------------------


def ses_reports(notification: str, paths: ReturnPaths | None) -> list[BounceReport]:
    """The bounces or complaint in an SES notification (an SNS Notification's Message); [] for other kinds.

    Both of SES's forms are read: notifications (`notificationType`) and event publishing (`eventType`).
    """
    try:
        ses = json.loads(notification)
    except ValueError:
        raise WebhookError("the SNS Message is not an SES notification (not JSON)") from None
    if not isinstance(ses, dict):
        raise WebhookError("the SNS Message is not an SES notification")
    kind = ses.get("notificationType") or ses.get("eventType")
    mail = _dict(ses.get("mail"))
    # mail.source is the envelope sender SES sent with: our VERP return path.
    token = paths.read(str(mail.get("source", ""))) if paths is not None else None
    headers = _dict(mail.get("commonHeaders"))
    message_id = str(headers.get("messageId") or "") or None
    if kind == "Bounce":
        bounce = _dict(ses.get("bounce"))
        # Permanent: hard. Transient (mailbox full, too large…) and Undetermined: soft.
        what: BounceKind = "hard" if bounce.get("bounceType") == "Permanent" else "soft"
        people = bounce.get("bouncedRecipients")
        block = bounce
    elif kind == "Complaint":
        complaint = _dict(ses.get("complaint"))
        if complaint.get("complaintSubType") == "OnAccountSuppressionList":
            return []  # SES did not send it: the address was on SES's own list, nobody complained now
        what, people, block = "complaint", complaint.get("complainedRecipients"), complaint
    else:
        return []  # Delivery, Send, Open…: not ours to record
    feedback = str(block.get("feedbackId") or "")
    if not feedback or not isinstance(people, list) or not people:
        raise WebhookError(f"the SES {kind} notification has no feedbackId or no recipients")
    when = _iso(block.get("timestamp"))
    out = []
    for person in people:
        address = str(_dict(person).get("emailAddress") or "").strip().lower()
        if "@" not in address:
            raise WebhookError(f"an SES {kind} recipient has no emailAddress")
        detail = " ".join(str(x) for x in (
            _dict(person).get("status"), _dict(person).get("diagnosticCode"), bounce_subtype(ses)) if x)
        if what == "complaint":
            detail = f"{ses_complaint_type(ses)} complaint through SES"
        out.append(BounceReport("ses", feedback, what, address, detail[:500], when, token, message_id))
    return out


def bounce_subtype(ses: Mapping[str, Any]) -> str:
    bounce = _dict(ses.get("bounce"))
    return f"({bounce.get('bounceType')}/{bounce.get('bounceSubType')})" if bounce.get("bounceType") else ""


def ses_complaint_type(ses: Mapping[str, Any]) -> str:
    return str(_dict(ses.get("complaint")).get("complaintFeedbackType") or "spam")


# -- Postmark --------------------------------------------------------------------------------

# Postmark's bounce types: https://postmarkapp.com/developer/api/bounce-api#bounce-types
_POSTMARK_KINDS: dict[str, BounceKind] = {
    "HardBounce": "hard", "BadEmailAddress": "hard",
    "SoftBounce": "soft", "Transient": "soft", "DnsError": "soft",
}


def postmark_reports(body: bytes) -> list[BounceReport]:
    """The bounce or spam complaint of one Postmark webhook call; [] for record types that are neither."""
    record = _json_object(body)
    record_type, kind_name = record.get("RecordType"), str(record.get("Type") or "")
    if record_type == "SpamComplaint" or kind_name == "SpamComplaint":
        kind: BounceKind | None = "complaint"
    elif record_type == "Bounce":
        # AutoResponder, Unsubscribe, Blocked (the sender's reputation, not the address)…: not a bounce.
        kind = _POSTMARK_KINDS.get(kind_name)
    else:
        return []
    if kind is None:
        return []
    address, record_id = str(record.get("Email") or "").strip().lower(), record.get("ID")
    if "@" not in address or not isinstance(record_id, int | str) or not str(record_id):
        raise WebhookError(f"the Postmark {record_type} record has no Email or no ID")
    detail = " ".join(str(x) for x in (record.get("Name") or kind_name, record.get("Description")) if x)
    return [BounceReport("postmark", str(record_id), kind, address, detail[:500], _iso(record.get("BouncedAt")))]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iso(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip().replace("Z", "+00:00"))  # .NET writes 7 decimals
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
