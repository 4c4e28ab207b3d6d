"""Bounce webhooks through the app: Amazon SES notifications signed as SNS signs them (a test certificate,
SignatureVersion 1 and 2), and Postmark's with and without basic auth. The network is the one fake:
a function standing in for the internet that answers the certificate's and SubscribeURL's GETs."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from feedsvc.app import create_app
from feedsvc.bounces.fetch import MAX_BYTES, FetchError, fetch_url
from feedsvc.bounces.verp import ReturnPaths
from feedsvc.bounces.webhooks import WebhookError, check_sns_url, string_to_sign, verify_sns_signature
from feedsvc.config import load_settings
from feedsvc.services import build_services
from feedsvc.storage import Storage

SECRET = "webhook-test-secret-long-enough-for-production"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
SUBSCRIBE_URL = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
                 f"{TOPIC}&Token=2336412f37fb687f5d51e6e2425c464de12884")
DOMAIN = "bounces.press.example.org"
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class SigningKey:
    key: rsa.RSAPrivateKey
    pem: bytes  # the certificate SNS would serve at SigningCertURL


def make_signing_key(common_name: str = "sns.amazonaws.com") -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30)).not_valid_after(NOW + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return SigningKey(key, cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def sns_key() -> SigningKey:
    return make_signing_key()


def signed(key: SigningKey, message: dict[str, str], version: str = "1") -> dict[str, str]:
    """The message as SNS delivers it: SignatureVersion, SigningCertURL and the signature added."""
    message = {**message, "SignatureVersion": version, "SigningCertURL": message.get("SigningCertURL", CERT_URL)}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.key.sign(string_to_sign(message), padding.PKCS1v15(), digest)
    return {**message, "Signature": base64.b64encode(signature).decode("ascii")}


def notification(ses: dict[str, Any], message_id: str = "d6a0bbb7-5e2f-5f4b-8e54-0d7e5d1b3c11") -> dict[str, str]:
    return {"Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC, "Message": json.dumps(ses),
            "Timestamp": "2026-11-24T08:01:12.345Z",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"}


def ses_bounce(address: str, source: str, bounce_type: str = "Permanent", feedback: str = "fb-1") -> dict[str, Any]:
    return {"notificationType": "Bounce",
            "bounce": {"bounceType": bounce_type, "bounceSubType": "General", "feedbackId": feedback,
                       "timestamp": "2026-11-24T08:01:10.000Z",
                       "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                              "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
            "mail": {"timestamp": "2026-11-24T08:00:57.000Z", "source": source, "messageId": "ses-0001",
                     "destination": [address], "commonHeaders": {"messageId": "<d.1@press.example.org>"}}}


def ses_complaint(address: str, source: str, feedback: str) -> dict[str, Any]:
    return {"notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": address}], "timestamp": "2026-11-24T09:00:00Z",
                          "feedbackId": feedback, "complaintFeedbackType": "abuse"},
            "mail": {"timestamp": "2026-11-24T08:00:57.000Z", "source": source, "messageId": "ses-0002",
                     "destination": [address]}}


class Network:
    """The internet as these tests know it: URL -> bytes, every GET remembered."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages, self.got = pages, []  # type: ignore[var-annotated]

    def __call__(self, url: str) -> bytes:
        self.got.append(url)
        if url not in self.pages:
            raise FetchError(f"{url}: HTTP 404")
        return self.pages[url]


@pytest.fixture
def app_env(db_url: str, tmp_path: Path, content_dir: Path, topics_file: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "FEEDSVC_BASE_URL": "https://press.example.org",
            "FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_TOPICS": str(topics_file),
            "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"), "FEEDSVC_BOUNCE_DOMAIN": DOMAIN,
            "FEEDSVC_SES_TOPIC_ARN": TOPIC, "FEEDSVC_POSTMARK_WEBHOOK_USER": "postmark",
            "FEEDSVC_POSTMARK_WEBHOOK_PASSWORD": "hook-pass-1"}


def client_for(env: dict[str, str], storage: Storage, network: Network):  # type: ignore[no-untyped-def]
    settings = load_settings(env)
    services = dataclasses.replace(build_services(settings, lambda: NOW, storage=storage), http_get=network)
    return create_app(services=services).test_client()


