"""Deals: the pipeline, money, product lines, price-floor approvals and stage
transitions, as plain functions on the store (no Typer, no rich).

Helpers other modules use (reports, tasks):
  pipeline(settings)                 [(stage, probability %)] in order, open stages only
  stage_names(settings)              the open stage names in order
  stage_probability(settings, stage) Decimal percent; won 100, lost 0, unknown stage None
  stage_order(settings, stage)       sort key: pipeline index, unknown stages after, then won, lost
  stage_removed(settings, deal)      an open deal whose stage is no longer in the pipeline
  is_open(deal), is_big(settings, deal), is_snoozed(deal, today), flags(settings, deal, today)

The model of a deal's life:
  - `stage` is an open stage of the pipeline while the deal is open, and `won` or
    `lost` once it is closed (so `stage` always equals the last `stage_history` entry);
    `status` says open|won|lost.
  - `stage_history` entries are {stage, at, by}; the first is written at creation.
  - `amount` is the sum of the lines when there are lines, unless an explicit amount
    was given (a deal discount); money is Decimal end to end, never a float.
  - `needs_approval` is recomputed whenever the lines, amount or currency change; an
    approval ({by, at, note} in `approvals`) clears it until the terms change again.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from crmcli import models, refs
from crmcli.changes import ChangeSet, apply, unchanged
from crmcli.errors import CrmError
from crmcli.formats import money_text
from crmcli.models import Record
from crmcli.store import Store, fold

CLOSED = ("won", "lost")
STATUS_FILTERS = (*models.DEAL_STATUSES, "all")
_MONEY_RE = re.compile(r"^\+?(\d+(\.\d*)?|\.\d+)$")
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")

# ----- the pipeline -------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    """A settings number as an exact Decimal (ints and Decimals as they are)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return Decimal(str(value))


