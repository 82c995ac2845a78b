"""NPS, CSAT and CES pipelines on hand-made answers (kpis.md, "Voice of the customer").

2026-01-05, 01-12 and 01-19 are Mondays, so they start weeks. No database is needed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.metrics.grid import Grid
from tend.metrics.inputs import Inputs
from tend.metrics.voice import PIPELINES, compute_csat_and_ces, compute_nps
from tests.metrics.engine_support import Key, grid_for, inputs_from_rows, results

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
JAN_END = date(2026, 1, 31)
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def answer(
    response: str,
    contact: str | None,
    account: str,
    score: int,
    answered_at: datetime,
    **survey: Any,
) -> dict[str, Any]:
    """A survey answer, on an NPS 0-10 survey unless `kind` (and its scale) say otherwise."""
    kind = survey.get("kind", "nps")
    low, high = SCALES[kind]
    return {
        "response": response,
        "survey": f"survey-{kind}",
        "kind": kind,
        "scale_min": survey.get("scale_min", low),
        "scale_max": survey.get("scale_max", high),
        "contact": contact,
        "account": account,
        "score": score,
        "answered_at": answered_at,
    }


def accounts(*rows: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"account": account, "segment": segment} for account, segment in rows]


def run(inputs: Inputs, grid: Grid) -> dict[Key, tuple[float, int]]:
    """Every voice KPI, keyed as in `results`."""
    found: dict[Key, tuple[float, int]] = {}
    for pipeline in PIPELINES:
        found.update(results(pipeline.compute(inputs, grid).to_pyarrow()))
    return found


def test_nps_counts_each_contacts_latest_answer_in_the_period() -> None:
    """c1 answers 3 on 5 Jan then 10 on 20 Jan; c2 answers 8 on 10 Jan; c3 answers 5 on 12 Jan.
    January: c1 counts once, as 10 → 1 promoter, 1 passive (c2), 1 detractor (c3):
    (1 - 1) / 3 = 0, base 3. Week of 5 Jan: c1 = 3 (detractor), c2 passive → (0 - 1) / 2 = -50.
    Week of 12 Jan: c3 → -100. Week of 19 Jan: c1 = 10 → +100."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("r1", "c1", "a1", 3, at(1, 5)),
            answer("r2", "c1", "a1", 10, at(1, 20)),
            answer("r3", "c2", "a1", 8, at(1, 10)),
            answer("r4", "c3", "a1", 5, at(1, 12)),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, date(2026, 1, 31), grains=["week", "month"]))
    portfolio = ("portfolio", "all", "")
    assert got[("nps", "month", JAN, *portfolio)] == (0.0, 3)
    assert got[("nps_promoters", "month", JAN, *portfolio)] == (1.0, 3)
    assert got[("nps_passives", "month", JAN, *portfolio)] == (1.0, 3)
    assert got[("nps_detractors", "month", JAN, *portfolio)] == (1.0, 3)
    assert got[("nps", "week", date(2026, 1, 5), *portfolio)] == (-50.0, 2)
    assert got[("nps", "week", date(2026, 1, 12), *portfolio)] == (-100.0, 1)
    assert got[("nps", "week", date(2026, 1, 19), *portfolio)] == (100.0, 1)
    assert ("nps", "week", date(2026, 1, 26), *portfolio) not in got  # no answers that week


