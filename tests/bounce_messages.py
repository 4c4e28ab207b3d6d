"""Real bounce messages, as the servers that send them write them, for a message feedsvc sent.

- `gmail_hard_bounce`: Postfix relaying to Gmail, refused at RCPT with 550 5.1.1 (no such user):
  an RFC 3464 DSN with the original headers as text/rfc822-headers.
- `mailbox_full`: Postfix giving up on a 452 4.2.2 (over quota) after its queue lifetime
  ("Action: failed", a 4.x.x status): a soft bounce.
- `yahoo_complaint`: an ARF report (RFC 5965) from Yahoo's complaint feedback loop, the original
  message attached; `aol=True` redacts the recipient as AOL's loop does.

Each takes the message as it was sent (its envelope sender is the VERP return path), so the
bounce carries back exactly what a real one would. All three are one multipart/report
(`report`); the two DSNs are Postfix's one form (`postfix_dsn`), differing in what the server said.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr, parsedate_to_datetime

RELAY = "relay.press.example.org"


def _original_headers(sent: bytes) -> tuple[str, str, str]:
    """(header block, recipient, Message-ID) of a message as sent."""
    head = sent.split(b"\r\n\r\n", 1)[0].decode("ascii")
    fields = {}
    for line in head.split("\r\n"):
        if line and not line[0].isspace() and ":" in line:
            name, value = line.split(":", 1)
            fields[name.lower()] = value.strip()
    return head, parseaddr(fields.get("to", ""))[1], fields.get("message-id", "")


def report(headers: str, report_type: str, boundary: str, parts: Sequence[str], *, preamble: str = "") -> bytes:
    """A multipart/report (RFC 6522) under `headers`: each part is its own headers, a blank line, its body.

    Written with CRLF line ends, as it arrives in a mailbox.
    """
    text = (f"{headers.strip()}\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type={report_type};\n\tboundary="{boundary}"\n\n'
            + (f"{preamble}\n\n" if preamble else "")
            + "".join(f"--{boundary}\n{part.strip()}\n\n" for part in parts)
            + f"--{boundary}--\n")
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def postfix_dsn(verp: str, sent: bytes, *, queue_id: str, date: str, said: str, status: str,
                diagnostic: str) -> bytes:
    """Postfix's delivery status notification for `sent`, which it gave up on (RFC 3464).

    `date` is the bounce's Date; `said` is what the remote server answered (shown to people),
    `status` and `diagnostic` the same for programs.
    """
    head, rcpt, _ = _original_headers(sent)
    when = parsedate_to_datetime(date)
    headers = f"""Return-Path: <>
Delivered-To: {verp}
Received: by {RELAY} (Postfix)
	id {queue_id}; {date}
Date: {date}
From: MAILER-DAEMON@{RELAY} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
Message-Id: <{when:%Y%m%d%H%M%S}.{queue_id}@{RELAY}>"""
    notification = f"""Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {RELAY}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{rcpt}>: {said}"""
    delivery_status = f"""Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {RELAY}
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Tue, 24 Nov 2026 08:01:10 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; {diagnostic}"""
    returned = f"""Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 7bit

Return-Path: <{verp}>
Received: from feedsvc (localhost [127.0.0.1])
	by {RELAY} (Postfix) with ESMTP id {queue_id}
	for <{rcpt}>; Tue, 24 Nov 2026 08:01:10 +0000 (UTC)
{head}"""
    return report(headers, "delivery-status", f"{queue_id}.{int(when.timestamp())}/{RELAY}",
                  [notification, delivery_status, returned], preamble="This is a MIME-encapsulated message.")


def gmail_hard_bounce(verp: str, sent: bytes, *, queue_id: str = "4XyZ1") -> bytes:
    return postfix_dsn(
        verp, sent, queue_id=queue_id, date="Tue, 24 Nov 2026 08:01:12 +0000 (UTC)",
        said="""host gmail-smtp-in.l.google.com[142.250.102.27] said:
    550-5.1.1 The email account that you tried to reach does not exist. Please
    try 550-5.1.1 double-checking the recipient's email address for typos or
    550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1
    https://support.google.com/mail/?p=NoSuchUser a1si1234567wrb.12 - gsmtp (in
    reply to RCPT TO command)""",
        status="5.1.1",
        diagnostic="""550-5.1.1 The email account that you tried to reach does
    not exist. Please try 550-5.1.1 double-checking the recipient's email
    address for typos or 550-5.1.1 unnecessary spaces. For more information, go
    to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser
    a1si1234567wrb.12 - gsmtp""")


def mailbox_full(verp: str, sent: bytes, *, queue_id: str = "4Xq7M") -> bytes:
    return postfix_dsn(
        verp, sent, queue_id=queue_id, date="Sun, 29 Nov 2026 08:00:00 +0000 (UTC)",
        said="""delivery temporarily suspended: host
    gmail-smtp-in.l.google.com[142.250.102.27] said: 452-4.2.2 The recipient's
    inbox is out of storage space. Please direct the recipient to 452 4.2.2
    https://support.google.com/mail/?p=OverQuotaTemp (in reply to RCPT TO
    command); message expired after 5 days in the queue""",
        status="4.2.2",
        diagnostic="""452-4.2.2 The recipient's inbox is out of storage space.
    Please direct the recipient to 452 4.2.2
    https://support.google.com/mail/?p=OverQuotaTemp""")


def yahoo_complaint(verp: str, sent: bytes, *, report_id: str = "1764000057.123456", aol: bool = False,
                    to: str = "fbl@bounces.press.example.org") -> bytes:
    _, rcpt, _ = _original_headers(sent)
    original = sent.decode("utf-8")
    shown_rcpt = "redacted@aol.com" if aol else rcpt
    if aol:  # AOL's loop redacts the recipient in the attached message too
        original = original.replace(rcpt, shown_rcpt)
    agent, sender = (("AOL SComp", "scomp@aol.net") if aol
                     else ("Yahoo!-Mail-Feedback/2.0", "feedback@arf.mail.yahoo.com"))
    headers = f"""Return-Path: <{sender}>
Delivered-To: {to}
From: Complaint Feedback Loop <{sender}>
To: {to}
Subject: FW: digest complaint
Date: Tue, 24 Nov 2026 09:14:03 +0000
Message-ID: <{report_id}@{sender.split("@")[1]}>"""
    notice = """Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 203.0.113.25 on Tue, 24 Nov 2026 08:00:57 +0000.
For more information about this format please see http://www.mipassoc.org/arf/."""
    feedback = f"""Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: {agent}
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{shown_rcpt}>
Arrival-Date: Tue, 24 Nov 2026 08:00:57 +0000
Source-IP: 203.0.113.25
Reported-Domain: press.example.org
Authentication-Results: mta1234.mail.ne1.yahoo.com; dkim=pass header.d=press.example.org"""
    attached = f"""Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{verp}>
Received: from {RELAY} (EHLO {RELAY}) (203.0.113.25)
  by mta1234.mail.ne1.yahoo.com with SMTPS; Tue, 24 Nov 2026 08:00:57 +0000
{original.rstrip()}"""
    return report(headers, "feedback-report", f"----=_Part_{report_id}", [notice, feedback, attached])
