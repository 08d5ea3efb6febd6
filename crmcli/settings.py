"""crm.yaml: the settings of one CRM, with defaults and validation.

A missing key takes its default; a malformed one is an error naming the key.
"""

from __future__ import annotations

import copy
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmcli.errors import SettingsError

SETTINGS_FILE = "crm.yaml"
DEFAULT_MAX_RECORD_BYTES = 1_000_000  # a record file bigger than this is refused by name

DEFAULT_PIPELINE = [
    {"stage": "new", "probability": 10},
    {"stage": "qualified", "probability": 25},
    {"stage": "proposal", "probability": 50},
    {"stage": "negotiation", "probability": 75},
]

DEFAULTS: dict[str, Any] = {
    "name": "My CRM",
    "currency": "USD",
    "timezone": None,
    "date_order": None,
    "default_region": None,
    "user": None,
    "owners": [],
    "approvers": [],
    "sources": ["website", "referral", "trade-show", "email", "phone", "event"],
    "pipeline": DEFAULT_PIPELINE,
    "products": [],
    "max_discount": 15,
    "big_deal": 100000,
    "stall_days": 14,
    "commit_probability": 70,
    "git": {"autocommit": False},
    "max_record_bytes": DEFAULT_MAX_RECORD_BYTES,
    "company": None,
    "taxes": {},
    "targets": {},
    "activity_kinds": [],
    "mail": {},
}

# settings `mail` (crm mail import/log; `imap` is crm mail fetch's): each key's default
MAIL_DEFAULTS: dict[str, Any] = {
    "me": [],  # the addresses of the CRM's users: mail from them is `out`
    "internal_domains": [],  # mail only among these (and `me`) is never logged
    "awaiting_days": 3,  # our last message in a thread unanswered this long: awaiting reply
    "keep_body": False,  # keep the whole body on each entry (crm mail import --body)
}
MAIL_KEYS = (*MAIL_DEFAULTS, "imap")

# The keys of settings `company` (the seller on quotes and orders); name is required.
COMPANY_KEYS = (
    "name", "address", "country", "tax_id", "bank", "email", "phone", "logo", "terms", "footer",
)  # fmt: skip
# How the prices of products and lines are meant: before tax (net) or with it (gross).
PRICE_BASES = ("net", "gross")


# The keys of settings `mail.imap` (crm mail fetch); host is required. The password is
# never one of them: it comes from an environment variable, a command or ~/.netrc.
IMAP_KEYS = ("host", "port", "tls", "user", "folder", "password_env", "password_command", "ca_file")
IMAP_TLS = ("ssl", "starttls", "none")
IMAP_SECRET_KEYS = ("password", "pass", "secret")

# The number settings and their largest sane value (percents; days; an amount).
NUMBER_RANGES = {
    "max_discount": 100,
    "big_deal": 10**30,
    "stall_days": 36500,
    "commit_probability": 100,
}


