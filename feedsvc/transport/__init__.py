"""Transport: getting a built message to a mail server or into the outbox folder. No digest knowledge.

- `mime`: building EmailMessages with headers nothing put in them can break (pure; digest.py
  renders with it).
- `wire`: a message's bytes as sent, and its SMTP envelope.
- `outcomes`: what became of a message (`SendResult`) and the errors that stop sending.
- `pool`: `BaseMailer.send_many`, a batch over N worker threads, each with its own connection,
  under one shared rate limit (`TokenBucket`). Its threading contract is stated there.
- `smtp`: SMTP_URL, `SmtpMailer` (one reused connection, retries), and `make_mailer`.
- `outbox`: `OutboxMailer`, .eml files in a folder when SMTP_URL is not set.

This file imports nothing, so the pure renderer importing `transport.mime` loads no SMTP code.
"""
