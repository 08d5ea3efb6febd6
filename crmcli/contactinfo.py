"""E-mail addresses and phone numbers: validation and normal forms.

E-mails are checked with email-validator and stored lowercase. Phones go to
E.164 through Google's libphonenumber when a region is known (settings
default_region, or a +country prefix); otherwise they are kept as typed.
"""

from __future__ import annotations

import re

from crmcli.errors import CrmError


def normalize_email(text: str) -> str:
    """The stored form of an e-mail address (lowercase); CrmError when invalid."""
    from email_validator import EmailNotValidError, validate_email

    candidate = text.strip()
    try:
        info = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as e:
        raise CrmError(f"'{text}' is not a valid e-mail address: {e}") from None
    return info.normalized.lower()


def normalize_phone(text: str, region: str | None = None, *, strict: bool = True) -> str:
    """The stored form of a phone number: E.164 when it can be parsed.

    With `strict`, a number that cannot be a phone number is an error; without it
    (imports), the number is kept as written, tidied.
    """
    import phonenumbers

    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        from crmcli.errors import SettingsError

        raise SettingsError(f"crm.yaml: 'default_region' '{region}' is not a known region code")
    raw = " ".join(text.split())
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 3:
        if strict:
            raise CrmError(f"'{text}' is not a phone number")
        return raw
    candidate = raw
    if raw.startswith("00"):
        candidate = "+" + raw[2:]
    try:
        num = phonenumbers.parse(candidate, region if not candidate.startswith("+") else None)
    except phonenumbers.NumberParseException:
        if strict and (candidate.startswith("+") or region):
            raise CrmError(f"'{text}' is not a valid phone number") from None
        return raw
    if phonenumbers.is_possible_number(num):
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if strict:
        raise CrmError(f"'{text}' is not a valid phone number")
    return raw


def phone_key(text: str) -> str:
    """A key for duplicate checks: the digits only (E.164 without the +)."""
    return re.sub(r"\D", "", text)
