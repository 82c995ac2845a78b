"""As-of correctness of the health measures: the value for day D never depends on anything
dated after D (health.md, "Backfilled").

The property test draws random facts for a few accounts and puts each account in twice: once
with everything ("full"), once as it was known at the end of D ("known"): facts dated after D
removed (usage, tickets, answers, touchpoints, invoices, subscriptions, items, accounts signed
up later), and resolutions, payments, cancellations and item ends dated after D undone. Measures
are per account, so both copies sit in one input and one call; every measure must agree on
every day up to D.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.health.measures import default_measure_names
from tests.health.measure_support import account, computed, moment, ticket
from tests.metrics.engine_support import inputs_from_rows, item

D = date(2024, 3, 31)
CUTOFF = datetime(2024, 4, 1, tzinfo=UTC)  # the end of D
ORIGIN = datetime(2023, 10, 1, tzinfo=UTC)
HOURS = 240 * 24  # facts from 2023-10-01 to late May 2024, around D
DAYS = [date(2024, 2, 15), date(2024, 3, 30), D]
NAMES = [
    *default_measure_names(),
    "active_users_1d",
    "events_2d",
    "mrr_change_7d",
    "late_payments_10d",
    "detractors_5d",
    "trait:employees",
]
TABLES = ("accounts", "usage_daily", "tickets", "survey_responses", "touchpoints", "invoices",
          "subscriptions", "subscription_items")  # fmt: skip

instants = st.integers(0, HOURS - 1).map(lambda hours: ORIGIN + timedelta(hours=hours))
gaps = st.integers(0, 60 * 24).map(lambda hours: timedelta(hours=hours))
maybe_gaps = st.none() | gaps


@st.composite
def account_facts(draw: st.DrawFn, name: str) -> dict[str, list[dict[str, Any]]]:
    """All facts of one account, some dated after D, as input rows."""
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLES}
    rows["accounts"].append(
        account(name, draw(st.none() | instants), seats=draw(st.sampled_from([None, 0, 3])),
                traits='{"employees": 40}')
    )  # fmt: skip
    for when, user, event, events, sessions, minutes in draw(
        st.lists(
            st.tuples(
                instants, st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(["a", "b"]),
                st.integers(1, 5), st.integers(0, 3), st.integers(0, 90),
            ),
            max_size=8,
        )
    ):  # fmt: skip
        rows["usage_daily"].append(
            {"account": name, "user": user, "day": when.date(), "event_name": event,
             "events": events, "sessions": sessions, "active_minutes": float(minutes)}
        )  # fmt: skip
    for index, (opened, priority, resolved) in enumerate(
        draw(st.lists(st.tuples(instants, st.sampled_from(["low", "high", "urgent"]),
                                maybe_gaps), max_size=4))
    ):  # fmt: skip
        resolution = (
            {} if resolved is None else {"status": "solved", "resolved_at": opened + resolved}
        )
        rows["tickets"].append(ticket(f"{name}-t{index}", name, opened, priority=priority,
                                      **resolution))  # fmt: skip
    for index, (when, kind, contact, score) in enumerate(
        draw(st.lists(st.tuples(instants, st.sampled_from(["nps", "csat"]),
                                st.sampled_from(["c1", "c2", None]), st.integers(0, 10)),
                      max_size=6))
    ):  # fmt: skip
        scale = (0, 10) if kind == "nps" else (1, 5)
        rows["survey_responses"].append(
            {"response": f"{name}-r{index}", "survey": kind, "kind": kind,
             "scale_min": scale[0], "scale_max": scale[1], "contact": contact,
             "account": name, "score": min(max(score, scale[0]), scale[1]), "answered_at": when}
        )  # fmt: skip
    for index, when in enumerate(draw(st.lists(instants, max_size=4))):
        rows["touchpoints"].append(
            {"touchpoint": f"{name}-p{index}", "account": name, "occurred_at": when}
        )
    for index, (issued, due_after, paid_after, written_off) in enumerate(
        draw(st.lists(st.tuples(instants, gaps, maybe_gaps, st.booleans()), max_size=4))
    ):  # fmt: skip
        due = issued + due_after / 4
        status = "open"
        paid: dict[str, Any] = {}
        if paid_after is not None:
            status = "paid"
            paid = {"paid_at": issued + paid_after, "amount_paid": Decimal(30)}
        elif written_off:
            status = "uncollectible"
        rows["invoices"].append(
            {"invoice": f"{name}-i{index}", "account": name, "status": status,
             "currency": "USD", "amount_due": Decimal(30), "amount_paid": Decimal(0),
             "issued_at": issued, "due_at": due, **paid}
        )  # fmt: skip
    for index, (started, ended, trial, amounts) in enumerate(
        draw(st.lists(st.tuples(instants, maybe_gaps, maybe_gaps,
                                st.lists(st.tuples(gaps, maybe_gaps, st.integers(1, 99)),
                                         min_size=1, max_size=3)),
                      max_size=2))
    ):  # fmt: skip
        subscription = f"{name}-s{index}"
        status = "canceled" if ended is not None else ("trialing" if trial else "active")
        rows["subscriptions"].append(
            {"subscription": subscription, "account": name, "status": status,
             "currency": "USD", "started_at": started,
             "trial_ends_at": None if trial is None else started + trial,
             "ended_at": None if ended is None else started + ended}
        )  # fmt: skip
        for number, (after, lasts, amount) in enumerate(amounts):
            rows["subscription_items"].append(
                item(f"{subscription}-{number}", subscription, str(amount), started + after,
                     ended_at=None if lasts is None else started + after + lasts)
            )  # fmt: skip
    return rows


def known_at_end_of_d(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The facts as they were known at the end of D."""

    def before(when: Any) -> bool:
        return when is None or when < CUTOFF

    def undone(row: dict[str, Any], column: str, **reset: Any) -> dict[str, Any]:
        return row if before(row.get(column)) else {**row, column: None, **reset}

    return {
        "accounts": [row for row in rows["accounts"] if before(row["signed_up_at"])],
        "usage_daily": [row for row in rows["usage_daily"] if row["day"] <= D],
        "tickets": [
            undone(row, "resolved_at", status="open")
            for row in rows["tickets"]
            if before(row["opened_at"])
        ],
        "survey_responses": [r for r in rows["survey_responses"] if before(r["answered_at"])],
        "touchpoints": [row for row in rows["touchpoints"] if before(row["occurred_at"])],
        "invoices": [
            undone(row, "paid_at", status="open", amount_paid=Decimal(0))
            for row in rows["invoices"]
            if before(row["issued_at"])
        ],
        "subscriptions": [
            undone(row, "ended_at", status="trialing" if row["trial_ends_at"] else "active")
            for row in rows["subscriptions"]
            if before(row["started_at"])
        ],
        "subscription_items": [
            undone(row, "ended_at")
            for row in rows["subscription_items"]
            if before(row["started_at"])
            and any(
                sub["subscription"] == row["subscription"] and before(sub["started_at"])
                for sub in rows["subscriptions"]
            )
        ],
    }


