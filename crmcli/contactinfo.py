"""E-mail addresses and phone numbers: validation and normal forms.

E-mails are checked with email-validator and stored lowercase. Phones go to
E.164 through Google's libphonenumber when their country is known (a +country
prefix, or settings default_region for a number valid there); otherwise they are
kept as typed, with a note. Tables show them grouped (display_phone).
"""

from __future__ import annotations

import functools
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


def parse_phone(
    text: str, region: str | None = None, *, strict: bool = True
) -> tuple[str, str | None]:
    """(stored form, note) of a phone number: E.164 when it can be parsed.

    A number with +country (or 00) is parsed as written. One without goes to
    `region` (settings default_region) only when it is a valid number there; else
    it is kept as written and the note says so, naming the regions where it would
    be valid: a number never changes country silently. With `strict`, a number that
    cannot be a phone number is an error; without it (imports), it is kept as written.
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
        return raw, None
    candidate = "+" + raw[2:] if raw.startswith("00") else raw
    international = candidate.startswith("+")
    try:
        num = phonenumbers.parse(candidate, None if international else region)
    except phonenumbers.NumberParseException:
        if strict and (international or region):
            raise CrmError(f"'{text}' is not a valid phone number") from None
        return raw, None
    if international and phonenumbers.is_possible_number(num):
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), None
    if not international and phonenumbers.is_valid_number(num):
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), None
    elsewhere = [] if international else valid_regions(raw)
    if strict and not elsewhere and not phonenumbers.is_possible_number(num):
        raise CrmError(f"'{text}' is not a valid phone number")
    if international:
        return raw, None
    where = f"; valid in {', '.join(elsewhere)}" if elsewhere else ""
    return raw, (
        f"phone '{raw}' kept as written: not a valid number in {region}{where} "
        "(write it with +country to store it in E.164)"
    )


def normalize_phone(text: str, region: str | None = None, *, strict: bool = True) -> str:
    """The stored form of a phone number (parse_phone without its note)."""
    return parse_phone(text, region, strict=strict)[0]


# Where a number written without +country may belong: the regions most cards come
# from (trying every region costs 60 ms a number and names dozens of islands).
LIKELY_REGIONS = ("CN", "DE", "US", "JP", "KR", "GB", "FR", "IT", "ES", "NL", "IN", "BR",
                  "RU", "TW", "HK", "SG", "AU", "CH", "AT", "PL", "SE", "TR", "MX")  # fmt: skip


@functools.lru_cache(maxsize=1024)
def valid_regions(raw: str) -> list[str]:
    """The LIKELY_REGIONS in which the national number `raw` is valid."""
    import phonenumbers

    out = []
    for r in LIKELY_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(raw, r)):
                out.append(r)
        except phonenumbers.NumberParseException:
            continue
    return sorted(out)


def display_phone(stored: str, region: str | None = None) -> str:
    """A stored phone grouped for reading in a table: national format for a number of
    `region` (settings default_region), international otherwise; a number kept as
    written is shown as written. Files and JSON keep E.164."""
    if not stored.startswith("+"):
        return stored
    import phonenumbers

    try:
        num = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    if region and phonenumbers.region_code_for_number(num) == region:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_keys(query: str, region: str | None = None) -> list[str]:
    """The digit keys (phone_key) a search for `query` looks for among phones: its
    digits as typed and, when it reads as a phone number (`0171 2345678`), the
    digits of its E.164 form. Empty when it holds fewer than 3 digits."""
    keys = [phone_key(query)]
    if len(keys[0]) < 3:
        return []
    if not _PHONE_LIKE.fullmatch(query.strip()):
        return keys
    e164 = normalize_phone(query, region, strict=False)
    if e164.startswith("+") and phone_key(e164) not in keys:
        keys.append(phone_key(e164))
    return keys


_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")


def phone_key(text: str) -> str:
    """A key for duplicate checks: the digits only (E.164 without the +)."""
    return re.sub(r"\D", "", text)