def test_same_instant_answers_keep_the_greatest_response_and_anonymous_answers_each_count() -> None:
    """c1 answers 0 (r1) and 10 (r2) at the same instant: r2 wins → promoter. Two answers
    without a contact (6 and 9) count separately. 2 promoters, 1 detractor of 3 → 33.33."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("r1", "c1", "a1", 0, at(1, 8)),
            answer("r2", "c1", "a1", 10, at(1, 8)),
            answer("r3", None, "a1", 6, at(1, 9)),
            answer("r4", None, "a1", 9, at(1, 9)),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["month"], scope_types=["portfolio"]))
    value, base = got[("nps", "month", JAN, "portfolio", "all", "")]
    assert (value, base) == (pytest.approx(100 / 3), 3)


def test_answers_on_other_scales_kinds_or_after_as_of_are_left_out() -> None:
    """NPS: only r1 (9 on 0-10) counts; a 1-10 "NPS" answer, an 11 on 0-10 and an answer after
    as_of (20 Jan) are left out → +100, base 1. CSAT on 1-5: 5, 3, 2 → 1 / 3 = 33.33 (a 4 on a
    1-7 CSAT is left out). CES on 1-7: 6, 7, 2 → 5.0 (a 5 on a 1-5 CES is left out)."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("r1", "c1", "a1", 9, at(1, 3)),
            answer("r2", "c2", "a1", 1, at(1, 3), scale_min=1, scale_max=10),
            answer("r3", "c3", "a1", 11, at(1, 3)),
            answer("r4", "c4", "a1", 0, at(1, 25)),
            answer("s1", "c1", "a1", 5, at(1, 4), kind="csat"),
            answer("s2", "c1", "a1", 3, at(1, 5), kind="csat"),
            answer("s3", "c2", "a1", 2, at(1, 6), kind="csat"),
            answer("s4", "c2", "a1", 4, at(1, 6), kind="csat", scale_max=7),
            answer("e1", "c1", "a1", 6, at(1, 4), kind="ces"),
            answer("e2", "c2", "a1", 7, at(1, 5), kind="ces"),
            answer("e3", "c3", "a1", 2, at(1, 6), kind="ces"),
            answer("e4", "c4", "a1", 5, at(1, 6), kind="ces", scale_max=5),
        ],
    )
    grid = grid_for(
        inputs, JAN, JAN_END, grains=["month"], scope_types=["portfolio"], as_of=at(1, 20)
    )
    got = run(inputs, grid)
    key = ("month", JAN, "portfolio", "all", "")
    assert got[("nps", *key)] == (100.0, 1)
    csat, csat_base = got[("csat", *key)]
    assert (csat, csat_base) == (pytest.approx(100 / 3), 3)
    assert got[("ces", *key)] == (5.0, 3)


def test_as_of_makes_the_latest_known_answer_count() -> None:
    """c1 answers 3 on 5 Jan and 10 on 20 Jan; known on 15 Jan only the 3 is → -100."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("r1", "c1", "a1", 3, at(1, 5)),
            answer("r2", "c1", "a1", 10, at(1, 20)),
        ],
    )
    grid = grid_for(
        inputs, JAN, JAN_END, grains=["month"], scope_types=["portfolio"], as_of=at(1, 15)
    )
    assert run(inputs, grid)[("nps", "month", JAN, "portfolio", "all", "")] == (-100.0, 1)


def test_account_and_segment_scopes() -> None:
    """a1 (smb): 10, 9 → +100. a2 (smb): 0 → -100. a3 (ent): 7 → 0. smb: 2 promoters and
    1 detractor of 3 → 33.33. ent: 0. Portfolio: 2 promoters, 1 detractor of 4 → 25."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb"), ("a2", "smb"), ("a3", "ent")),
        survey_responses=[
            answer("r1", "c1", "a1", 10, at(1, 3)),
            answer("r2", "c2", "a1", 9, at(1, 4)),
            answer("r3", "c3", "a2", 0, at(1, 5)),
            answer("r4", "c4", "a3", 7, at(1, 6)),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["month"]))
    nps = {k[3:5]: v for k, v in got.items() if k[0] == "nps"}
    assert nps[("account", "a1")] == (100.0, 2)
    assert nps[("account", "a2")] == (-100.0, 1)
    assert nps[("account", "a3")] == (0.0, 1)
    assert nps[("segment", "smb")] == (pytest.approx(100 / 3), 3)
    assert nps[("segment", "ent")] == (0.0, 1)
    assert nps[("portfolio", "all")] == (25.0, 4)
    assert ("csm", "casey") not in nps and len(nps) == 6  # no CSM set: no CSM scope


