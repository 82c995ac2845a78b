"""Support, voice and engagement measures, hand-computed on tiny inputs (Ibis on DuckDB)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.health.measure_support import account, answer, computed, moment, ticket
from tests.metrics.engine_support import inputs_from_rows

D = date(2024, 3, 31)
NAMES = [
    "tickets_opened_30d",
    "tickets_open",
    "tickets_high_open",
    "resolution_hours_median_30d",
    "resolution_hours_median_29d",
    "nps_latest",
    "detractors_30d",
    "detractors_31d",
    "csat_30d",
    "csat_31d",
    "days_since_last_touch",
    "touchpoints_30d",
    "touchpoints_31d",
]


def csat(name: str, score: int, day: int) -> dict:
    return answer(
        name, "a", None, score, moment(2024, 3, day), kind="csat", scale_min=1, scale_max=5
    )


@pytest.fixture(scope="module")
def values() -> dict:
    """Account a has the tickets, answers and touchpoints each test describes; b has none."""
    inputs = inputs_from_rows(
        accounts=[account("a"), account("b")],
        tickets=[
            ticket(
                "t1",
                "a",
                moment(2024, 3, 1, 10),
                status="solved",
                resolved_at=moment(2024, 3, 2, 10),
            ),
            ticket("t6", "a", moment(2024, 3, 2, 9), status="solved"),
            ticket("t2", "a", moment(2024, 3, 20), priority="high", resolved_at=moment(2024, 4, 2)),
            ticket("t3", "a", moment(2024, 3, 25), priority="urgent"),
            ticket(
                "t4",
                "a",
                moment(2024, 3, 30),
                priority="high",
                status="closed",
                resolved_at=moment(2024, 3, 31, 12),
            ),
            ticket("t5", "a", moment(2024, 4, 1), priority="urgent"),
        ],
        survey_responses=[
            answer("r1", "a", "c1", 3, moment(2024, 3, 1)),
            answer("r2", "a", "c1", 10, moment(2024, 3, 20)),
            answer("r3", "a", "c2", 8, moment(2024, 2, 1)),
            answer("r4", "a", "c3", 6, moment(2024, 3, 10)),
            answer("r5", "a", "c4", 0, moment(2024, 4, 5)),
            answer("r6", "a", None, 9, moment(2024, 3, 15)),
            answer("r7", "a", "c5", 1, moment(2024, 3, 15), scale_min=1),
            answer("r8", "a", "c6", 2, moment(2024, 3, 1, 8)),
            csat("s1", 1, 1),
            csat("s2", 5, 2),
            csat("s3", 4, 20),
            csat("s4", 2, 31),
        ],
        touchpoints=[
            {"touchpoint": "p1", "account": "a", "occurred_at": moment(2024, 3, 1, 9)},
            {"touchpoint": "p2", "account": "a", "occurred_at": moment(2024, 3, 15)},
            {"touchpoint": "p3", "account": "a", "occurred_at": moment(2024, 3, 29, 23)},
            {"touchpoint": "p4", "account": "a", "occurred_at": moment(2024, 4, 1)},
        ],
    )
    return computed(inputs, [date(2024, 3, 19), date(2024, 3, 29), D], NAMES)


def test_tickets_opened_in_the_trailing_window(values: dict) -> None:
    """The 30-day window at D is 03-02..03-31: t6 (03-02, exactly D-29: in), t2, t3, t4 → 4;
    t1 opened 03-01 (exactly D-30) is out, t5 opened after D never counts."""
    assert values[("a", D, "tickets_opened_30d")] == 4
    assert values[("b", D, "tickets_opened_30d")] == 0


def test_open_tickets_at_the_end_of_the_day(values: dict) -> None:
    """At D: t2 (resolved 04-02, after D, so open at D) and t3 (never resolved) are open, both
    high or urgent; t4 was resolved on D, t1 on 03-02, and t6 is solved without a resolution
    time (never open). On 03-29: t2, t3 and nothing else (t4 opens 03-30)."""
    assert values[("a", D, "tickets_open")] == 2
    assert values[("a", D, "tickets_high_open")] == 2
    assert values[("a", date(2024, 3, 29), "tickets_open")] == 2
    assert values[("a", date(2024, 3, 19), "tickets_open")] == 0
    assert values[("b", D, "tickets_open")] == 0


def test_resolution_hours_median_of_tickets_resolved_in_the_window(values: dict) -> None:
    """Resolved in 03-02..03-31: t1 on 03-02 10:00 after 24 h (exactly D-29: in) and t4 on
    03-31 after 36 h → median 30. With 29 days (03-03..03-31) only t4 → 36. t2 resolves after
    D and t6 has no resolution time. No resolved ticket: null."""
    assert values[("a", D, "resolution_hours_median_30d")] == 30
    assert values[("a", D, "resolution_hours_median_29d")] == 36
    assert values[("b", D, "resolution_hours_median_30d")] is None


def test_nps_latest_counts_each_contact_latest_answer(values: dict) -> None:
    """At D: c1's latest is 10 (promoter; its 3 is superseded), c2 8 (passive), c3 6
    (detractor), c6 2 (detractor), the anonymous 9 (promoter); c4 answers after D and c5 on a
    1-10 scale is left out. 5 respondents, 2 promoters, 2 detractors → 0.
    On 03-19: c1 3, c2 8, c3 6, c6 2, anonymous 9 → (1 - 3) / 5 x 100 = -40."""
    assert values[("a", D, "nps_latest")] == 0
    assert values[("a", date(2024, 3, 19), "nps_latest")] == pytest.approx(-40)
    assert values[("b", D, "nps_latest")] is None


def test_detractors_are_contacts_whose_latest_answer_in_the_window_is_0_to_6(values: dict) -> None:
    """30 days at D (03-02..03-31): c1's latest there is 10, c3's 6 → 1. With 31 days
    (03-01..03-31) c6's 2 of 03-01 (exactly D-30) comes in → 2; c1 still counts with 10."""
    assert values[("a", D, "detractors_30d")] == 1
    assert values[("a", D, "detractors_31d")] == 2
    assert values[("b", D, "detractors_30d")] == 0


def test_csat_share_of_4_and_5(values: dict) -> None:
    """30 days at D: 5 (03-02), 4, 2 → 2 of 3 = 66.67 %; 31 days adds the 1 of 03-01 → 50 %.
    No answers: null."""
    assert values[("a", D, "csat_30d")] == pytest.approx(200 / 3)
    assert values[("a", D, "csat_31d")] == 50
    assert values[("b", D, "csat_30d")] is None


def test_touchpoints_and_days_since_last_touch(values: dict) -> None:
    """Touchpoints on 03-01, 03-15, 03-29 (23:00 UTC) and 04-01. At D: 30 days → 2, 31 days
    (from 03-01) → 3; the last touch was 03-29 → 2 days; on 03-29 itself → 0. Never: null."""
    assert values[("a", D, "touchpoints_30d")] == 2
    assert values[("a", D, "touchpoints_31d")] == 3
    assert values[("a", D, "days_since_last_touch")] == 2
    assert values[("a", date(2024, 3, 29), "days_since_last_touch")] == 0
    assert values[("a", date(2024, 3, 19), "days_since_last_touch")] == 4
    assert values[("b", D, "days_since_last_touch")] is None
