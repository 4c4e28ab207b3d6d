"""Email addresses as a subscriber types them → the one form stored and sent, or a clear refusal.

Pure (email_validator's syntax rules, no DNS): the sign-up form and `feedsvc subscribers`
share it, so an address is accepted or refused alike wherever it comes in (issue 14.2).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

# RFC 5321 §4.5.3.1.1: servers may refuse a longer local part. email_validator checks it only
# in its strict mode, which refuses much else besides.
MAX_LOCAL_PART = 64


def N_(message: str) -> str:
    """Marks a message for the catalogues (`pybabel extract` finds N_): the form shows it translated."""
    return message


class AddressError(ValueError):
    """The address cannot be subscribed: `message` (English, and the catalogues' msgid) with `params` says why.

    str() is the English sentence (the CLI's); the form translates `message` and fills in `params`.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


# email_validator's reasons are English sentences of its own (some with the offending characters
# or a Python exception's text), which no catalogue holds: each is told as one of these, by the
# words it contains (first match wins), so the form can say it in the reader's language.
_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("must have an @-sign", "at-sign (@) character instead"), N_("An email address must have one @ sign.")),
    (("something before the @-sign",), N_("There must be something before the @ sign.")),
    (("too long before the @-sign",), N_("The part before the @ sign is too long.")),
    (("too long after the @-sign", "label too long", "periods cannot be separated"),
     N_("The part after the @ sign is too long.")),
    (("too long",), N_("The address is too long.")),
    (("idna",), N_("The part after the @ sign is not valid IDNA (an international domain name).")),
    (("bracketed ip address", "in brackets"), N_("A bracketed IP address after the @ sign is not allowed here.")),
    (("quoting", "display name", "angle bracket"),
     N_("Write the address alone, without quotes, a name or angle brackets.")),
    (("should have a period", "top-level domain", "special-use or reserved", "after the @-sign is not valid",
      "after the @-sign is invalid"), N_("The part after the @ sign is not a valid domain name.")),
    (("invalid characters before the @-sign", "invalid characters in quotes before"),
     N_("The part before the @ sign contains invalid characters.")),
    (("after the @-sign contains invalid characters",), N_("The part after the @ sign contains invalid characters.")),
    (("invalid character", "unsafe character", "not valid ascii"), N_("The address contains invalid characters.")),
    (("period", "hyphen", "dashes"),
     N_("Periods and hyphens cannot start or end the address, touch the @ sign or follow each other.")),
)
_NOT_VALID = N_("This is not a valid email address.")


def _reason(validator_message: str) -> str:
    said = validator_message.lower()
    return next((ours for words, ours in _REASONS if any(w in said for w in words)), _NOT_VALID)


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
            raise AddressError(N_(
                "The part before the @ has characters outside plain ASCII (%(characters)s): we cannot yet "
                "send to such an address. Please use another address."), characters=odd) from None
        raise AddressError(_reason(str(exc))) from None
    local = valid.local_part
    if len(local) > MAX_LOCAL_PART:
        raise AddressError(N_("The part before the @ has %(length)d characters: at most %(limit)d are allowed."),
                           length=len(local), limit=MAX_LOCAL_PART)
    if valid.ascii_email is None:  # allow_smtputf8=False makes it always set; said for the type checker
        raise AddressError(N_("This address cannot be written in ASCII."))
    return valid.ascii_email.lower()