def test_period_without_answers_and_quarters() -> None:
    """CSAT 5 in Jan, 1 in Feb, 4 in Apr; CES 7 in Jan, 4 in Feb. Months: Jan CSAT 100, Feb 0,
    Mar no row, Apr 100. Q1: CSAT 1 of 2 → 50, CES (7 + 4) / 2 = 5.5; Q2: CSAT 100, no CES."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("s1", "c1", "a1", 5, at(1, 10), kind="csat"),
            answer("s2", "c1", "a1", 1, at(2, 10), kind="csat"),
            answer("s3", "c1", "a1", 4, at(4, 10), kind="csat"),
            answer("e1", "c1", "a1", 7, at(1, 10), kind="ces"),
            answer("e2", "c1", "a1", 4, at(2, 10), kind="ces"),
        ],
    )
    grid = grid_for(
        inputs, JAN, date(2026, 4, 30), grains=["month", "quarter"], scope_types=["portfolio"]
    )
    got = run(inputs, grid)
    csat = {(k[1], k[2]): v for k, v in got.items() if k[0] == "csat"}
    ces = {(k[1], k[2]): v for k, v in got.items() if k[0] == "ces"}
    assert csat == {
        ("month", JAN): (100.0, 1),
        ("month", FEB): (0.0, 1),
        ("month", APR): (100.0, 1),
        ("quarter", JAN): (50.0, 2),
        ("quarter", APR): (100.0, 1),
    }
    assert ces == {("month", JAN): (7.0, 1), ("month", FEB): (4.0, 1), ("quarter", JAN): (5.5, 2)}
    assert not any(k[2] == MAR for k in got)
    assert not any(k[0].startswith("nps") for k in got)


def test_pipelines_declare_the_kpis_they_return() -> None:
    """Every KPI a pipeline returns is in its `kpis`, all in the voice family."""
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb")),
        survey_responses=[
            answer("r1", "c1", "a1", 9, at(1, 3)),
            answer("s1", "c1", "a1", 4, at(1, 3), kind="csat"),
            answer("e1", "c1", "a1", 4, at(1, 3), kind="ces"),
        ],
    )
    grid = grid_for(inputs, JAN, JAN_END, grains=["month"])
    for pipeline in PIPELINES:
        returned = set(pipeline.compute(inputs, grid).to_pyarrow()["kpi"].to_pylist())
        assert returned == {kpi.name for kpi in pipeline.kpis}
        assert {kpi.family for kpi in pipeline.kpis} == {"voice"}


random_answers = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3", "c4", None]),
        st.sampled_from(["a1", "a2", "a3"]),
        st.sampled_from(["nps", "csat", "ces"]),
        st.integers(0, 11),
        st.integers(1, 59),  # day of Jan-Feb: 1-31 is January
    ),
    max_size=30,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_answers)
def test_scores_stay_on_their_scales(rows: list[tuple[str | None, str, str, int, int]]) -> None:
    """NPS within -100..100 and its three groups add up to its base; CSAT within 0..100; CES
    within 1..7; the portfolio's NPS base is the number of distinct respondents of the month."""
    survey_rows = []
    for index, (contact, account, kind, score, day) in enumerate(rows):
        answered = at(1, 1) + timedelta(days=day - 1, hours=index % 24)
        survey_rows.append(answer(f"r{index:03}", contact, account, score, answered, kind=kind))
    inputs = inputs_from_rows(
        accounts=accounts(("a1", "smb"), ("a2", "smb"), ("a3", "ent")),
        survey_responses=survey_rows,
    )
    grid = grid_for(inputs, JAN, date(2026, 2, 28), grains=["month"])
    nps = compute_nps(inputs, grid).to_pyarrow().to_pylist()
    scores = compute_csat_and_ces(inputs, grid).to_pyarrow().to_pylist()
    groups: dict[tuple[Any, ...], float] = {}
    for row in nps:
        key = (row["period_start"], row["scope_type"], row["scope_key"])
        if row["kpi"] == "nps":
            assert -100 <= row["value"] <= 100 and row["base"] > 0
        else:
            groups[key] = groups.get(key, 0) + row["value"]
            assert groups[key] <= row["base"]
    for row in nps:
        if row["kpi"] == "nps":
            assert groups[(row["period_start"], row["scope_type"], row["scope_key"])] == row["base"]
    for month in (JAN, FEB):
        respondents = {
            (contact or f"response:r{index:03}")
            for index, (contact, _, kind, score, day) in enumerate(rows)
            if kind == "nps" and score <= 10 and ((day <= 31) == (month == JAN))
        }
        portfolio = [
            r["base"]
            for r in nps
            if r["kpi"] == "nps" and r["period_start"] == month and r["scope_type"] == "portfolio"
        ]
        assert portfolio == ([len(respondents)] if respondents else [])
    for row in scores:
        low, high = (0, 100) if row["kpi"] == "csat" else (1, 7)
        assert low <= row["value"] <= high
