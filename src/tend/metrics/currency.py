"""Converting money to the reporting currency with dated rates (kpis.md: "rates configurable,
dated"). A period's amounts use the rate valid on its last day, so the movements of one period
reconcile exactly in the reporting currency; from one period to the next, a rate change shows as
the difference between the previous period's end and this period's start (the currency effect).
"""

from __future__ import annotations

import ibis


def period_rates(rates: ibis.Table, periods: ibis.Table, reporting_currency: str) -> ibis.Table:
    """`currency, grain, period_start, rate`: the newest rate into `reporting_currency` that is
    valid on each period's last day (valid_from < period_end). Pairs without one are absent."""
    into = rates.filter(rates.to_currency == reporting_currency)
    candidates = into.join(periods, into.valid_from < periods.period_end)
    newest = candidates.group_by(["currency", "grain", "period_start"]).aggregate(
        valid_from=candidates.valid_from.max()
    )
    chosen = newest.join(into, ["currency", "valid_from"])
    return chosen.select("currency", "grain", "period_start", "rate")


def converted(
    table: ibis.Table, rates: ibis.Table, reporting_currency: str, money: list[str]
) -> ibis.Table:
    """`table` (with currency, grain, period_start) with each `money` column in the reporting
    currency; rows whose currency has no rate for the period are dropped."""
    keys = ["currency", "grain", "period_start"]
    joined = table.left_join(rates, keys)
    joined = joined.drop(*[f"{key}_right" for key in keys if f"{key}_right" in joined.columns])
    rate = ibis.ifelse(joined.currency == reporting_currency, 1.0, joined.rate)
    kept = joined.filter(rate.notnull())
    rate = ibis.ifelse(kept.currency == reporting_currency, 1.0, kept.rate)
    return kept.mutate(**{column: kept[column].cast("float64") * rate for column in money}).drop(
        "rate"
    )
