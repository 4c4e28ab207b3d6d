"""Email addresses as a subscriber types them → the one form stored and sent, or a clear refusal.

Pure (email_validator's syntax rules, no DNS): the sign-up form and `feedsvc subscribers`
share it, so an address is accepted or refused alike wherever it comes in (issue 14.2).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

# RFC 5321 §4.5.3.1.1: servers may refuse a longer local part. email_validator checks it only
# in its strict mode, which refuses much else besides.
MAX_LOCAL_PART = 64


class AddressError(ValueError):
    """The address cannot be subscribed; the message says why, in words for the form."""


def checked_address(raw: str) -> str:
    """The address as stored and sent: lower case, ASCII, its domain IDNA-encoded (bücher.example →
    xn--bcher-kva.example); AddressError saying what is wrong otherwise.

    A local part outside ASCII is refused: delivering to it needs SMTPUTF8 (RFC 6531) of every
    server on the way, and the mailer refuses such a recipient rather than send it mangled.
    """
    text = raw.strip()
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        local = text.rpartition("@")[0]
        if local and not local.isascii():
            odd = "".join(sorted({c for c in local if not c.isascii()}))
            raise AddressError(
                f"The part before the @ has characters outside plain ASCII ({odd}): we cannot yet send "
                "to such an address. Please use another address.") from None
        raise AddressError(str(exc)) from None
    local = valid.local_part
    if len(local) > MAX_LOCAL_PART:
        raise AddressError(f"The part before the @ has {len(local)} characters: at most {MAX_LOCAL_PART} "
                           "are allowed.")
    if valid.ascii_email is None:  # allow_smtputf8=False makes it always set; said for the type checker
        raise AddressError("This address cannot be written in ASCII.")
    return valid.ascii_email.lower()
