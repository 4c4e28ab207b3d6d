"""The pure parts of bounce handling: VERP tokens, the suppression and pause policy, reading DSNs and ARF reports."""

from __future__ import annotations

import datetime as dt

import pytest

from feedsvc.bounces.dsn import bounce_kind, read_message
from feedsvc.bounces.policy import (
    COMPLAINT_LIMIT,
    SOFT_WINDOW,
    RunRates,
    SoftBounce,
    should_pause,
    suppression_reason,
)
from feedsvc.bounces.verp import MAX_LOCAL_PART, PREFIX, ReturnPaths, ReturnToken
from tests.bounce_messages import gmail_hard_bounce, mailbox_full, yahoo_complaint

SECRET = "verp-test-secret-long-enough-for-production-use"
PATHS = ReturnPaths(SECRET, "Bounces.Press.Example.org")
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SENT = (b"From: IOM Turkey <news@press.example.org>\r\nTo: ayse@gmail.com\r\nSubject: Digest\r\n"
        b"Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <177.1.2@press.example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe week's releases.\r\n")

# -- VERP ------------------------------------------------------------------------------------


def test_the_longest_return_path_fits_an_smtp_local_part() -> None:
    biggest = 2**63 - 1  # the largest id either database can hand out
    for kind in ("digest", "confirmation"):
        address = PATHS.address(biggest, kind, biggest)  # type: ignore[arg-type]
        local, _, domain = address.partition("@")
        assert len(local) <= MAX_LOCAL_PART, (len(local), local)
        assert domain == "bounces.press.example.org" and local.startswith(PREFIX)
        assert local == local.lower()  # readable whatever case a bouncing server writes it in
        assert PATHS.read(address) == ReturnToken(biggest, kind, biggest)  # type: ignore[arg-type]
    assert len(PATHS.address(1, "digest", 1).partition("@")[0]) < 40  # today's ids: far shorter


def test_a_token_survives_case_changes_and_brackets_but_not_tampering() -> None:
    address = PATHS.address(42, "digest", 1234)
    assert PATHS.read(address.upper()) == ReturnToken(42, "digest", 1234)
    assert PATHS.read(f"<{address}>") == ReturnToken(42, "digest", 1234)
    local, domain = address.split("@")
    kind_sub, rest = local[len(PREFIX):].split("-", 1)
    forged = f"{PREFIX}d{int('2a', 36) + 1:x}-{rest}@{domain}"  # another subscriber, same MAC
    assert PATHS.read(forged) is None
    assert ReturnPaths("another-secret-of-the-same-length-and-more", PATHS.domain).read(address) is None
    assert PATHS.read(address.replace("bounces.press", "elsewhere.press")) is None  # not our domain
    assert PATHS.read("bounces+nothing@bounces.press.example.org") is None
    assert kind_sub == "d16"  # 42 in base 36


def test_find_takes_the_first_valid_token_in_a_bounce() -> None:
    good = PATHS.address(7, "confirmation", 9)
    bad = good[:-30] + ("a" if good[-30] != "a" else "b") + good[-29:]
    text = f"To: {bad}\r\nX-Postfix-Sender: rfc822; {good.upper()}\r\n"
    assert PATHS.find(text) == ReturnToken(7, "confirmation", 9)
    assert PATHS.find("no return path here") is None


# -- policy ----------------------------------------------------------------------------------


def soft(n: int, days_ago: float, delivery: int | None) -> SoftBounce:
    return SoftBounce(n, NOW - dt.timedelta(days=days_ago), delivery)


def test_hard_bounces_and_complaints_suppress_at_once() -> None:
    assert suppression_reason("hard", [], NOW, "5.1.1 no such user") == "hard bounce: 5.1.1 no such user"
    assert suppression_reason("complaint", [], NOW) == "spam complaint"


def test_soft_bounces_suppress_at_the_third_message_within_fourteen_days() -> None:
    assert suppression_reason("soft", [soft(1, 10, 1), soft(2, 5, 2)], NOW) is None
    assert suppression_reason("soft", [soft(1, 10, 1), soft(2, 5, 2), soft(3, 0, 3)], NOW) == \
        "3 soft bounces within 14 days"
    # Older than the window: forgotten.
    old = NOW - SOFT_WINDOW - dt.timedelta(seconds=1)
    assert suppression_reason("soft", [SoftBounce(1, old, 1), soft(2, 5, 2), soft(3, 0, 3)], NOW) is None
    # A delay warning and the final failure of one message are one message, not two.
    assert suppression_reason("soft", [soft(1, 3, 8), soft(2, 1, 8), soft(3, 0, 9)], NOW) is None
    # Reports that name no delivery count one each.
    assert suppression_reason("soft", [soft(1, 3, None), soft(2, 1, None), soft(3, 0, None)], NOW) is not None


