"""The lists the score drives, on a tiny hand-made book (no database). as_of 2025-06-01 00:00.

Accounts a-e pay from 2024-01-01 (e only from 2025-03-01); f stopped paying in 2024.
Latest snapshots (05-31): a healthy 85 (80 on 05-01; an unhealthy one on 06-02 is after as_of),
b healthy 90, c unhealthy 30, d at risk 55 (75 on 04-30: a 20-point drop), e healthy 88,
f healthy 95.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from tend.health.lists import (
    advocates,
    at_risk,
    collections,
    latest_snapshots,
    patterns,
    renewals_due,
    upsell_candidates,
    whole_months,
)
from tend.metrics.inputs import Inputs
from tests.metrics.engine_support import at, inputs_from_rows, item

AS_OF = at(2025, 6, 1)


def snapshots() -> pa.Table:
    rows = [
        ("a", date(2025, 5, 1), 80.0, "healthy", None),
        ("a", date(2025, 5, 31), 85.0, "healthy", 0.1),
        ("a", date(2025, 6, 2), 20.0, "unhealthy", 0.9),
        ("b", date(2025, 5, 31), 90.0, "healthy", None),
        ("c", date(2025, 5, 31), 30.0, "unhealthy", 0.6),
        ("d", date(2025, 4, 30), 75.0, "healthy", None),
        ("d", date(2025, 5, 31), 55.0, "at_risk", None),
        ("e", date(2025, 5, 31), 88.0, "healthy", None),
        ("f", date(2025, 5, 31), 95.0, "healthy", None),
    ]
    names = ["account", "day", "score", "band", "churn_probability"]
    columns = list(zip(*rows, strict=True))
    types = [pa.string(), pa.date32(), pa.float64(), pa.string(), pa.float64()]
    return pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types, strict=True)})


def nps(response: str, account: str, score: int, answered_at: object) -> dict[str, object]:
    return {"response": response, "survey": "nps", "kind": "nps", "scale_min": 0,
            "scale_max": 10, "contact": f"{account}-champion", "account": account,
            "score": score, "answered_at": answered_at}  # fmt: skip


def ticket(name: str, account: str, topic: str, opened_at: object) -> dict[str, object]:
    return {"ticket": name, "account": account, "topic": topic, "opened_at": opened_at}


def invoice(name: str, account: str, status: str, due: str, **fields: object) -> dict[str, object]:
    return {"invoice": name, "account": account, "status": status, "currency": "EUR",
            "amount_due": Decimal(due), "amount_paid": Decimal(0),
            "issued_at": at(2025, 3, 1), **fields}  # fmt: skip


def book() -> Inputs:
    start = at(2024, 1, 1)
    subscriptions = [
        {"subscription": f"s{a}", "account": a, "status": "active", "currency": "EUR",
         "started_at": at(2025, 3, 1) if a == "e" else start}
        for a in "abcde"
    ] + [{"subscription": "sf", "account": "f", "status": "canceled", "currency": "EUR",
          "started_at": start, "ended_at": at(2024, 6, 1)}]  # fmt: skip
    subscriptions[0]["current_period_end"] = at(2025, 6, 15)
    usage = [
        {"account": "a", "user": f"u{n}", "day": date(2025, 5, 20), "event_name": "x", "events": 1}
        for n in range(5)
    ] + [
        {"account": "b", "user": f"u{n}", "day": day, "event_name": "x", "events": 1}
        for n, day in [(1, date(2025, 4, 10)), (2, date(2025, 4, 20)), (1, date(2025, 5, 5)),
                       (2, date(2025, 5, 6)), (3, date(2025, 5, 31)), (4, date(2025, 6, 1))]
    ]  # fmt: skip
    return inputs_from_rows(
        accounts=[{"account": a, "name": a.upper() + " Ltd", "seats": s}
                  for a, s in zip("abcdef", [5, 100, 10, 10, None, 3], strict=True)],
        subscriptions=subscriptions,
        subscription_items=[item(f"i{s['account']}", str(s["subscription"]), "100",
                                 s["started_at"]) for s in subscriptions],  # type: ignore[arg-type]
        survey_responses=[
            nps("r1", "a", 10, at(2025, 5, 10)),
            nps("r2", "a", 2, at(2025, 6, 5)),
            nps("r3", "b", 9, at(2025, 1, 1)),
            nps("r4", "b", 5, at(2025, 4, 1)),
            nps("r5", "e", 10, at(2025, 5, 1)),
            nps("r6", "f", 10, at(2025, 5, 1)),
        ],
        usage_daily=usage,
        tickets=[
            ticket("t1", "c", "billing", at(2025, 5, 1)),
            ticket("t2", "c", "billing", at(2025, 5, 2)),
            ticket("t3", "c", "login", at(2025, 4, 1)),
            ticket("t4", "c", "export", at(2025, 4, 2)),
            ticket("t5", "c", "api", at(2025, 4, 3)),
            ticket("t6", "c", "sso", at(2024, 11, 1)),
            ticket("t7", "c", "sso", at(2024, 11, 2)),
            ticket("t8", "c", "sso", at(2025, 6, 1)),
        ],
        invoices=[
            invoice("v1", "a", "open", "100", due_at=at(2025, 5, 1)),
            invoice("v2", "a", "open", "50", due_at=at(2025, 5, 20)),
            invoice("v3", "b", "paid", "70", due_at=at(2025, 5, 1), paid_at=at(2025, 5, 2)),
            invoice("v4", "c", "open", "70", due_at=at(2025, 6, 10)),
            invoice("v5", "d", "open", "80", due_at=at(2025, 4, 1), amount_paid=Decimal(30)),
            invoice("v6", "d", "void", "80", due_at=at(2025, 4, 1)),
            invoice("v7", "e", "paid", "100", due_at=at(2025, 5, 25), paid_at=at(2025, 6, 3)),
            invoice("v8", "a", "draft", "90", due_at=at(2025, 5, 1)),
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return book()


def test_latest_snapshot_and_its_30_day_change() -> None:
    latest = latest_snapshots(snapshots(), AS_OF).set_index("account")
    assert latest.loc["a", "score"] == 85.0
    assert latest.loc["a", "score_change_30d"] == 5.0
    assert latest.loc["d", "score_change_30d"] == -20.0
    assert np.isnan(latest.loc["b", "score_change_30d"])
    assert whole_months(at(2024, 1, 1), AS_OF) == 17
    assert whole_months(at(2024, 1, 2), AS_OF) == 16


def test_advocates(inputs: Inputs) -> None:
    # b's latest answer is a detractor's; e has 3 months of tenure; f pays no more.
    rows = advocates(inputs, snapshots(), AS_OF).to_pylist()
    assert [(r["account"], r["name"], r["nps_score"], r["tenure_months"]) for r in rows] == [
        ("a", "A Ltd", 10, 17)
    ]
    assert rows[0]["nps_answered_at"] == at(2025, 5, 10)
    with_short_tenure = advocates(inputs, snapshots(), AS_OF, min_tenure_months=3)
    assert with_short_tenure["account"].to_pylist() == ["e", "a"]


def test_upsell_candidates(inputs: Inputs) -> None:
    # a: 5 of 5 seats in the last 30 days; b: 3 users after 2 (u3 on 05-31; 06-01 is as_of's
    # own, incomplete day), +50 %; e: no seats known, no earlier usage.
    rows = upsell_candidates(inputs, snapshots(), AS_OF).to_pylist()
    assert [(r["account"], r["reasons"]) for r in rows] == [
        ("b", ["usage_growth"]),
        ("a", ["seats"]),
    ]
    b, a = rows
    assert (b["active_users_30d"], b["active_users_prior_30d"]) == (3, 2)
    assert b["usage_growth"] == pytest.approx(0.5)
    assert b["seat_utilisation"] == pytest.approx(0.03)
    assert (a["seats"], a["seat_utilisation"], a["usage_growth"]) == (5, 1.0, None)


def test_at_risk_with_pain_points(inputs: Inputs) -> None:
    comments = pa.table(
        {
            "account": ["c", "c", "c", "c", "c", "d"],
            "answered_at": pa.array(
                [at(2025, 5, 20), at(2025, 5, 25), at(2025, 5, 26), at(2025, 2, 1),
                 at(2024, 6, 1), at(2025, 6, 2)], pa.timestamp("us", tz="UTC")),
            "score": [3, 8, 2, 1, 0, 0],
            "comment": ["Too slow", "Fine", " ", "Bugs", "Ancient", "After as_of"],
        }
    )  # fmt: skip
    rows = at_risk(inputs, snapshots(), AS_OF, comments=comments).to_pylist()
    assert [(r["account"], r["reasons"]) for r in rows] == [
        ("c", ["unhealthy"]),
        ("d", ["score_drop"]),
    ]
    c, d = rows
    assert c["churn_probability"] == 0.6
    assert c["ticket_topics"] == [
        {"topic": "billing", "tickets": 2},
        {"topic": "api", "tickets": 1},
        {"topic": "export", "tickets": 1},
    ]
    assert [v["comment"] for v in c["detractor_comments"]] == ["Too slow", "Bugs"]
    assert c["detractor_comments"][0] == {
        "answered_at": at(2025, 5, 20),
        "score": 3,
        "comment": "Too slow",
    }
    assert (d["score_change_30d"], d["ticket_topics"], d["detractor_comments"]) == (-20.0, [], [])
    assert at_risk(inputs, snapshots(), AS_OF, min_score_drop=25)["account"].to_pylist() == ["c"]


def test_collections(inputs: Inputs) -> None:
    rows = collections(inputs, AS_OF).to_pylist()
    got = [
        (r["account"], r["overdue_amount"], r["overdue_invoices"], r["days_overdue_max"])
        for r in rows
    ]
    assert got == [("d", 50.0, 1, 61), ("a", 150.0, 2, 31), ("e", 100.0, 1, 7)]
    assert rows[1]["oldest_due_at"] == at(2025, 5, 1)
    assert rows[1]["currency"] == "EUR"


def test_renewals_due_uses_the_snapshots_probability(inputs: Inputs) -> None:
    rows = renewals_due(inputs, snapshots(), AS_OF, within_days=30).to_pylist()
    assert len(rows) == 1
    (a,) = rows
    assert (a["account"], a["name"], a["renewal_date"], a["score"]) == (
        "a",
        "A Ltd",
        date(2025, 6, 15),
        85.0,
    )
    assert a["probability_to_renew"] == pytest.approx(0.9)
    assert a["expected_renewing_mrr"] == pytest.approx(90.0)


def test_patterns_rank_the_measure_that_separates_churn() -> None:
    rng = np.random.default_rng(3)
    count = 400
    churned = rng.random(count) < 0.3
    usage = np.where(churned, rng.normal(5, 2, count), rng.normal(10, 2, count))
    noise = rng.normal(0, 1, count)
    accounts = [f"acc-{n}" for n in range(count)]
    days = pa.array([date(2025, 1, 6)] * count, pa.date32())
    values = pa.table(
        {
            "account": accounts * 2,
            "day": pa.concat_arrays([days, days]),
            "measure": ["usage"] * count + ["noise"] * count,
            "value": np.concatenate([usage, noise]),
        }
    )
    labels = pa.table(
        {"account": accounts, "day": days, "paying": [True] * count, "churned": churned}
    )
    rows = patterns(values, labels).to_pylist()
    assert [r["measure"] for r in rows] == ["usage", "noise"]
    usage_row = rows[0]
    assert usage_row["standardised_mean_difference"] == pytest.approx(-2.5, abs=0.4)
    assert usage_row["ks_statistic"] > 0.7 > rows[1]["ks_statistic"]
    assert usage_row["churned_rows"] + usage_row["retained_rows"] == count
    assert patterns(values, labels, top=1).num_rows == 1
    # Labels of other days than the measures' leave nothing to compare.
    next_day = pa.array([date(2025, 1, 6) + timedelta(days=1)] * count, pa.date32())
    assert patterns(values, labels.set_column(1, "day", next_day)).num_rows == 0


def test_an_empty_book_gives_empty_lists_with_their_schemas() -> None:
    empty = inputs_from_rows()
    no_snapshots = snapshots().slice(0, 0)
    for listed in (
        advocates(empty, no_snapshots, AS_OF),
        upsell_candidates(empty, no_snapshots, AS_OF),
        at_risk(empty, no_snapshots, AS_OF),
        renewals_due(empty, no_snapshots, AS_OF),
    ):
        assert listed.num_rows == 0
    assert collections(empty, AS_OF).num_rows == 0


def test_other_band_names(inputs: Inputs) -> None:
    renamed = snapshots().set_column(
        3, "band", pa.array(["green"] * 3 + ["green", "red", "green", "amber", "green", "green"])
    )
    assert at_risk(inputs, renamed, AS_OF, red_bands=["red"])["account"].to_pylist() == ["c", "d"]
    assert advocates(inputs, renamed, AS_OF, healthy_bands=["green"])["account"].to_pylist() == [
        "a"
    ]
