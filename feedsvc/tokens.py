"""Signed tokens in links (itsdangerous): confirm, manage, unsubscribe, view a digest.

The URLs that carry them are built in feedsvc/links.py.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

CONFIRM_MAX_AGE = 2 * 24 * 3600  # the confirmation email says "2 days"


class _Serializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer minus the zlib attempt on dumping: for the small ints signed here
    compression never wins, yet trying it cost a third of a digest's token time. Tokens are
    byte-for-byte the same, and loading (which still decompresses) is inherited unchanged."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


@functools.lru_cache(maxsize=32)
def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    # A salt per purpose: an unsubscribe token cannot be replayed as a confirmation.
    return _Serializer(secret_key, salt=f"feedsvc.{purpose}")


class BadToken(Exception):
    """The link is forged, mangled or expired; the message says which, for the page."""


@dataclasses.dataclass(frozen=True)
class SubscriberLink:
    """What a subscriber's signed link says: whose it is, and when it was made.

    Links made since issue 14.2 name the address as well as the id (a keyed digest of it, so the
    link shows nothing of the address), and a confirmation link names its confirmation email.
    Older links name the id only (`address_tag` None).
    """

    subscriber_id: int
    address_tag: str | None
    confirmation_id: int | None
    signed_at: dt.datetime

    def names(self, tokens: Tokens, email: str, created_at: dt.datetime) -> bool:
        """Whether this link was made for the subscriber now holding its id (never another person)."""
        if self.address_tag is not None:
            return hmac.compare_digest(self.address_tag, tokens.address_tag(email))
        # A link from before addresses were bound names an id only, and SQLite reused the id of a
        # deleted last row before migration 0015. A subscriber signed up after the link was made
        # cannot be the one it was made for; one signed up before is (an id names one row at a
        # time). The link's time is whole seconds: "before" allows the second it was signed in.
        return created_at < self.signed_at + dt.timedelta(seconds=1)


@dataclasses.dataclass(frozen=True)
class Tokens:
    secret_key: str

    def _s(self, purpose: str) -> URLSafeTimedSerializer:
        return _serializer(self.secret_key, purpose)

    def make(self, purpose: str, value: int) -> str:
        return str(self._s(purpose).dumps(value))

    def read(self, purpose: str, token: str, max_age: int | None = None) -> int:
        value, _ = self._load(purpose, token, max_age)
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadToken("This link is not valid.")
        return value

    def _load(self, purpose: str, token: str, max_age: int | None) -> tuple[Any, dt.datetime]:
        try:
            value, signed_at = self._s(purpose).loads(token, max_age=max_age, return_timestamp=True)
        except SignatureExpired:
            raise BadToken("This link has expired.") from None
        except BadSignature:
            raise BadToken("This link is not valid.") from None
        return value, signed_at

    def address_tag(self, email: str) -> str:
        """A short keyed digest of an address: binds a link to it without showing it."""
        return _address_tag(self.secret_key, email)

    def for_subscriber(self, purpose: str, subscriber_id: int, email: str,
                       confirmation_id: int | None = None) -> str:
        """A link token naming the subscriber's id and address (and, to confirm, its confirmation email)."""
        value: list[int | str] = [subscriber_id, self.address_tag(email)]
        if confirmation_id is not None:
            value.append(confirmation_id)
        return str(self._s(purpose).dumps(value))

    def read_subscriber(self, purpose: str, token: str, max_age: int | None = None) -> SubscriberLink:
        """What a subscriber's link says; BadToken when it is forged, mangled, expired or another purpose's."""
        value, signed_at = self._load(purpose, token, max_age)
        if isinstance(value, int) and not isinstance(value, bool):  # made before issue 14.2
            return SubscriberLink(value, None, None, signed_at)
        if (isinstance(value, list) and len(value) in (2, 3) and _is_int(value[0])
                and isinstance(value[1], str) and (len(value) == 2 or _is_int(value[2]))):
            return SubscriberLink(value[0], value[1], value[2] if len(value) == 3 else None, signed_at)
        raise BadToken("This link is not valid.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@functools.lru_cache(maxsize=4096)
def _address_tag(secret_key: str, email: str) -> str:
    # Its own key, derived from SECRET_KEY, so the digest is of no use for anything else; 72 bits
    # tell two addresses apart (the link is signed besides: nobody can make one for an address).
    key = hashlib.sha256(b"feedsvc.address-tag\0" + secret_key.encode()).digest()
    digest = hmac.new(key, email.casefold().encode("utf-8"), hashlib.sha256).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode("ascii")