@pytest.mark.parametrize(("delivered", "complaints", "pauses"), [
    (10, 1, False),  # 10%, but one reader: not enough to stop everyone's mail
    (10, 2, True),
    (300, 1, False),
    (666, 2, True),  # 0.30030%: past the limit
    (667, 2, False),  # 0.29985%: under it
    (1000, 3, False),  # exactly 0.3% is not past it
    (1000, 4, True),
    (0, 0, False),
])
def test_sending_pauses_past_gmails_limit_from_the_second_complaint(delivered: int, complaints: int,
                                                                    pauses: bool) -> None:
    rates = RunRates(1, delivered, 0, 0, complaints)
    assert should_pause(rates) is pauses
    assert rates.over_complaint_limit is (delivered > 0 and complaints / delivered > COMPLAINT_LIMIT)


def test_bounce_rate_counts_refusals_while_sending_and_later_bounces() -> None:
    rates = RunRates(1, delivered=96, refused=4, bounced=2, complaints=0)
    assert rates.bounce_rate == pytest.approx(0.06)
    assert RunRates(1, 0, 0, 0, 0).bounce_rate == 0.0


# -- reading the mailbox ---------------------------------------------------------------------


@pytest.mark.parametrize(("status", "permanent", "kind"), [
    ("5.1.1", True, "hard"), ("5.7.1", True, "hard"), ("4.2.2", True, "soft"), ("5.2.2", True, "soft"),
    ("4.4.7", True, "soft"), (None, True, "hard"), (None, False, "soft"), ("", False, "soft"),
])
def test_bounce_kind_follows_rfc_3463(status: str | None, permanent: bool, kind: str) -> None:
    assert bounce_kind(status, permanent) == kind


def test_a_gmail_hard_bounce_names_the_delivery_and_the_address() -> None:
    verp = PATHS.address(5, "digest", 77)
    reading = read_message(gmail_hard_bounce(verp, SENT), PATHS)
    assert reading.key == "<20261124080112.4XyZ1@relay.press.example.org>"
    report, = reading.reports
    assert (report.kind, report.address, report.token) == ("hard", "ayse@gmail.com", ReturnToken(5, "digest", 77))
    assert report.detail.startswith("5.1.1 smtp; 550-5.1.1 The email account")
    assert report.message_id == "<177.1.2@press.example.org>"
    assert report.occurred_at == dt.datetime(2026, 11, 24, 8, 1, 10, tzinfo=dt.UTC)
    # Without a bounce domain (or with another key), the address alone says who.
    assert read_message(gmail_hard_bounce(verp, SENT), None).reports[0].token is None


def test_a_4_2_2_failure_is_soft_though_postfix_says_failed() -> None:
    report, = read_message(mailbox_full(PATHS.address(5, "digest", 78), SENT), PATHS).reports
    assert (report.kind, report.token) == ("soft", ReturnToken(5, "digest", 78))


def test_a_delay_warning_is_soft() -> None:
    raw = mailbox_full(PATHS.address(5, "digest", 79), SENT).replace(b"Action: failed", b"Action: delayed")
    assert read_message(raw, PATHS).reports[0].kind == "soft"


def test_arf_complaints_from_yahoo_and_aol() -> None:
    verp = PATHS.address(6, "digest", 80)
    yahoo, = read_message(yahoo_complaint(verp, SENT), PATHS).reports
    assert (yahoo.kind, yahoo.address, yahoo.token) == ("complaint", "ayse@gmail.com", ReturnToken(6, "digest", 80))
    assert yahoo.detail == "abuse report from Yahoo!-Mail-Feedback/2.0"
    aol, = read_message(yahoo_complaint(verp, SENT, aol=True), PATHS).reports
    assert aol.address is None and aol.token == ReturnToken(6, "digest", 80)  # redacted: the token says who
    assert aol.message_id == "<177.1.2@press.example.org>"
    not_spam = yahoo_complaint(verp, SENT).replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    reading = read_message(not_spam, PATHS)
    assert reading.reports == () and "not-spam" in reading.why_not


def test_an_auto_reply_is_not_a_bounce() -> None:
    raw = (b"From: ayse@gmail.com\r\nTo: " + PATHS.address(5, "digest", 81).encode() +
           b"\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n")
    reading = read_message(raw, PATHS)
    assert reading.reports == () and reading.key.startswith("sha256:")