def post_sns(client, message: dict[str, str]):  # type: ignore[no-untyped-def]
    # SNS posts JSON as text/plain, with the type in a header.
    return client.post("/webhooks/ses", data=json.dumps(message), content_type="text/plain; charset=UTF-8",
                       headers={"x-amz-sns-message-type": message["Type"]})


# -- the signature, as a pure function --------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signatures_verify_and_any_change_breaks_them(sns_key: SigningKey, version: str) -> None:
    message = signed(sns_key, notification(ses_bounce("a@example.net", "news@press.example.org")), version)
    verify_sns_signature(message, sns_key.pem, now=NOW)
    for field, value in (("Message", message["Message"].replace("a@example.net", "b@example.net")),
                         ("TopicArn", TOPIC + "x"), ("Timestamp", "2026-11-24T08:01:13.345Z")):
        with pytest.raises(WebhookError, match="does not match"):
            verify_sns_signature({**message, field: value}, sns_key.pem, now=NOW)
    with pytest.raises(WebhookError, match="does not match"):
        verify_sns_signature(message, make_signing_key().pem, now=NOW)  # another key
    with pytest.raises(WebhookError, match="expired"):
        verify_sns_signature(message, sns_key.pem, now=NOW + dt.timedelta(days=400))
    with pytest.raises(WebhookError, match="SignatureVersion"):
        verify_sns_signature({**message, "SignatureVersion": "3"}, sns_key.pem, now=NOW)


@pytest.mark.parametrize("url", [
    "http://sns.eu-west-1.amazonaws.com/cert.pem",  # not https
    "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
    "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
    "https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem",
    "https://s3.amazonaws.com/cert.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/cert.pem",
    "https://sns.eu-west-1.amazonaws.com/cert.txt",
])
def test_only_https_sns_hosts_may_serve_the_certificate(url: str) -> None:
    with pytest.raises(WebhookError):
        check_sns_url(url, "SigningCertURL")
    assert check_sns_url(CERT_URL, "SigningCertURL") == CERT_URL
    assert check_sns_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", "SigningCertURL")


# -- the endpoint ------------------------------------------------------------------------------


