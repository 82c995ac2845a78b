"""Money in its own currency: `{{ amount|money:currency }}` gives "$1,234.50", "€99.00"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

# Symbols for the currencies Tend bills in today; any other currency is shown by its ISO code.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
MISSING = "—"


def format_money(amount: object, currency: str | None, places: int = 2) -> str:
    """`amount` with thousands separators and `places` decimals, marked with its currency.

    A known currency gets its symbol in front ("-$1,200.00"), any other its ISO code
    ("CHF 1,200.00"); a blank currency gives the bare number; no amount gives a dash.
    """
    if amount is None or amount == "":
        return MISSING
    try:
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return MISSING
    sign = "-" if value < 0 else ""
    number = f"{abs(value):,.{places}f}"
    code = (currency or "").strip().upper()
    if code in SYMBOLS:
        return f"{sign}{SYMBOLS[code]}{number}"
    if code:
        return f"{sign}{code} {number}"
    return f"{sign}{number}"


@register.filter
def money(amount: object, currency: str | None = "") -> str:
    """Amount to the cent in its currency: "€1,234.50"."""
    return format_money(amount, currency)


@register.filter
def money_whole(amount: object, currency: str | None = "") -> str:
    """Amount rounded to whole units in its currency, for headline figures: "€1,235"."""
    return format_money(amount, currency, places=0)


@register.filter
def label(slug: object) -> str:
    """A machine slug as a label: "feature_request" gives "Feature request"."""
    text = str(slug or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]
