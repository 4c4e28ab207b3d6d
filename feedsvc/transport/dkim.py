"""DKIM: a message's final bytes signed with dkimpy, and the DNS record that lets receivers check them.

A `Signer` is built once from settings (config.py checks the key loads at start-up) and applied by
the mailers to the exact bytes they send or write, so what is signed is what goes out.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

import dkim  # type: ignore[import-untyped]
from dkim.crypto import UnparsableKeyError, parse_pem_private_key  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from feedsvc.config import Settings

#: Signed when present (RFC 6376 §5.4.1 and RFC 8058 §4: the one-click unsubscribe headers must be
#: signed, or a relay could point List-Unsubscribe elsewhere).
SIGNED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                  "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Reply-To", "Sender")

SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*")

_RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1


class DkimKeyError(ValueError):
    """The private key cannot be read or is not an RSA key in PEM form (the message never shows the key)."""


def read_private_key(value: str) -> bytes:
    """DKIM_PRIVATE_KEY: the PEM text itself (it starts with -----BEGIN) or the path of a PEM file."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = Path(text).expanduser().read_text("ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise DkimKeyError(f"cannot read the key file {value.strip()!r}: "
                            f"{getattr(exc, 'strerror', None) or 'not a PEM text file'}") from None
    # A PEM pasted into a platform's settings page may arrive with CRLF or literal "\n"s.
    pem = text.replace("\\n", "\n").replace("\r\n", "\n").strip().encode("ascii", "replace") + b"\n"
    try:
        key = parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError, IndexError, TypeError):
        raise DkimKeyError("not an RSA private key in PEM form (PKCS#1 or PKCS#8)") from None
    if key["modulus"].bit_length() < 1024:
        raise DkimKeyError(f"the RSA key has {key['modulus'].bit_length()} bits; receivers ignore "
                        "signatures from keys under 1024 bits (use 2048)")
    return pem


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # +1: a leading 0 keeps it positive


def public_key_b64(pem: bytes) -> str:
    """The p= value: the key's SubjectPublicKeyInfo (DER, base64), as `openssl rsa -pubout` gives it."""
    key = parse_pem_private_key(pem)
    rsa_public = _der(0x30, _der_int(key["modulus"]) + _der_int(key["publicExponent"]))
    algorithm = _der(0x30, _der(0x06, _RSA_ENCRYPTION_OID) + _der(0x05, b""))
    return base64.b64encode(_der(0x30, algorithm + _der(0x03, b"\x00" + rsa_public))).decode("ascii")


class Signer:
    """Signs a message's bytes: rsa-sha256, relaxed/relaxed, no l= tag, SIGNED_HEADERS that are present."""

    def __init__(self, private_key_pem: bytes, selector: str, domain: str) -> None:
        self.selector, self.domain = selector, domain
        self._key = private_key_pem
        self._selector_b, self._domain_b = selector.encode("ascii"), domain.encode("idna")
        self._wanted = {h.lower().encode("ascii"): h.encode("ascii") for h in SIGNED_HEADERS}

    def __repr__(self) -> str:  # never the key
        return f"Signer(selector={self.selector!r}, domain={self.domain!r})"

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_record(self) -> str:
        """The TXT record to publish at `record_name`."""
        return f"v=DKIM1; k=rsa; p={public_key_b64(self._key)}"

    def sign(self, data: bytes) -> bytes:
        """`data` with a DKIM-Signature header in front (CRLF line endings, as the mailers send)."""
        d = dkim.DKIM(data, linesep=b"\r\n")
        present = {name.lower() for name, _ in d.headers}
        headers = [self._wanted[h] for h in self._wanted if h in present]
        signature: bytes = d.sign(self._selector_b, self._domain_b, self._key,
                                  canonicalize=(b"relaxed", b"relaxed"), include_headers=headers, length=False)
        return signature + data


def published_key(txt: str) -> str | None:
    """The p= of a DKIM TXT record, whitespace removed; None when the record has none."""
    tags = {k.strip(): v for k, _, v in (part.partition("=") for part in txt.split(";")) if _}
    p = tags.get("p")
    return re.sub(r"\s+", "", p) if p is not None else None



def signer_for(settings: Settings) -> Signer | None:
    """The signer the settings ask for, or None when DKIM is not configured."""
    if settings.dkim_private_key is None or settings.dkim_selector is None or settings.dkim_domain is None:
        return None
    return Signer(settings.dkim_private_key, settings.dkim_selector, settings.dkim_domain)
