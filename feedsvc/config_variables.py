"""Every environment variable feedsvc reads, with its default and meaning.

`config.load_settings` reads them; this list documents them: it is the README's configuration
table (tests/test_config_table.py checks they agree) and `feedsvc init` writes it into a new
folder's .env (scaffold.py).
"""

from __future__ import annotations

# (variable, default, help) — the README's configuration table is this list.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("PORT", "8000", "port `feedsvc serve` and the Procfile's web process listen on"),
    ("DATABASE_URL", "sqlite:///instance/feedsvc.sqlite3", "SQLAlchemy URL; `postgres://` is accepted"),
    ("SECRET_KEY", "(generated into instance/ by `feedsvc serve`)", "signs tokens and sessions; required by `create_app()` in production, at least 32 characters (a debug app without one gets a random key per start)"),
    ("FEEDSVC_BASE_URL", "(`feedsvc serve`: http://localhost:$PORT)", "public address, used for absolute links in feeds and emails; required by `create_app()` and `feedsvc scheduler` in production"),
    ("FEEDSVC_CONTENT_DIR", "data/releases", "the folder of press-release listings"),
    ("FEEDSVC_TOPICS", "(the packaged data/topics.toml)", "the topic taxonomy"),
    ("FEEDSVC_INSTANCE_DIR", "instance", "local state: SQLite file, outbox, generated key"),
    ("FEEDSVC_TAG_AUTHORITY", "host of FEEDSVC_BASE_URL", "authority of the tag: URIs given to releases at first ingest"),
    ("FEEDSVC_ORGANISATION", "Press office", "feed author when a release has no byline"),
    ("FEEDSVC_LANGUAGE", "en", "feed language"),
    ("FEEDSVC_SITE_NAME", "FEEDSVC_ORGANISATION", "the office's name as every page's header, title and Open Graph `og:site_name` show it"),
    ("FEEDSVC_LOGO", "(unset: the name alone)", "the office's logo: a .svg, .png, .jpg or .webp file of at most 1 MB, its path relative to FEEDSVC_CONTENT_DIR (or absolute); served at /logo.<ext>, shown in the header and as `og:image`. A URL is refused: pages load images from their own site only (Content-Security-Policy)"),
    ("FEEDSVC_ACCENT", "#0b57d0", "accent colour of links and buttons, `#rgb` or `#rrggbb`; refused unless it has a WCAG AA contrast of 4.5:1 on the light background (dark mode uses a lightened twin that does); the favicon is drawn in it"),
    ("FEEDSVC_DEFAULT_LANGUAGE", "FEEDSVC_LANGUAGE", "BCP 47 tag of a release whose file states no `lang:` and whose text's language cannot be told with confidence"),
    ("FEEDSVC_DEFAULT_LOCALE", "en", "language of the pages and emails (en, fr, tr or ar) when the reader chose none and their browser asks for none of these; a reader's choice (the language links, a cookie) and then Accept-Language come first"),
    ("SMTP_URL", "(unset: mail goes to instance/outbox/)", "smtp://user:pass@host:port, smtp+starttls://…, smtps://…; any other scheme, or no host, stops start-up"),
    ("MAIL_FROM", "Press office <noreply@localhost>", "From and Reply-To of every email"),
    ("FEEDSVC_TIMEZONE", "UTC", "time zone of the digest schedule, and of an embargo's time written without a zone"),
    ("FEEDSVC_DAILY_AT", "08:00", "time of day digests go out"),
    ("FEEDSVC_WEEKLY_ON", "mon", "weekday of the weekly digest"),
    ("FEEDSVC_WEBSUB_HUB", "(unset)", "WebSub hub to announce and ping"),
    ("FEEDSVC_ADMIN_TOKEN", "(unset: /admin disabled)", "token for /admin (5 wrong tries in 15 minutes from an address: 429 until the window closes)"),
    ("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ("FEEDSVC_RESCAN_SECONDS", "300", "full rescan of the content folder, as a safety net for missed events"),
    ("FEEDSVC_MAX_FILE_BYTES", "20000000", "larger files are refused with an ingest error"),
    ("FEEDSVC_MAX_MEDIA_BYTES", "20000000", "an image or PDF a release names that is larger is not attached (an ingest warning; the release is published without it)"),
    ("FEEDSVC_FEED_MAX_AGE", "300", "Cache-Control max-age of feeds, seconds"),
    ("FEEDSVC_FEED_RECHECK", "2", "how often a web process checks the database for rebuilt feeds, seconds"),
    ("FEEDSVC_PAGE_CACHE_MB", "32", "rendered pages (home, topics, releases, their history) each web process keeps, megabytes; least recently used go first (0: render every request)"),
    ("FEEDSVC_MAIL_RATE", "0", "messages per second, all connections together (0: unlimited)"),
    ("FEEDSVC_MAIL_CONNECTIONS", "4", "SMTP connections used in parallel for a digest run (1–16)"),
    ("FEEDSVC_RELAY_FAILURES", "20", "permanent refusals in a row, for that many different recipient domains, that mean the relay is failing: sending pauses, nobody is marked bounced, `feedsvc digest` resumes (0: never pause)"),
    ("FEEDSVC_PROXY_HOPS", "1 (`feedsvc serve`: 0)", "proxies in front of the web process whose X-Forwarded-For (and -Proto, -Host) to trust: the client address the sign-up and /admin limits count by is the one the outermost trusted proxy saw; 0 trusts none"),
    ("DKIM_PRIVATE_KEY", "(unset: mail is not signed)", "RSA private key (PEM, 2048 bits) that signs every email: the PEM text itself, or the path of a PEM file; one that does not load stops start-up"),
    ("DKIM_SELECTOR", "(unset)", "DKIM selector; signing needs both it and DKIM_PRIVATE_KEY (`feedsvc check` prints the DNS record)"),
    ("DKIM_DOMAIN", "domain of MAIL_FROM", "the d= domain of the signature"),
    ("FEEDSVC_BOUNCE_DOMAIN", "(unset: MAIL_FROM is the return path)", "domain of the VERP return path: each message goes out with MAIL FROM `bounces+<signed token>@` this domain, which names its subscriber and delivery; give it an MX that delivers into FEEDSVC_BOUNCE_MAILBOX"),
    ("FEEDSVC_BOUNCE_MAILBOX", "(unset: no mailbox is read)", "where bounces arrive: `imaps://user:password@host[:port]/INBOX`, `imap://…` (STARTTLS required) or a maildir path; read by `feedsvc bounces` and by the clock every 5 minutes"),
    ("FEEDSVC_SES_TOPIC_ARN", "(unset: /webhooks/ses is off)", "the SNS topic(s) (comma-separated ARNs) whose signed SES bounce and complaint notifications /webhooks/ses accepts"),
    ("FEEDSVC_POSTMARK_WEBHOOK_USER", "(unset: /webhooks/postmark is off)", "HTTP basic-auth user Postmark's bounce and spam-complaint webhook must give"),
    ("FEEDSVC_POSTMARK_WEBHOOK_PASSWORD", "(unset)", "its password; both or neither"),
    ("FEEDSVC_DEBUG", "0", "1 turns on debug mode (never in production)"),
)
