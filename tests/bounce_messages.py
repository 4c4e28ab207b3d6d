"""Real bounce messages, as the servers that send them write them, for a message feedsvc sent.

- `gmail_hard_bounce`: Postfix relaying to Gmail, refused at RCPT with 550 5.1.1 (no such user):
  an RFC 3464 DSN with the original headers as text/rfc822-headers.
- `mailbox_full`: Postfix giving up on a 452 4.2.2 (over quota) after its queue lifetime
  ("Action: failed", a 4.x.x status): a soft bounce.
- `yahoo_complaint`: an ARF report (RFC 5965) from Yahoo's complaint feedback loop, the original
  message attached; `aol=True` redacts the recipient as AOL's loop does.

Each takes the message as it was sent (its envelope sender is the VERP return path), so the
bounce carries back exactly what a real one would.
"""

from __future__ import annotations

from email.utils import parseaddr

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


def gmail_hard_bounce(verp: str, sent: bytes, *, queue_id: str = "4XyZ1") -> bytes:
    head, rcpt, _ = _original_headers(sent)
    boundary = f"{queue_id}.1795420872/{RELAY}"
    return f"""Return-Path: <>
Delivered-To: {verp}
Received: by {RELAY} (Postfix)
	id {queue_id}; Tue, 24 Nov 2026 08:01:12 +0000 (UTC)
Date: Tue, 24 Nov 2026 08:01:12 +0000 (UTC)
From: MAILER-DAEMON@{RELAY} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Content-Transfer-Encoding: 7bit
Message-Id: <20261124080112.{queue_id}@{RELAY}>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {RELAY}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{rcpt}>: host gmail-smtp-in.l.google.com[142.250.102.27] said:
    550-5.1.1 The email account that you tried to reach does not exist. Please
    try 550-5.1.1 double-checking the recipient's email address for typos or
    550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1
    https://support.google.com/mail/?p=NoSuchUser a1si1234567wrb.12 - gsmtp (in
    reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {RELAY}
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Tue, 24 Nov 2026 08:01:10 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
    not exist. Please try 550-5.1.1 double-checking the recipient's email
    address for typos or 550-5.1.1 unnecessary spaces. For more information, go
    to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser
    a1si1234567wrb.12 - gsmtp

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 7bit

Return-Path: <{verp}>
Received: from feedsvc (localhost [127.0.0.1])
	by {RELAY} (Postfix) with ESMTP id {queue_id}
	for <{rcpt}>; Tue, 24 Nov 2026 08:01:10 +0000 (UTC)
{head}

--{boundary}--
""".replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def mailbox_full(verp: str, sent: bytes, *, queue_id: str = "4Xq7M") -> bytes:
    head, rcpt, _ = _original_headers(sent)
    boundary = f"{queue_id}.1795852800/{RELAY}"
    return f"""Return-Path: <>
Delivered-To: {verp}
Date: Sun, 29 Nov 2026 08:00:00 +0000 (UTC)
From: MAILER-DAEMON@{RELAY} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Message-Id: <20261129080000.{queue_id}@{RELAY}>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {RELAY}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{rcpt}>: delivery temporarily suspended: host
    gmail-smtp-in.l.google.com[142.250.102.27] said: 452-4.2.2 The recipient's
    inbox is out of storage space. Please direct the recipient to 452 4.2.2
    https://support.google.com/mail/?p=OverQuotaTemp (in reply to RCPT TO
    command); message expired after 5 days in the queue

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {RELAY}
X-Postfix-Queue-ID: {queue_id}
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Tue, 24 Nov 2026 08:01:10 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: 4.2.2
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 452-4.2.2 The recipient's inbox is out of storage space.
    Please direct the recipient to 452 4.2.2
    https://support.google.com/mail/?p=OverQuotaTemp

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{verp}>
{head}

--{boundary}--
""".replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def yahoo_complaint(verp: str, sent: bytes, *, report_id: str = "1764000057.123456", aol: bool = False,
                    to: str = "fbl@bounces.press.example.org") -> bytes:
    _, rcpt, _ = _original_headers(sent)
    original = sent.decode("utf-8")
    shown_rcpt = "redacted@aol.com" if aol else rcpt
    if aol:  # AOL's loop redacts the recipient in the attached message too
        original = original.replace(rcpt, shown_rcpt)
    agent, sender = (("AOL SComp", "scomp@aol.net") if aol
                     else ("Yahoo!-Mail-Feedback/2.0", "feedback@arf.mail.yahoo.com"))
    return f"""Return-Path: <{sender}>
Delivered-To: {to}
From: Complaint Feedback Loop <{sender}>
To: {to}
Subject: FW: digest complaint
Date: Tue, 24 Nov 2026 09:14:03 +0000
Message-ID: <{report_id}@{sender.split("@")[1]}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
	boundary="----=_Part_{report_id}"

------=_Part_{report_id}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 203.0.113.25 on Tue, 24 Nov 2026 08:00:57 +0000.
For more information about this format please see http://www.mipassoc.org/arf/.

------=_Part_{report_id}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: {agent}
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{shown_rcpt}>
Arrival-Date: Tue, 24 Nov 2026 08:00:57 +0000
Source-IP: 203.0.113.25
Reported-Domain: press.example.org
Authentication-Results: mta1234.mail.ne1.yahoo.com; dkim=pass header.d=press.example.org

------=_Part_{report_id}
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{verp}>
Received: from {RELAY} (EHLO {RELAY}) (203.0.113.25)
  by mta1234.mail.ne1.yahoo.com with SMTPS; Tue, 24 Nov 2026 08:00:57 +0000
{original.rstrip()}

------=_Part_{report_id}--
""".replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
