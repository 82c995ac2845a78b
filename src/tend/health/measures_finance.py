"""Finance measures from invoices and subscriptions (kpis.md, "Revenue" and "Late payment").

Invoices follow tend.metrics.billing_invoices: drafts and void invoices never count; an
uncollectible invoice is written off (undated), so it is never overdue but is a late payment;
an invoice marked paid without a payment time counts as paid on time; an invoice owes
`amount_due` until it is paid, or `amount_due - amount_paid` when it has no payment time.
By day: an invoice is overdue at D when it was issued by D, its due day is before D and it was
not paid by D, for D - due day days.

MRR follows tend.metrics.revenue's item terms, taken at the end of D: an item term counts on
the days from the one its counting starts on up to, not including, the one it stops on (so a
term starting at midnight after D is not in D's MRR, unlike revenue KPIs taken at an instant).
"""

from __future__ import annotations

import ibis

from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    days_between,
    interval_changes,
    literal_day,
    ratio,
    trailing_changes,
)
from tend.metrics.revenue import item_monthly_amounts
from tend.metrics.usage_windows import days_after

NEVER_OWED = ("draft", "void")


def counted_invoices(frame: MeasureFrame) -> ibis.Table:
    """Issued, non-draft, non-void invoices with a due date: `account, status, amount_due,
    amount_paid, due_at, paid_at, issue_day, due_day, paid_day`."""

    def build() -> ibis.Table:
        invoices = frame.inputs.invoices
        kept = invoices.filter(
            invoices.account.notnull(),
            invoices.issued_at.notnull(),
            invoices.due_at.notnull(),
            ~invoices.status.isin(NEVER_OWED),
        )
        return kept.select(
            "account",
            "status",
            amount_due=kept.amount_due.coalesce(0),
            amount_paid=kept.amount_paid.coalesce(0),
            due_at=kept.due_at,
            paid_at=kept.paid_at,
            issue_day=kept.issued_at.date(),
            due_day=kept.due_at.date(),
            paid_day=kept.paid_at.date(),
        )

    return frame.shared("invoices", build)


def overdue_spells(frame: MeasureFrame) -> ibis.Table:
    """Invoices that are overdue on some day: `account, due_day, owed, overdue_from,
    overdue_until` (the first day not overdue any more: the payment day; null: still owed)."""
    invoices = counted_invoices(frame)
    owing = invoices.filter(
        invoices.status != "uncollectible",
        ~((invoices.status == "paid") & invoices.paid_at.isnull()),
    )
    owed = ibis.ifelse(
        owing.paid_at.isnull(), owing.amount_due - owing.amount_paid, owing.amount_due
    )
    spells = owing.select(
        "account",
        "due_day",
        owed=owed,
        overdue_from=ibis.greatest(days_after(owing.due_day, 1), owing.issue_day),
        overdue_until=owing.paid_day,
    )
    return spells.filter(
        spells.owed > 0,
        spells.overdue_until.isnull() | (spells.overdue_until > spells.overdue_from),
    )


def overdue_amount(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Amount owed at the end of D on invoices overdue then, in the account's currency."""
    spells = overdue_spells(frame)
    changes = interval_changes(spells, "overdue_from", "overdue_until", {"owed": spells.owed})
    return Running(changes, lambda t: t.owed, sums=("owed",))


def days_overdue_max(frame: MeasureFrame, request: MeasureRequest) -> ibis.Table:
    """Days past due of the longest-overdue invoice at the end of D (0: nothing overdue)."""
    spells = overdue_spells(frame)
    spells = spells.filter(
        spells.overdue_from <= literal_day(frame.last_day),
        spells.overdue_until.isnull() | (spells.overdue_until > literal_day(frame.first_day)),
    ).rename(spell_account="account")
    grid = frame.grid
    overdue = grid.join(
        spells,
        [
            grid.account == spells.spell_account,
            spells.overdue_from <= grid.day,
            spells.overdue_until.isnull() | (grid.day < spells.overdue_until),
        ],
    )
    return overdue.group_by(["account", "day"]).aggregate(
        value=days_between(overdue.day, overdue.due_day).max()
    )


def late_payments(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Invoices paid after their due time, still unpaid or written off (as billing's late
    payments), counted on the day after the due day (the first day they can be overdue, and
    by its start their lateness is known) when that day is in the trailing N days."""
    invoices = counted_invoices(frame)
    late = invoices.filter(
        ~((invoices.status == "paid") & invoices.paid_at.isnull()),
        invoices.paid_at.isnull() | (invoices.paid_at > invoices.due_at),
    )
    facts = late.select(
        "account",
        day=ibis.greatest(days_after(late.due_day, 1), late.issue_day),
        invoices=ibis.literal(1, "int64"),
    )
    changes = trailing_changes(frame, facts, ["invoices"], request.days)
    return Running(changes, lambda t: t.invoices, sums=("invoices",))


def item_terms(frame: MeasureFrame) -> ibis.Table:
    """`account, monthly_amount, start_day, stop_day` of every item term (native currency)."""

    def build() -> ibis.Table:
        inputs = frame.inputs
        amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
        amounts = amounts.filter(amounts.account.notnull())
        return amounts.select(
            "account",
            "monthly_amount",
            start_day=amounts.counts_from.date(),
            stop_day=amounts.counts_until.date(),
        )

    return frame.shared("item_terms", build)


def _mrr_changes(frame: MeasureFrame) -> ibis.Table:
    """`account, day, mrr`: +amount on the day an item term starts counting, -amount on the
    day it stops."""
    terms = item_terms(frame)
    return interval_changes(terms, "start_day", "stop_day", {"mrr": terms.monthly_amount})


def mrr(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """MRR at the end of D, summed over the account's currencies (native amounts)."""
    return Running(_mrr_changes(frame), lambda t: t.mrr, sums=("mrr",))


def mrr_change(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """(MRR at D - MRR N days before) ÷ MRR N days before (null when that was 0): MRR then is
    the running sum of the same changes N days later."""
    changes = _mrr_changes(frame)
    zero = ibis.literal(0).cast(changes.mrr.type())
    now = changes.select("account", "day", mrr=changes.mrr, mrr_then=zero)
    then = changes.select(
        "account", day=days_after(changes.day, request.days), mrr=zero, mrr_then=changes.mrr
    )
    return Running(
        ibis.union(now, then),
        lambda t: ratio(t.mrr - t.mrr_then, t.mrr_then),
        sums=("mrr", "mrr_then"),
    )


def tenure_days(frame: MeasureFrame, request: MeasureRequest) -> ibis.Table:
    """Days from the first day the account paid anything to D (null: not paid by D)."""
    terms = item_terms(frame)
    paying = terms.filter(terms.monthly_amount > 0)
    firsts = paying.group_by("account").aggregate(first_day=paying.start_day.min())
    firsts = firsts.rename(paying_account="account")
    grid = frame.grid
    joined = grid.join(
        firsts, [grid.account == firsts.paying_account, firsts.first_day <= grid.day]
    )
    return joined.select("account", "day", value=days_between(joined.day, joined.first_day))
