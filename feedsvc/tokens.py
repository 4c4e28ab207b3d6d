"""Signed tokens in links (itsdangerous): confirm, manage, unsubscribe, view a digest.

The URLs that carry them are built in feedsvc/links.py.
"""

from __future__ import annotations

import dataclasses
import functools
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
class Tokens:
    secret_key: str

    def _s(self, purpose: str) -> URLSafeTimedSerializer:
        return _serializer(self.secret_key, purpose)

    def make(self, purpose: str, value: int) -> str:
        return str(self._s(purpose).dumps(value))

    def read(self, purpose: str, token: str, max_age: int | None = None) -> int:
        try:
            value = self._s(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise BadToken("This link has expired.") from None
        except BadSignature:
            raise BadToken("This link is not valid.") from None
        if not isinstance(value, int):
            raise BadToken("This link is not valid.")
        return value
