"""Bounces and complaints (issue 16 item 4): what comes back after a message left, and what it changes.

- `verp`: the return path of each message, `bounces+<signed token>@FEEDSVC_BOUNCE_DOMAIN`, and
  reading it back (pure).
- `events`: a bounce or complaint as read (`BounceReport`), whatever brought it.
- `policy`: who is suppressed, and when sending pauses (pure).
- `dsn`: a message of the bounce mailbox read: DSNs through flufl.bounce, ARF complaint reports (pure).
- `webhooks`: Amazon SES through SNS (the signature verified) and Postmark payloads read (pure).
- `mailbox_url`, `mailbox`: FEEDSVC_BOUNCE_MAILBOX parsed; IMAP and maildir reading (I/O).
- `processor`: reports recorded, the policy applied, the mailbox drained (the thin I/O).

Nothing here imports Flask; only `processor` and `mailbox` do I/O.
"""