def _is_number(v: Any) -> bool:
    """A finite number (YAML's .nan and .inf are not: no sum or comparison holds)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return False
    return v.is_finite() if isinstance(v, Decimal) else math.isfinite(v)


def _check_list_of_str(key: str, v: Any) -> None:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise SettingsError(f"{SETTINGS_FILE}: '{key}' must be a list of names")


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Merge `data` over the defaults and check every contract key's type."""
    s = copy.deepcopy(DEFAULTS)
    s.update({k: v for k, v in data.items() if v is not None or k in ("timezone", "user")})
    for key in ("name", "currency"):
        if not isinstance(s[key], str) or not s[key].strip():
            raise SettingsError(f"{SETTINGS_FILE}: '{key}' must be a non-empty text")
    for key in ("timezone", "default_region", "user"):
        if s[key] is not None and not isinstance(s[key], str):
            raise SettingsError(f"{SETTINGS_FILE}: '{key}' must be a text or null")
    _check_zone_and_region(s)
    for key in ("owners", "approvers", "sources"):
        _check_list_of_str(key, s[key])
    for key, most in NUMBER_RANGES.items():
        if not _is_number(s[key]) or s[key] < 0:
            raise SettingsError(f"{SETTINGS_FILE}: '{key}' must be a number of at least 0")
        if s[key] > most:
            raise SettingsError(f"{SETTINGS_FILE}: '{key}' must be a number of at most {most}")
    limit = s["max_record_bytes"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise SettingsError(
            f"{SETTINGS_FILE}: 'max_record_bytes' must be a whole number of at least 1"
        )
    pipeline = s["pipeline"]
    if not isinstance(pipeline, list) or not pipeline:
        raise SettingsError(f"{SETTINGS_FILE}: 'pipeline' must be a list of stages")
    seen = set()
    for i, st in enumerate(pipeline):
        if (
            not isinstance(st, dict)
            or not isinstance(st.get("stage"), str)
            or not _is_number(st.get("probability", 0))
            or not 0 <= st.get("probability", 0) <= 100
        ):
            raise SettingsError(
                f"{SETTINGS_FILE}: 'pipeline' item {i + 1} must be "
                "{stage: NAME, probability: 0-100}"
            )
        if st["stage"] in ("won", "lost") or st["stage"] in seen:
            raise SettingsError(
                f"{SETTINGS_FILE}: 'pipeline' stage '{st['stage']}' is reserved or repeated"
            )
        seen.add(st["stage"])
    _check_products(s["products"])
    _check_activity_kinds(s["activity_kinds"])
    _check_company(s["company"])
    _check_taxes(s["taxes"], s["products"] if "products" in data else None)
    _check_targets(s["targets"])
    _check_mail(s["mail"])
    git = s["git"]
    if not isinstance(git, dict):
        raise SettingsError(f"{SETTINGS_FILE}: 'git' must be a mapping like {{autocommit: false}}")
    if not isinstance(git.get("autocommit", False), bool):
        raise SettingsError(f"{SETTINGS_FILE}: 'git.autocommit' must be true or false")
    return s


def _check_zone_and_region(s: dict[str, Any]) -> None:
    from crmcli.dates import DATE_ORDERS, get_tz
    from crmcli.errors import DateError

    if s["timezone"] is not None:
        if not s["timezone"].strip():
            raise SettingsError(
                f"{SETTINGS_FILE}: 'timezone' must be an IANA zone like Asia/Shanghai, "
                "or null for the machine's zone"
            )
        try:
            get_tz(s["timezone"])
        except DateError as e:
            raise SettingsError(f"{SETTINGS_FILE}: 'timezone' {e.message}") from None
    if s["default_region"] is not None:
        s["default_region"] = s["default_region"].strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", s["default_region"]):
            raise SettingsError(
                f"{SETTINGS_FILE}: 'default_region' must be a two-letter region code "
                "(e.g. CN, US, DE) or null"
            )
    if s["date_order"] is not None and s["date_order"] not in DATE_ORDERS:
        raise SettingsError(
            f"{SETTINGS_FILE}: 'date_order' must be one of {', '.join(DATE_ORDERS)} or null"
        )


def _check_products(products: Any) -> None:
    if not isinstance(products, list):
        raise SettingsError(f"{SETTINGS_FILE}: 'products' must be a list")
    skus = set()
    for i, p in enumerate(products):
        where = f"{SETTINGS_FILE}: 'products' item {i + 1}"
        if not isinstance(p, dict) or not isinstance(p.get("sku"), str) or not p["sku"].strip():
            raise SettingsError(f"{where} needs a 'sku'")
        if p["sku"] in skus:
            raise SettingsError(f"{where}: sku '{p['sku']}' is listed twice")
        skus.add(p["sku"])
        for k in ("price", "floor"):
            if p.get(k) is not None and (not _is_number(p[k]) or p[k] < 0):
                raise SettingsError(f"{where}: '{k}' must be a number of at least 0")
        if p.get("price") is not None and p.get("floor") is not None and p["floor"] > p["price"]:
            raise SettingsError(f"{where}: 'floor' {p['floor']} is above the price {p['price']}")


ACTIVITY_KIND = re.compile(r"[a-z][a-z0-9-]{0,31}")


def _check_activity_kinds(kinds: Any) -> None:
    """activity_kinds: more kinds for `crm log` than call, meeting, email, chat and
    visit; each a short lower-case word, none a kind crm writes itself (note, stage ...)."""
    from crmcli.models import ENTRY_KINDS

    _check_list_of_str("activity_kinds", kinds)
    for kind in kinds:
        if not ACTIVITY_KIND.fullmatch(kind):
            raise SettingsError(
                f"{SETTINGS_FILE}: 'activity_kinds' item '{kind}' must be a lower-case word "
                "of letters, digits and '-' (at most 32), e.g. demo"
            )
        if kind in ENTRY_KINDS:
            raise SettingsError(
                f"{SETTINGS_FILE}: 'activity_kinds' item '{kind}' is a kind crm writes itself "
                f"({', '.join(ENTRY_KINDS)})"
            )


def _check_company(company: Any) -> None:
    if company is None:
        return
    if not isinstance(company, dict):
        raise SettingsError(
            f"{SETTINGS_FILE}: 'company' must be a mapping like {{name: OurCo GmbH, tax_id: ...}}"
        )
    for key, value in company.items():
        if key not in COMPANY_KEYS:
            raise SettingsError(
                f"{SETTINGS_FILE}: 'company.{key}' is not a company key "
                f"(keys: {', '.join(COMPANY_KEYS)})"
            )
        if value is not None and not isinstance(value, str):
            raise SettingsError(f"{SETTINGS_FILE}: 'company.{key}' must be a text")
    if not isinstance(company.get("name"), str) or not company["name"].strip():
        raise SettingsError(f"{SETTINGS_FILE}: 'company.name' must be a non-empty text")
    country = company.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise SettingsError(
            f"{SETTINGS_FILE}: 'company.country' must be a two-letter country code like DE"
        )


def _check_taxes(taxes: Any, products: list[dict[str, Any]] | None) -> None:
    """taxes: {default: PERCENT, prices: net|gross, SKU: PERCENT, ...}; each SKU must
    be one of `products` (None: not known, as doctor checks one key at a time)."""
    if not isinstance(taxes, dict):
        raise SettingsError(
            f"{SETTINGS_FILE}: 'taxes' must be a mapping like {{default: 19, PUMP-100: 7}}"
        )
    skus = [str(p["sku"]) for p in products or []]
    for key, value in taxes.items():
        if key == "prices":
            if value not in PRICE_BASES:
                raise SettingsError(f"{SETTINGS_FILE}: 'taxes.prices' must be net or gross")
            continue
        if key != "default" and products is not None and key not in skus:
            raise SettingsError(
                f"{SETTINGS_FILE}: 'taxes.{key}' names no product "
                f"(keys: default, prices, or a sku of 'products': {', '.join(skus) or 'none'})"
            )
        if not _is_number(value) or not 0 <= value <= 100:
            raise SettingsError(f"{SETTINGS_FILE}: 'taxes.{key}' must be a percent from 0 to 100")


def _check_mail(mail: Any) -> None:
    """mail: {me: [ADDRESS...], internal_domains: [DOMAIN...], awaiting_days: N,
    keep_body: BOOL, imap: {...}}."""
    if not isinstance(mail, dict):
        raise SettingsError(
            f"{SETTINGS_FILE}: 'mail' must be a mapping like "
            "{me: [alice@ourco.example], internal_domains: [ourco.example]}"
        )
    for key, value in mail.items():
        if key not in MAIL_KEYS:
            raise SettingsError(
                f"{SETTINGS_FILE}: 'mail.{key}' is not a mail key (keys: {', '.join(MAIL_KEYS)})"
            )
        if value is None:
            continue
        if key in ("me", "internal_domains"):
            what = "e-mail addresses" if key == "me" else "domains like ourco.example"
            if not isinstance(value, list) or not all(
                isinstance(x, str) and x.strip() and (key != "me" or "@" in x) for x in value
            ):
                raise SettingsError(f"{SETTINGS_FILE}: 'mail.{key}' must be a list of {what}")
        elif key == "awaiting_days":
            if not _is_number(value) or not 0 <= value <= 36500:
                raise SettingsError(
                    f"{SETTINGS_FILE}: 'mail.awaiting_days' must be a number of days from 0 to 36500"
                )
        elif key == "keep_body" and not isinstance(value, bool):
            raise SettingsError(f"{SETTINGS_FILE}: 'mail.keep_body' must be true or false")
    for key, default in MAIL_DEFAULTS.items():
        if mail.get(key) is None:
            mail[key] = default
    _check_imap(mail.get("imap"))


def _check_imap(imap: Any) -> None:
    """mail.imap: {host, port, tls, user, folder, password_env | password_command,
    ca_file}, or null; a password written in it is refused by name."""
    where = f"{SETTINGS_FILE}: 'mail.imap"
    if imap is None:
        return
    if not isinstance(imap, dict):
        raise SettingsError(f"{where}' must be a mapping like {{host: imap.example.com, user: me}}")
    for key, value in imap.items():
        if key in IMAP_SECRET_KEYS:
            raise SettingsError(
                f"{where}.{key}' is not allowed: the password never goes into crm.yaml "
                "(use password_env, password_command or ~/.netrc)"
            )
        if key not in IMAP_KEYS:
            raise SettingsError(f"{where}.{key}' is not an IMAP key (keys: {', '.join(IMAP_KEYS)})")
        if (
            key != "port"
            and value is not None
            and (not isinstance(value, str) or not value.strip())
        ):
            raise SettingsError(f"{where}.{key}' must be a non-empty text")
    if not isinstance(imap.get("host"), str):
        raise SettingsError(f"{where}.host' must be set: the IMAP server's name")
    port = imap.get("port")
    if port is not None and (
        not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536
    ):
        raise SettingsError(f"{where}.port' must be a port number from 1 to 65535")
    if imap.get("tls") not in (None, *IMAP_TLS):
        raise SettingsError(f"{where}.tls' must be one of {', '.join(IMAP_TLS)}")
    env = imap.get("password_env")
    if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise SettingsError(f"{where}.password_env' must be the name of an environment variable")
    if env is not None and imap.get("password_command") is not None:
        raise SettingsError(f"{where}' takes password_env or password_command, not both")
    command = imap.get("password_command")
    if command is not None:
        import shlex

        try:
            shlex.split(command)
        except ValueError as e:
            raise SettingsError(f"{where}.password_command' cannot be read: {e}") from None


# A target period: a month (2026-12) or a quarter (2026-Q4).
PERIOD_RE = re.compile(r"^[0-9]{4}-(?:0[1-9]|1[0-2]|Q[1-4])$")


def _check_targets(targets: Any) -> None:
    """targets: {OWNER or team: {PERIOD: AMOUNT}}, amounts in settings currency."""
    if not isinstance(targets, dict):
        raise SettingsError(
            f"{SETTINGS_FILE}: 'targets' must be a mapping like {{team: {{2026-Q4: 900000}}}}"
        )
    for who, periods in targets.items():
        if not isinstance(periods, dict):
            raise SettingsError(
                f"{SETTINGS_FILE}: 'targets.{who}' must be a mapping of periods to amounts, "
                "like {2026-Q4: 300000, 2026-12: 100000}"
            )
        for period, amount in periods.items():
            if not isinstance(period, str) or not PERIOD_RE.match(period):
                raise SettingsError(
                    f"{SETTINGS_FILE}: 'targets.{who}.{period}' is not a period: "
                    "write a month (2026-12) or a quarter (2026-Q4)"
                )
            if not _is_number(amount) or amount < 0 or amount > NUMBER_RANGES["big_deal"]:
                raise SettingsError(
                    f"{SETTINGS_FILE}: 'targets.{who}.{period}' must be an amount from 0 to "
                    f"{NUMBER_RANGES['big_deal']}"
                )


def load(root: Path) -> dict[str, Any]:
    """Read and validate `root`/crm.yaml."""
    path = root / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(f"{path}: cannot read: {e.strerror}") from e
    return parse(text, str(path))


def parse(text: str, path: str) -> dict[str, Any]:
    """Validated settings from the text of crm.yaml (`path` names it in errors)."""
    from crmcli import yamlio

    try:
        data = yamlio.loads(text)
    except yamlio.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML: {yamlio.describe(e)}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: must be a mapping of settings")
    return validate(data)


def detect_timezone() -> str | None:
    """The machine's IANA zone name when it can be told, else None (local offset)."""
    import os

    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz:
        return tz
    try:
        text = Path("/etc/timezone").read_text().strip()
        if text:
            return text
    except OSError:
        pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return None


def init_text(name: str, timezone: str | None, currency: str = "USD") -> str:
    """The commented crm.yaml that `crm init` writes."""
    import json

    tz = timezone if timezone else "null"
    return f"""\
# Settings of this CRM. Edit by hand; a missing key takes its default.
name: {json.dumps(name, ensure_ascii=False)}
currency: {currency}            # default currency for amounts
timezone: {tz}   # IANA zone; null: the machine's local zone
date_order: null         # how 03/04/2026 is read: DMY, MDY or YMD; null: refused as ambiguous
default_region: null     # for phone numbers written without +country, e.g. CN, US, DE
user: null               # the acting user (else env CRM_USER, git user.name, login)
owners: []               # the salespeople, e.g. [alice, bob]
approvers: []            # who may approve deals below the price floor
sources: [website, referral, trade-show, email, phone, event]
pipeline:                # open stages in order; won and lost are implied
  - {{stage: new, probability: 10}}
  - {{stage: qualified, probability: 25}}
  - {{stage: proposal, probability: 50}}
  - {{stage: negotiation, probability: 75}}
products: []             # e.g. - {{sku: PUMP-100, name: Pump, price: 1200.00, floor: 1000.00}}
max_discount: 15         # percent below list price allowed without approval
big_deal: 100000         # deals at or above this amount are flagged
stall_days: 14           # no change for this long: a stalled deal
commit_probability: 70   # forecast: stages at or above this count as commit
activity_kinds: []       # crm log kinds beside call, meeting, email, chat, visit, e.g. [demo]
git: {{autocommit: false}}
# The seller on quotes and orders (crm deal quote, crm deal order); name is required:
# company:
#   name: OurCo GmbH
#   address: "Hauptstr. 1, 10115 Berlin"
#   country: DE            # two-letter code (Order-X needs it with an address)
#   tax_id: DE123456789
#   bank: "IBAN DE02 1203 0000 0000 2020 51, BIC BYLADEM1001"
#   email: sales@ourco.example
#   phone: "+49 30 1234567"
#   logo: logo.png         # an image file, relative to this folder
#   terms: "Payment 30 days net. Delivery ex works."
#   footer: "OurCo GmbH, Amtsgericht Berlin HRB 12345"
# Tax rates in percent: a default and per product sku; prices net (before tax) or gross:
# taxes: {{default: 19, prices: net, PUMP-100: 7}}
# Sales targets in `currency`, per owner or for the whole team, per month (YYYY-MM) or
# quarter (YYYY-Qn); crm report owners and forecast show attainment against them:
# targets: {{alice: {{2026-Q4: 300000}}, team: {{2026-Q4: 900000, 2026-12: 350000}}}}
# E-mail on the timeline (crm mail import, crm mail log):
mail:
  me: []                 # your own addresses, e.g. [alice@ourco.example]: mail from them is `out`
  internal_domains: []   # e.g. [ourco.example]: mail only among these is never logged
  awaiting_days: 3       # our message unanswered this many days: "awaiting reply"
  keep_body: false       # keep each message's whole text, not only a snippet (--body)
  # crm mail fetch reads one IMAP folder (and never marks mail as read). The password
  # is never written here: password_env, password_command, or ~/.netrc for the host.
  # imap:
  #   host: imap.example.com
  #   port: 993               # default: 993 with tls ssl, else 143
  #   tls: ssl                # ssl, starttls or none
  #   user: alice@ourco.example
  #   folder: INBOX
  #   password_env: CRM_IMAP_PASSWORD      # or: password_command: "pass show mail"
  #   ca_file: null           # a CA certificate file, for a server with its own certificate
"""