def pipeline(settings: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """The open stages in order, each with its win probability (a percent)."""
    return [
        (str(st["stage"]), _decimal(st.get("probability", 0)))
        for st in settings.get("pipeline") or []
    ]


def stage_names(settings: dict[str, Any]) -> list[str]:
    """The open stage names, in pipeline order."""
    return [name for name, _ in pipeline(settings)]


def stage_probability(settings: dict[str, Any], stage: str | None) -> Decimal | None:
    """The win probability (percent) of `stage`: won 100, lost 0, a stage no longer in
    the pipeline None."""
    if stage == "won":
        return Decimal(100)
    if stage == "lost":
        return Decimal(0)
    return dict(pipeline(settings)).get(str(stage))


def stage_order(settings: dict[str, Any], stage: str | None) -> int:
    """A sort key: pipeline position; unknown stages after the open ones; then won, lost."""
    names = stage_names(settings)
    if stage in names:
        return names.index(stage)
    if stage == "won":
        return len(names) + 1
    if stage == "lost":
        return len(names) + 2
    return len(names)


def is_open(deal: Record) -> bool:
    return deal.get("status", "open") == "open"


def stage_removed(settings: dict[str, Any], deal: Record) -> bool:
    """Is this an open deal sitting in a stage that is no longer in the pipeline?"""
    return is_open(deal) and deal.get("stage") not in stage_names(settings)


def is_big(settings: dict[str, Any], deal: Record) -> bool:
    """Amount at or above settings big_deal (the number only: one currency assumed)."""
    amount = deal.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        return False
    return amount >= _decimal(settings.get("big_deal", 100000))


def is_snoozed(deal: Record, today: date) -> bool:
    """Snoozed: `snoozed_until` is a day after `today` (the deal is back on that day)."""
    until = deal.get("snoozed_until")
    if not isinstance(until, str):
        return False
    try:
        return date.fromisoformat(until.strip()[:10]) > today
    except ValueError:
        return False


def flags(settings: dict[str, Any], deal: Record, today: date | None = None) -> list[str]:
    """The flags list and show print: needs-approval, big, stage-removed, snoozed."""
    out = []
    if deal.get("needs_approval"):
        out.append("needs-approval")
    if is_big(settings, deal):
        out.append("big")
    if stage_removed(settings, deal):
        out.append("stage-removed")
    if today is not None and is_open(deal) and is_snoozed(deal, today):
        out.append("snoozed")
    return out


def check_stage(settings: dict[str, Any], stage: str) -> str:
    """`stage` if it is an open stage of the pipeline; else an error listing them."""
    names = stage_names(settings)
    if stage in names:
        return stage
    if stage in CLOSED:
        cmd = "won REF" if stage == "won" else "lost REF --reason TEXT"
        raise CrmError(f"'{stage}' is not an open stage; close a deal with: crm deal {cmd}")
    raise CrmError(f"no stage '{stage}' in the pipeline (stages: {', '.join(names)})")


def stage_counts(settings: dict[str, Any], deals: list[Record]) -> list[dict[str, Any]]:
    """Each stage with its probability and number of deals: the open stages in order,
    stages no longer in the pipeline that still hold open deals, then won and lost."""
    count: dict[str, int] = {}
    for d in deals:
        key = d["status"] if d["status"] in CLOSED else d.get("stage")
        count[key] = count.get(key, 0) + 1
    rows = [
        {"stage": name, "probability": p, "deals": count.get(name, 0), "kind": "open"}
        for name, p in pipeline(settings)
    ]
    names = set(stage_names(settings))
    for name in sorted(k for k in count if k not in names and k not in CLOSED):
        rows.append({"stage": name, "probability": None, "deals": count[name], "kind": "removed"})
    for name in CLOSED:
        rows.append(
            {
                "stage": name,
                "probability": stage_probability(settings, name),
                "deals": count.get(name, 0),
                "kind": "closed",
            }
        )
    return rows


# ----- money ------------------------------------------------------------------------------


def parse_money(text: Any, what: str = "amount") -> Decimal:
    """An exact, finite, non-negative Decimal from text like `1200.50`.

    Floats are refused (they are already rounded); so are NaN, infinities, negative
    numbers, exponents and thousands separators (1,200 could be 1.2 in Germany).
    """
    if isinstance(text, Decimal):
        if not text.is_finite() or text < 0:
            raise CrmError(f"{what} '{text}' must be a number of at least 0")
        return text
    if isinstance(text, (bool, float)):
        raise CrmError(f"{what} must be given as exact text or Decimal, not a float")
    if isinstance(text, int):
        if text < 0:
            raise CrmError(f"{what} '{text}' must be a number of at least 0")
        return Decimal(text)
    raw = str(text).strip()
    if not _MONEY_RE.match(raw):
        raise CrmError(f"{what} '{text}' is not a number like 1200 or 1200.50")
    try:
        value = Decimal(raw.lstrip("+"))
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise CrmError(f"{what} '{text}' is not a number") from None
    if value and abs(value.adjusted()) > models.MONEY_DIGITS:
        raise CrmError(f"{what} '{text}' is out of range")
    return value


def parse_qty(text: Any) -> Decimal:
    qty = parse_money(text, "quantity")
    if qty == 0:
        raise CrmError("quantity must be more than 0")
    return qty


def parse_currency(text: str) -> str:
    """A currency code: three letters, stored upper case (CNY, EUR, USD)."""
    code = (text or "").strip()
    if not _CURRENCY_RE.match(code):
        raise CrmError(f"currency '{text}' must be a three-letter code like CNY, EUR or USD")
    return code.upper()


def totals(deals: list[Record], settings: dict[str, Any]) -> tuple[dict[str, Decimal], int]:
    """The amounts summed per currency (sorted by currency; never across currencies),
    and how many deals have no amount."""
    out: dict[str, Decimal] = {}
    missing = 0
    for d in deals:
        amount = d.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
            missing += 1
            continue
        cur = d.get("currency") or settings["currency"]
        out[cur] = out.get(cur, Decimal(0)) + Decimal(amount)
    return {c: out[c] for c in sorted(out)}, missing


# ----- products and lines -------------------------------------------------------------------


def products(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The products of crm.yaml by sku."""
    return {str(p["sku"]): p for p in settings.get("products") or []}


def product_for(settings: dict[str, Any], sku: str) -> dict[str, Any]:
    """The product with this sku (case-insensitive); an unknown sku is an error that
    lists the skus. Lines must name a product: a free-text line would skip the floor."""
    catalogue = products(settings)
    if not catalogue:
        raise CrmError(
            f"no product '{sku}': crm.yaml lists no products; add them under 'products' "
            "(sku, name, price, floor) or give the deal an --amount instead of lines"
        )
    if sku in catalogue:
        return catalogue[sku]
    same = [p for s, p in catalogue.items() if s.lower() == sku.lower()]
    if len(same) == 1:
        return same[0]
    raise CrmError(f"no product with sku '{sku}' (skus: {', '.join(catalogue)})")


def make_line(
    settings: dict[str, Any],
    sku: str,
    qty: Any,
    unit_price: Any = None,
    currency: str | None = None,
) -> Record:
    """One deal line {sku, name, qty, unit_price, total, list_price, floor}; the list
    price and floor are copied from the product as they are today, so a later price
    change in crm.yaml does not change deals already made."""
    product = product_for(settings, sku.strip())
    currency = currency or settings["currency"]
    product_currency = str(product.get("currency") or settings["currency"]).upper()
    if product_currency != currency:
        raise CrmError(
            f"product {product['sku']} is priced in {product_currency}, the deal in {currency}; "
            f"use --currency {product_currency} or a separate deal"
        )
    list_price = None if product.get("price") is None else _decimal(product["price"])
    floor = None if product.get("floor") is None else _decimal(product["floor"])
    q = parse_qty(qty)
    if unit_price is None:
        if list_price is None:
            raise CrmError(
                f"product {product['sku']} has no price in crm.yaml; "
                f"give one: {product['sku']}:{qty}:UNIT_PRICE"
            )
        price = list_price
    else:
        price = parse_money(unit_price, f"unit price of {product['sku']}")
    return {
        "sku": str(product["sku"]),
        "name": product.get("name"),
        "qty": q,
        "unit_price": price,
        "total": q * price,
        "list_price": list_price,
        "floor": floor,
    }


def parse_line(settings: dict[str, Any], text: str, currency: str | None = None) -> Record:
    """A line from `PRODUCT:QTY[:UNIT_PRICE]` (PRODUCT is a sku from crm.yaml)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0].strip():
        raise CrmError(f"line '{text}' must look like SKU:QTY or SKU:QTY:UNIT_PRICE")
    return make_line(
        settings,
        parts[0],
        parts[1].strip(),
        parts[2].strip() if len(parts) == 3 else None,
        currency,
    )


def _line_number(line: Record, key: str, where: str) -> Decimal | None:
    value = line.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise CrmError(f"{where}: '{key}' must be a number, not {value!r}")
    try:
        return parse_money(value, key) if key != "qty" else parse_qty(value)
    except CrmError as e:
        raise CrmError(f"{where}: {e.message}") from None


def checked_lines(deal: Record) -> list[tuple[Record, Decimal, Decimal]]:
    """(line, qty, unit_price) for each line, naming a malformed one."""
    out = []
    for i, line in enumerate(deal.get("lines") or []):
        where = f"deals/{deal.get('id')}.yaml: lines item {i + 1}"
        qty = _line_number(line, "qty", where)
        price = _line_number(line, "unit_price", where)
        if qty is None or price is None:
            raise CrmError(f"{where}: needs 'qty' and 'unit_price'")
        out.append((line, qty, price))
    return out


def lines_total(deal: Record) -> Decimal:
    """The sum of qty x unit_price over the lines, exact."""
    return sum((q * p for _, q, p in checked_lines(deal)), Decimal(0))


def approval_reasons(settings: dict[str, Any], deal: Record) -> list[str]:
    """Why this deal needs a price approval (empty: it does not).

    Per line: a unit price below the product's floor, or more than settings
    max_discount percent below its list price. On the deal: an amount below the
    lines' total that is more than max_discount below their list prices, or below
    the sum of their floors.
    """
    max_discount = _decimal(settings.get("max_discount", 15))
    reasons = []
    list_sum = floor_sum = Decimal(0)
    checked = checked_lines(deal)
    for i, (line, qty, price) in enumerate(checked):
        where = f"deals/{deal.get('id')}.yaml: lines item {i + 1}"
        list_price = _line_number(line, "list_price", where)
        floor = _line_number(line, "floor", where)
        label = f"line {i + 1} ({line.get('sku')})"
        if floor is not None:
            floor_sum += qty * floor
            if price < floor:
                reasons.append(f"{label}: unit price {money_text(price)} is below the floor "
                               f"{money_text(floor)}")  # fmt: skip
        if list_price is not None:
            list_sum += qty * list_price
            if list_price > 0 and (list_price - price) * 100 > max_discount * list_price:
                off = ((list_price - price) * 100 / list_price).quantize(Decimal("0.1"))
                reasons.append(f"{label}: {off}% below the list price {money_text(list_price)} "
                               f"(max_discount {max_discount}%)")  # fmt: skip
    amount = deal.get("amount")
    if checked and isinstance(amount, (int, Decimal)) and not isinstance(amount, bool):
        amount = Decimal(amount)
        if amount < sum((q * p for _, q, p in checked), Decimal(0)):
            if list_sum > 0 and (list_sum - amount) * 100 > max_discount * list_sum:
                off = ((list_sum - amount) * 100 / list_sum).quantize(Decimal("0.1"))
                reasons.append(f"amount {money_text(amount)} is {off}% below the list prices "
                               f"{money_text(list_sum)} (max_discount {max_discount}%)")  # fmt: skip
            if amount < floor_sum:
                reasons.append(f"amount {money_text(amount)} is below the sum of the floors "
                               f"{money_text(floor_sum)}")  # fmt: skip
    return reasons


# ----- approvals ----------------------------------------------------------------------------


def approvers(settings: dict[str, Any]) -> list[str]:
    return list(settings.get("approvers") or [])


def approvers_hint(settings: dict[str, Any]) -> str:
    names = approvers(settings)
    if not names:
        return "no approvers are set: add them to crm.yaml, e.g. approvers: [alice]"
    return f"approvers: {', '.join(names)}"


def check_approver(settings: dict[str, Any], name: str) -> str:
    """`name` if settings approvers lists it; else an error naming who may approve."""
    names = approvers(settings)
    if not names:
        raise CrmError(
            "no one may approve deals yet: set approvers in crm.yaml, e.g. approvers: [alice]"
        )
    if name not in names:
        raise CrmError(f"{name} may not approve deals (approvers: {', '.join(names)})")
    return name


def _still_unapproved(settings: dict[str, Any], deal: Record) -> bool:
    """needs_approval, or a hand-edited deal whose terms need one and never had one."""
    if deal.get("needs_approval"):
        return True
    return bool(approval_reasons(settings, deal)) and not deal.get("approvals")


# ----- reading ------------------------------------------------------------------------------


def refuse_unapproved(settings: dict[str, Any], deal: Record, doing: str) -> None:
    """An error naming the reasons and the approvers while the deal needs a price
    approval (before it is won, before it is quoted)."""
    if _still_unapproved(settings, deal):
        reasons = approval_reasons(settings, deal) or ["needs_approval is set"]
        raise CrmError(
            f"deal {deal['id']} ({deal['title']}) needs a price approval before it is {doing} "
            f"({'; '.join(reasons)}); {approvers_hint(settings)}; "
            f"then: crm deal approve {deal['id']} --by NAME",
        )


def label(deal: Record) -> str:
    return f'"{deal["title"]}"'


def parse_day(store: Store, text: str, what: str = "date") -> str:
    """A WHEN (ISO, free form, relative) as a YYYY-MM-DD text."""
    if not text or not text.strip():
        raise CrmError(f"the {what} is empty")
    try:
        return store.ctx.parse_when(text).date().isoformat()
    except (ValueError, OverflowError):  # e.g. +99999y: beyond the calendar
        raise CrmError(f"the {what} '{text}' is out of range") from None


class DealFilter(NamedTuple):
    """What `deal list` keeps: open deals by default (`status` all for every one; a
    `stage` of won or lost implies that status); `customer` a customer id,
    `closing_before` a YYYY-MM-DD day, included."""

    stage: str | None = None
    status: str | None = None
    owner: str | None = None
    customer: str | None = None
    closing_before: str | None = None
    tag: str | None = None


def list_deals(store: Store, f: DealFilter) -> list[Record]:
    """The deals `deal list` shows, in pipeline order, then by close date and title."""
    settings = store.settings
    status = f.status or (f.stage if f.stage in CLOSED else "open")
    if status not in STATUS_FILTERS:
        raise CrmError(f"status '{status}' must be one of {', '.join(STATUS_FILTERS)}")
    where = {"status": None if status == "all" else status, "owner": f.owner,
             "customer": f.customer}  # fmt: skip
    deals = store.query("deal", where)  # narrowed by the index first
    stage = f.stage
    if (
        stage is not None
        and stage not in CLOSED
        and stage not in stage_names(settings)
        and not any(d.get("stage") == stage for d in store.query("deal", fields=("stage",)))
    ):
        raise CrmError(
            f"no stage '{stage}' in the pipeline (stages: {', '.join(stage_names(settings))})"
        )
    before = f.closing_before
    out = [
        d
        for d in deals
        if (stage is None or d.get("stage") == stage)
        and (f.tag is None or f.tag in d.get("tags", []))
        and (
            before is None
            or (isinstance(d.get("close_date"), str) and d["close_date"][:10] <= before)
        )
    ]
    out.sort(
        key=lambda d: (
            stage_order(settings, d["status"] if d["status"] in CLOSED else d.get("stage")),
            str(d.get("close_date") or "9999-99-99"),
            fold(d["title"]),
            d["id"],
        )
    )
    return out


def removed_stage_warning(settings: dict[str, Any], deals: list[Record]) -> str | None:
    """One warning naming the open deals in stages no longer in the pipeline."""
    stray = [d for d in deals if stage_removed(settings, d)]
    if not stray:
        return None
    stages = sorted({str(d.get("stage")) for d in stray})
    return (
        f"{len(stray)} open deal(s) in stage(s) no longer in the pipeline "
        f"({', '.join(stages)}): move them with crm deal move REF STAGE "
        f"(stages: {', '.join(stage_names(settings))})"
    )


# ----- writing ------------------------------------------------------------------------------


def _history(store: Store, stage: str) -> dict[str, str]:
    return {"stage": stage, "at": store.ctx.now_iso(), "by": store.ctx.user}


def _refuse_closed(deal: Record, doing: str) -> None:
    if not is_open(deal):
        raise CrmError(
            f"deal {deal['id']} ({deal['title']}) is {deal['status']}; "
            f"reopen it first to {doing}: crm deal reopen {deal['id']}"
        )


def _recompute_approval(settings: dict[str, Any], deal: Record) -> list[str]:
    reasons = approval_reasons(settings, deal)
    deal["needs_approval"] = bool(reasons)
    return reasons


def _check(store: Store, changes: ChangeSet) -> None:
    """Clean the title, customer (a REF), close date and owner a change set gives."""
    changes.clean_text("title", required="a deal needs a title")
    changes.clean_text("owner", required="the owner is empty")
    if changes.set.get("customer") is not None:
        changes.set["customer"] = refs.resolve(store, "customer", changes.set["customer"])["id"]
    if changes.set.get("close_date") is not None:
        changes.set["close_date"] = parse_day(store, changes.set["close_date"], "close date")


def add(store: Store, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Create a deal from a change set (title, customer REF; in the first stage unless
    `stage`; settings currency unless `currency`). Lines added are SKU:QTY[:PRICE]
    texts and make the amount unless an explicit `amount` is given. Returns the deal
    and the reasons it needs approval (empty when it does not)."""
    settings = store.settings
    changes.set.setdefault("title", "")
    _check(store, changes)
    currency, stage = changes.pop("currency"), changes.pop("stage")
    cur = parse_currency(currency) if currency else str(settings["currency"]).upper()
    stage = check_stage(settings, stage) if stage else stage_names(settings)[0]
    texts, amount = changes.add.pop("lines", []), changes.pop("amount")
    rec = models.new_record("deal", id=None, currency=cur, stage=stage, owner=store.ctx.user)
    rec = apply("deal", rec, changes)
    rec["lines"] = [parse_line(settings, text, cur) for text in texts]
    if amount is not None:
        rec["amount"] = parse_money(amount)
    elif rec["lines"]:
        rec["amount"] = lines_total(rec)
    reasons = _recompute_approval(settings, rec)
    rec["stage_history"] = [_history(store, stage)]
    rec = store.create("deal", **rec)
    store.note_change(f"deal: add {label(rec)}")
    return rec, reasons


def _edited_lines(
    settings: dict[str, Any], rec: Record, changes: ChangeSet, currency_changed: bool
) -> list[Record]:
    """The deal's lines after the change set: lines set replace them all, lines added
    come after the rest; a line removed is named by sku or by number (1 = first)."""
    cur = rec.get("currency") or settings["currency"]
    replace = "lines" in changes.set
    texts = changes.pop("lines") if replace else changes.add.pop("lines", [])
    new_lines = [] if replace else [dict(line) for line in rec.get("lines") or []]
    for key in changes.remove.pop("lines", []):
        if key.isdigit() and 1 <= int(key) <= len(new_lines):
            new_lines.pop(int(key) - 1)
            continue
        kept = [line for line in new_lines if str(line.get("sku")).lower() != key.lower()]
        if len(kept) == len(new_lines):
            have = ", ".join(f"{i + 1} {line.get('sku')}" for i, line in enumerate(new_lines))
            raise CrmError(f"deal {rec['id']} has no line '{key}' (lines: {have or 'none'})")
        new_lines = kept
    new_lines += [parse_line(settings, text, cur) for text in texts]
    if currency_changed:
        for line in new_lines:  # the products must still match the deal's currency
            product = products(settings).get(str(line.get("sku")))
            if product is not None:
                pc = str(product.get("currency") or settings["currency"]).upper()
                if pc != cur:
                    raise CrmError(
                        f"product {line['sku']} is priced in {pc}, not {cur}; "
                        "change the lines with the currency"
                    )
    return new_lines


def _new_amount(store: Store, old: Record, rec: Record, amount: Any, lines_changed: bool) -> None:
    """Set the amount given, or the lines' total when the lines changed (warning when
    that replaces an amount set by hand)."""
    cur = rec.get("currency") or store.settings["currency"]
    if amount is not None:
        rec["amount"] = parse_money(amount)
    elif lines_changed and rec["lines"]:
        total = lines_total(rec)
        if rec.get("amount") is not None and rec["amount"] != lines_total(old):
            store.warn(
                f"the amount {money_text(rec['amount'], cur)} was set by hand; it is now the "
                f"lines' total {money_text(total, cur)} (give --amount to set it again)"
            )
        rec["amount"] = total


def _terms_text(old: Record, rec: Record) -> str:
    text = f"terms: amount {money_text(old.get('amount'), old.get('currency')) or '(none)'}"
    text += f" -> {money_text(rec.get('amount'), rec.get('currency')) or '(none)'}"
    text += f", {len(rec['lines'])} line(s)"
    return text + ("; needs approval" if rec["needs_approval"] else "")


def edit(store: Store, deal: Record, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Change a deal by a change set. Lines added come after the others (lines set
    replace them); lines removed are named by sku or by number (1 = first). When the
    lines change and no `amount` is given, the amount becomes their sum. Changing the
    lines, amount or currency recomputes needs_approval (an earlier approval no longer
    counts). Returns the deal and the reasons it needs approval (empty when none)."""
    settings = store.settings
    terms = {"lines", "amount", "currency"}
    if terms & {*changes.set, *changes.add, *changes.remove} and not is_open(deal):
        _refuse_closed(deal, "change its lines, amount or currency")
    _check(store, changes)
    amount, currency = changes.pop("amount"), changes.pop("currency")
    rec = dict(deal)
    if currency is not None:
        rec["currency"] = parse_currency(currency)
    rec["lines"] = _edited_lines(settings, rec, changes, currency is not None)
    rec = apply("deal", rec, changes)
    if "amount" in changes.unset and rec["lines"]:
        raise CrmError("cannot unset the amount of a deal with lines; remove the lines")
    _new_amount(store, deal, rec, amount, rec["lines"] != (deal.get("lines") or []))
    reasons: list[str] = []
    terms_changed = any(rec.get(k) != deal.get(k) for k in terms) or "amount" in changes.unset
    if terms_changed:
        reasons = _recompute_approval(settings, rec)
    elif rec.get("needs_approval"):
        reasons = approval_reasons(settings, rec)
    if unchanged("deal", deal, rec):
        return deal, reasons
    rec = store.save("deal", rec)
    if terms_changed:
        store.add_activity(rec["id"], "edit", _terms_text(deal, rec))
    store.note_change(f"deal: edit {label(rec)}")
    return rec, reasons


def move(store: Store, deal: Record, stage: str) -> Record:
    """Move an open deal to another open stage of the pipeline."""
    stage = check_stage(store.settings, stage)
    _refuse_closed(deal, "move it")
    if deal.get("stage") == stage:
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is already in stage {stage}")
    rec = dict(deal, stage=stage, stage_history=[*deal["stage_history"], _history(store, stage)])
    rec = store.save("deal", rec)
    store.add_activity(rec["id"], "stage", f"moved from {deal.get('stage')} to {stage}")
    store.note_change(f"deal: move {label(rec)} to {stage}")
    return rec


def win(store: Store, deal: Record) -> Record:
    """Close an open deal as won; refused while it needs a price approval."""
    settings = store.settings
    if deal["status"] == "won":
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is already won")
    _refuse_closed(deal, "win it")
    refuse_unapproved(settings, deal, "won")
    return _close(store, deal, "won")


def lose(store: Store, deal: Record, reason: str | None) -> Record:
    """Close an open deal as lost; a reason is required."""
    if not reason or not reason.strip():
        raise CrmError(f"say why the deal was lost: crm deal lost {deal['id']} --reason TEXT")
    if deal["status"] == "lost":
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is already lost")
    _refuse_closed(deal, "mark it lost")
    return _close(store, deal, "lost", reason.strip())


def _close(store: Store, deal: Record, status: str, reason: str | None = None) -> Record:
    now = store.ctx.now_iso()
    rec = dict(
        deal,
        status=status,
        stage=status,
        closed_at=now,
        lost_reason=reason,
        stage_history=[*deal["stage_history"], _history(store, status)],
    )
    rec = store.save("deal", rec)
    text = f"{status} (from {deal.get('stage')})" + (f": {reason}" if reason else "")
    store.add_activity(rec["id"], status, text)
    store.note_change(f"deal: {status} {label(rec)}" + (f" ({reason})" if reason else ""))
    return rec


def last_open_stage(deal: Record) -> str | None:
    """The last open stage in the deal's stage history (None when there is none)."""
    for entry in reversed(deal.get("stage_history") or []):
        if entry.get("stage") not in CLOSED and entry.get("stage"):
            return str(entry["stage"])
    return None


def reopen(store: Store, deal: Record, stage: str | None = None) -> Record:
    """Reopen a won or lost deal, back in its last open stage (or `stage`); clears
    closed_at and lost_reason."""
    settings = store.settings
    if is_open(deal):
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is open already")
    if stage is not None:
        target = check_stage(settings, stage)
    else:
        target = last_open_stage(deal) or stage_names(settings)[0]
        if target not in stage_names(settings):
            store.warn(
                f"stage '{target}' is no longer in the pipeline; move the deal with "
                f"crm deal move {deal['id']} STAGE (stages: {', '.join(stage_names(settings))})"
            )
    rec = dict(
        deal,
        status="open",
        stage=target,
        closed_at=None,
        lost_reason=None,
        stage_history=[*deal["stage_history"], _history(store, target)],
    )
    rec = store.save("deal", rec)
    store.add_activity(rec["id"], "reopen", f"reopened ({deal['status']}) to stage {target}")
    store.note_change(f"deal: reopen {label(rec)} to {target}")
    return rec


def approve(store: Store, deal: Record, by: str, note: str | None = None) -> Record:
    """Record a price approval {by, at, note} by one of settings approvers."""
    settings = store.settings
    check_approver(settings, by)
    _refuse_closed(deal, "approve it")
    if not _still_unapproved(settings, deal):
        raise CrmError(f"deal {deal['id']} ({deal['title']}) needs no approval")
    entry = {"by": by, "at": store.ctx.now_iso(), "note": note.strip() if note else None}
    rec = dict(deal, needs_approval=False, approvals=[*deal["approvals"], entry])
    rec = store.save("deal", rec)
    text = f"price approved by {by}" + (f": {entry['note']}" if entry["note"] else "")
    store.add_activity(rec["id"], "approval", text)
    store.note_change(f"deal: approve {label(rec)} (by {by})")
    return rec


def snooze(store: Store, deal: Record, until: str, reason: str | None) -> Record:
    """Keep an open deal off the stalled-deals report until a day (YYYY-MM-DD)."""
    _refuse_closed(deal, "snooze it")
    if not reason or not reason.strip():
        raise CrmError(f"say why: crm deal snooze {deal['id']} {until} --reason TEXT")
    day = parse_day(store, until, "snooze date")
    if day <= store.ctx.now().date().isoformat():
        raise CrmError(f"snooze until {day}: the day must be after today")
    rec = dict(deal, snoozed_until=day, snooze_reason=reason.strip())
    rec = store.save("deal", rec)
    store.add_activity(rec["id"], "snooze", f"snoozed until {day}: {reason.strip()}")
    store.note_change(f"deal: snooze {label(rec)} until {day}")
    return rec


def unsnooze(store: Store, deal: Record) -> Record:
    """Clear a snooze."""
    if not deal.get("snoozed_until"):
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is not snoozed")
    rec = store.save("deal", dict(deal, snoozed_until=None, snooze_reason=None))
    store.add_activity(rec["id"], "snooze", "snooze cleared")
    store.note_change(f"deal: unsnooze {label(rec)}")
    return rec
