"""VERP return paths: `bounces+<token>@FEEDSVC_BOUNCE_DOMAIN`, the token naming who was mailed and what.

A bounce goes back to the envelope sender (MAIL FROM), so with one return path per message the
bounce says by its own address which subscriber and which delivery failed, whatever the bouncing
server writes (or fails to write) in its report. The token is signed with SECRET_KEY through
itsdangerous, so a forged bounce cannot suppress an address it names.

Compact by design: RFC 5321 §4.5.3.1.1 allows 64 characters in a local part. The worst case,
both ids at 2**63 - 1, is 8 ("bounces+") + 1 + 13 + 1 + 13 (ids in base 36) + 1 + 26 (a 128-bit
HMAC-SHA256 in base 32) = 63 characters. Everything is lower case: some servers change the case
of the address they bounce to, and the token reads the same either way.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Literal

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import want_bytes

if TYPE_CHECKING:
    from email.message import Message

    from ..config import Settings

PREFIX = "bounces+"
MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAC_BYTES = 16  # 128 bits: RFC 2104 §5 asks for at least half the hash, and at least 80 bits

SentKind = Literal["digest", "confirmation"]
_KIND_LETTER: dict[SentKind, str] = {"digest": "d", "confirmation": "c"}
_LETTER_KIND: dict[str, SentKind] = {v: k for k, v in _KIND_LETTER.items()}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# kind letter, subscriber id, "-", delivery or confirmation id, ".", the MAC (base 32, a-z2-7)
_TOKEN = r"[dc][0-9a-z]{1,13}-[0-9a-z]{1,13}\.[a-z2-7]{26}"


@dataclasses.dataclass(frozen=True, slots=True)
class ReturnToken:
    """What a return path names: the subscriber, and the digest delivery or confirmation email sent."""

    subscriber_id: int
    kind: SentKind
    ref: int  # the delivery id (kind "digest") or the confirmation queue id (kind "confirmation")

    @property
    def delivery_id(self) -> int | None:
        return self.ref if self.kind == "digest" else None


def _base36(n: int) -> str:
    if n < 0:
        raise ValueError(f"ids are not negative: {n}")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


class _CompactSigner(Signer):
    """itsdangerous' Signer with a truncated MAC in lower-case base 32 (its own is case-sensitive base 64)."""

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self.algorithm.get_signature(self.derive_key(), want_bytes(value))[:MAC_BYTES]
        return base64.b32encode(mac).rstrip(b"=").lower()

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        return hmac.compare_digest(self.get_signature(value), want_bytes(sig).lower())


@functools.lru_cache(maxsize=8)
def _signer(secret_key: str) -> _CompactSigner:
    # A salt of its own: no other token of feedsvc's can be passed off as a return path.
    return _CompactSigner(secret_key, salt="feedsvc.verp", key_derivation="hmac", digest_method=hashlib.sha256)


@dataclasses.dataclass(frozen=True)
class ReturnPaths:
    """Makes and reads the return paths of one deployment (its SECRET_KEY and bounce domain)."""

    secret_key: str = dataclasses.field(repr=False)
    domain: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain", self.domain.lower().rstrip("."))

    def address(self, subscriber_id: int, kind: SentKind, ref: int) -> str:
        """The MAIL FROM of one message: bounces+<token>@domain."""
        value = f"{_KIND_LETTER[kind]}{_base36(subscriber_id)}-{_base36(ref)}"
        return f"{PREFIX}{_signer(self.secret_key).sign(value).decode('ascii')}@{self.domain}"

    def read(self, address: str) -> ReturnToken | None:
        """The token of a return path of ours, or None (not ours, mangled, or signed with another key)."""
        found = self._pattern().fullmatch(address.strip().strip("<>").strip())
        return self._verified(found.group(1)) if found else None

    def find(self, text: str) -> ReturnToken | None:
        """The first valid return path of ours anywhere in `text` (a bounce's headers and body)."""
        for found in self._pattern().finditer(text):
            token = self._verified(found.group(1))
            if token is not None:
                return token
        return None

    def _pattern(self) -> re.Pattern[str]:
        return _address_pattern(self.domain)

    def _verified(self, token: str) -> ReturnToken | None:
        try:
            value = _signer(self.secret_key).unsign(token.lower()).decode("ascii")
        except BadSignature:
            return None
        sub, ref = value[1:].split("-")
        return ReturnToken(int(sub, 36), _LETTER_KIND[value[0]], int(ref, 36))


@functools.lru_cache(maxsize=8)
def _address_pattern(domain: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(PREFIX)}({_TOKEN})@{re.escape(domain)}\b", re.IGNORECASE)


def return_paths_for(settings: Settings) -> ReturnPaths | None:
    """The deployment's return paths when FEEDSVC_BOUNCE_DOMAIN is set (and SECRET_KEY, which signs them)."""
    if not settings.bounce_domain or not settings.secret_key:
        return None
    return ReturnPaths(settings.secret_key, settings.bounce_domain)


def stamp(msg: Message, paths: ReturnPaths | None, subscriber_id: int, kind: SentKind, ref: int) -> None:
    """Give a built message its return path (transport/wire.py makes it the envelope's MAIL FROM)."""
    if paths is None:
        return  # no bounce domain: MAIL FROM is the From address, as before VERP
    from ..transport.mime import verbatim

    msg["Return-Path"] = verbatim("Return-Path", f"<{paths.address(subscriber_id, kind, ref)}>")