def test_a_subscription_is_confirmed_only_once_verified_and_only_for_our_topic(  # type: ignore[no-untyped-def]
        app_env, storage: Storage, sns_key: SigningKey) -> None:
    network = Network({CERT_URL: sns_key.pem, SUBSCRIBE_URL: b"<ConfirmSubscriptionResponse/>"})
    client = client_for(app_env, storage, network)
    confirm = {"Type": "SubscriptionConfirmation", "MessageId": "165545c9", "Token": "2336412f37fb687f5d51e6e2425c",
               "TopicArn": TOPIC, "Message": "You have chosen to subscribe to the topic.",
               "SubscribeURL": SUBSCRIBE_URL, "Timestamp": "2026-11-24T08:00:00.000Z"}
    forged = {**signed(sns_key, confirm), "Signature": base64.b64encode(b"\0" * 256).decode()}
    assert post_sns(client, forged).status_code == 403
    assert network.got == [CERT_URL]  # the certificate was fetched to check; SubscribeURL never
    other = signed(sns_key, {**confirm, "TopicArn": "arn:aws:sns:eu-west-1:999999999999:theirs"})
    assert post_sns(client, other).status_code == 403  # someone else's topic: never confirmed
    elsewhere = signed(sns_key, {**confirm, "SigningCertURL": "https://evil.example/cert.pem"})
    assert post_sns(client, elsewhere).status_code == 403
    assert network.got == [CERT_URL]
    answer = post_sns(client, signed(sns_key, confirm, "2"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert network.got == [CERT_URL, SUBSCRIBE_URL]  # the certificate is fetched once per process


def test_ses_bounces_and_complaints_suppress_once_each(app_env, storage: Storage, sns_key: SigningKey) -> None:  # type: ignore[no-untyped-def]
    storage.add_confirmed("gone@example.net", (), "daily", NOW)
    storage.add_confirmed("angry@example.net", (), "daily", NOW)
    gone = storage.get_subscriber_by_email("gone@example.net")
    assert gone is not None
    client = client_for(app_env, storage, Network({CERT_URL: sns_key.pem}))
    verp = ReturnPaths(SECRET, DOMAIN).address(gone.id, "digest", 0)
    bounce = signed(sns_key, notification(ses_bounce("gone@example.net", verp)))
    first = post_sns(client, bounce)
    assert first.status_code == 200 and first.get_json() == {
        "recorded": 1, "repeated": 0, "unmatched": 0, "suppressed": ["gone@example.net"]}
    assert post_sns(client, bounce).get_json()["repeated"] == 1  # SNS delivers at least once
    complaint = signed(sns_key, notification(ses_complaint("angry@example.net", "news@press.example.org", "fb-9"),
                                             message_id="e1"), "2")
    assert post_sns(client, complaint).get_json()["suppressed"] == ["angry@example.net"]
    assert {s.email: s.kind for s in storage.suppressions()} == {"gone@example.net": "hard",
                                                                 "angry@example.net": "complaint"}
    assert storage.get_subscriber_by_email("angry@example.net").state == "unsubscribed"  # type: ignore[union-attr]
    transient = signed(sns_key, notification(ses_bounce("x@example.net", "n@x.org", "Transient", "fb-3"), "e3"))
    assert post_sns(client, transient).get_json()["recorded"] == 1
    assert storage.bounce_event_counts() == {"hard": 1, "complaint": 1, "soft": 1}
    # Malformed: a clear 400, nothing recorded.
    broken = signed(sns_key, {**notification({}), "Message": "not json"})
    answer = post_sns(client, broken)
    assert answer.status_code == 400 and "not an SES notification" in answer.get_data(as_text=True)
    assert client.post("/webhooks/ses", data=b"{", content_type="text/plain").status_code == 400


def test_webhooks_are_off_until_configured(app_env, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in app_env.items() if "SES" not in k and "POSTMARK" not in k}
    client = client_for(env, storage, Network({}))
    assert client.post("/webhooks/ses", data=b"{}").status_code == 404
    assert client.post("/webhooks/postmark", data=b"{}").status_code == 404


def test_postmark_needs_its_basic_auth(app_env, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    storage.add_confirmed("gone@example.net", (), "daily", NOW)
    client = client_for(app_env, storage, Network({}))
    bounce = {"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
              "Name": "Hard bounce", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
              "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
              "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
              "Email": "Gone@example.net", "From": "news@press.example.org",
              "BouncedAt": "2026-11-24T08:01:12.9070259Z", "Inactive": True, "MessageStream": "outbound"}
    unauthorised = client.post("/webhooks/postmark", json=bounce)
    assert unauthorised.status_code == 401 and "Basic" in unauthorised.headers["WWW-Authenticate"]
    wrong = client.post("/webhooks/postmark", json=bounce, auth=("postmark", "guess"))
    assert wrong.status_code == 401
    assert storage.bounce_event_counts() == {}
    ok = client.post("/webhooks/postmark", json=bounce, auth=("postmark", "hook-pass-1"))
    assert ok.status_code == 200 and ok.get_json()["suppressed"] == ["gone@example.net"]
    suppression, = storage.suppressions()
    assert suppression.reason.startswith("hard bounce: Hard bounce The server was unable")
    assert suppression.suppressed_at == NOW  # when it was recorded; the event keeps BouncedAt
    spam = {"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 100001,
            "Email": "new@example.net", "BouncedAt": "2026-11-24T09:00:00Z", "Name": "Spam complaint"}
    assert client.post("/webhooks/postmark", json=spam, auth=("postmark", "hook-pass-1")).get_json()["recorded"] == 1
    auto = {**spam, "RecordType": "Bounce", "Type": "AutoResponder", "ID": 43}
    assert client.post("/webhooks/postmark", json=auto, auth=("postmark", "hook-pass-1")).get_json()["recorded"] == 0
    bad = client.post("/webhooks/postmark", data=b"[1]", auth=("postmark", "hook-pass-1"))
    assert bad.status_code == 400


# -- the real fetch, against a server on loopback ----------------------------------------------


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"x" * (MAX_BYTES + 1) if self.path == "/big" else b"-----BEGIN CERTIFICATE-----"
            self.send_response(200 if self.path != "/missing" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_fetch_url_reads_small_answers_and_refuses_the_rest(http_server: str) -> None:
    assert fetch_url(f"{http_server}/cert.pem") == b"-----BEGIN CERTIFICATE-----"
    with pytest.raises(FetchError, match="404"):
        fetch_url(f"{http_server}/missing")
    with pytest.raises(FetchError, match="more than"):
        fetch_url(f"{http_server}/big")