def renamed(rows: dict[str, list[dict[str, Any]]], prefix: str) -> dict[str, list[dict]]:
    """The rows with accounts and subscriptions renamed `prefix` + name (a separate copy)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, table_rows in rows.items():
        out[table] = []
        for row in table_rows:
            row = dict(row)
            for key in ("account", "subscription"):
                if row.get(key) is not None:
                    row[key] = prefix + row[key]
            out[table].append(row)
    return out


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_facts_dated_after_d_never_change_values_up_to_d(data: st.DataObject) -> None:
    """Every measure, every day up to D: the full copy equals the copy known at D."""
    names = [f"a{index}" for index in range(data.draw(st.integers(3, 5)))]
    tables: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLES}
    for name in names:
        full = data.draw(account_facts(name))
        for copy, rows in (("full-", full), ("known-", known_at_end_of_d(full))):
            for table, table_rows in renamed(rows, copy).items():
                tables[table].extend(table_rows)
    values = computed(inputs_from_rows(**tables), DAYS, NAMES)
    for name in names:
        for day in DAYS:
            for measure in NAMES:
                full_value = values.get((f"full-{name}", day, measure), "no row")
                known_value = values.get((f"known-{name}", day, measure), "no row")
                if isinstance(full_value, float) and isinstance(known_value, float):
                    assert abs(full_value - known_value) < 1e-9, (name, day, measure)
                else:
                    assert full_value == known_value, (name, day, measure)


def test_a_ticket_resolved_after_d_counts_as_open_at_d() -> None:
    """A high-priority ticket opened on D-2 and resolved on D+1 at 09:00 is open (and high) at
    the end of D-2, D-1 and D, and no longer on D+1; its resolution time only counts from D+1."""
    inputs = inputs_from_rows(
        accounts=[account("a")],
        tickets=[ticket("t", "a", moment(2024, 3, 29, 15), priority="high", status="solved",
                        resolved_at=moment(2024, 4, 1, 9))],
    )  # fmt: skip
    days = [date(2024, 3, 29), date(2024, 3, 30), D, date(2024, 4, 1)]
    names = ["tickets_open", "tickets_high_open", "resolution_hours_median_30d"]
    values = computed(inputs, days, names)
    for day in days[:3]:
        assert values[("a", day, "tickets_open")] == 1
        assert values[("a", day, "tickets_high_open")] == 1
        assert values[("a", day, "resolution_hours_median_30d")] is None
    assert values[("a", date(2024, 4, 1), "tickets_open")] == 0
    assert values[("a", date(2024, 4, 1), "resolution_hours_median_30d")] == 66
