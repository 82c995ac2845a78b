"""Money formatting: symbol or ISO code, thousands separators, rounding half up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tend.web.templatetags.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "places", "expected"),
    [
        (Decimal("41200"), "USD", 0, "$41,200"),
        (Decimal("1234567.891"), "EUR", 2, "€1,234,567.89"),
        (Decimal("5100.5"), "gbp", 0, "£5,101"),
        (Decimal("0.005"), "USD", 2, "$0.01"),
        (Decimal("-1200"), "USD", 2, "-$1,200.00"),
        (Decimal("99"), "CHF", 2, "CHF 99.00"),
        (Decimal("99"), "", 2, "99.00"),
        (None, "USD", 2, "—"),
        ("not a number", "USD", 2, "—"),
    ],
)
def test_format_money(amount: object, currency: str, places: int, expected: str) -> None:
    assert format_money(amount, currency, places) == expected
