"""Voice-of-the-customer measures from survey answers (kpis.md, "Voice of the customer").

As in tend.metrics.voice, scales are never mixed: NPS counts 0-10 answers of NPS surveys, CSAT
1-5 answers of CSAT surveys, each with a score inside the scale. An answer counts from the day it
was given (UTC). A contact answering twice on one day counts with the later answer; answers
without a contact each stand for themselves.
"""

from __future__ import annotations

import ibis

from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    interval_changes,
    literal_day,
    ratio,
    trailing_changes,
)
from tend.metrics.usage_windows import days_after
from tend.metrics.voice import CSAT_SCALE, DETRACTOR_MAX, NPS_SCALE, PROMOTER_MIN, SATISFIED_MIN


def answers_on_scale(frame: MeasureFrame, scale: tuple[str, int, int]) -> ibis.Table:
    """Answers of `scale`'s surveys with an account and an in-range score, given by the last
    day: `account, respondent, response, answered_at, day, score`."""
    kind, low, high = scale
    answers = frame.inputs.survey_responses
    kept = answers.filter(
        answers.kind == kind,
        answers.scale_min == low,
        answers.scale_max == high,
        answers.score.between(low, high),
        answers.account.notnull(),
        answers.answered_at.notnull(),
    )
    kept = kept.select(
        "account",
        "response",
        "answered_at",
        "score",
        respondent=kept.contact.coalesce("response:" + kept.response.coalesce("")),
        day=kept.answered_at.date(),
    )
    return kept.filter(kept.day <= literal_day(frame.last_day))


def nps_answer_days(frame: MeasureFrame) -> ibis.Table:
    """Each respondent's last NPS answer of each day, with the day of their next answer
    (`account, respondent, day, next_day, score`)."""

    def build() -> ibis.Table:
        answers = answers_on_scale(frame, NPS_SCALE)
        latest_first = ibis.window(
            group_by=[answers.account, answers.respondent, answers.day],
            order_by=[answers.answered_at.desc(), answers.response.desc()],
        )
        ranked = answers.mutate(answer_rank=ibis.row_number().over(latest_first))
        daily = ranked.filter(ranked.answer_rank == 0)
        following = ibis.window(group_by=[daily.account, daily.respondent], order_by=daily.day)
        return daily.select(
            "account",
            "respondent",
            "day",
            "score",
            next_day=daily.day.lead().over(following),
        )

    return frame.shared("nps_answer_days", build)


def nps_latest(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """NPS over each respondent's latest answer given by D: % promoters - % detractors."""
    answers = nps_answer_days(frame)
    counted = {
        "respondents": ibis.literal(1, "int64"),
        "promoters": (answers.score >= PROMOTER_MIN).cast("int64"),
        "detractors": (answers.score <= DETRACTOR_MAX).cast("int64"),
    }
    changes = interval_changes(answers, "day", "next_day", counted)
    return Running(
        changes,
        lambda t: 100 * ratio(t.promoters - t.detractors, t.respondents),
        sums=tuple(counted),
    )


def detractors(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Respondents whose latest NPS answer in the trailing N days is 0-6: an answer is the
    latest in the window from its day until the respondent's next answer or N days later."""
    answers = nps_answer_days(frame)
    window_end = days_after(answers.day, request.days)
    bounded = answers.mutate(until=ibis.least(answers.next_day.coalesce(window_end), window_end))
    low = bounded.filter(bounded.score <= DETRACTOR_MAX)
    changes = interval_changes(low, "day", "until", {"detractors": ibis.literal(1, "int64")})
    return Running(changes, lambda t: t.detractors, sums=("detractors",))


def csat(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """% of the CSAT answers in the trailing N days that are 4 or 5 (null: no answer)."""
    answers = answers_on_scale(frame, CSAT_SCALE)
    facts = answers.select(
        "account",
        "day",
        answers=ibis.literal(1, "int64"),
        satisfied=(answers.score >= SATISFIED_MIN).cast("int64"),
    )
    changes = trailing_changes(frame, facts, ["answers", "satisfied"], request.days)
    return Running(
        changes, lambda t: 100 * ratio(t.satisfied, t.answers), sums=("answers", "satisfied")
    )
