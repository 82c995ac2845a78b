"""NPS, CSAT and CES from survey answers as pure Ibis pipelines (kpis.md, "Voice of the customer").

Scales are never mixed: a KPI counts only answers whose survey `kind` and `scale_min..scale_max`
are the KPI's own (NPS 0-10, CSAT 1-5, CES 1-7), with a score inside that scale. Answers on any
other scale (a 1-10 "NPS", a 1-7 CSAT) are left out of every KPI here rather than rescaled.
Answers without an account are in no scope, not even the portfolio. Only answers given before
`grid.as_of` count. A (period, scope) without a counted answer has no row.

Response rate (answers / surveys sent) is not computed: Tend does not record survey sends yet.
"""

from __future__ import annotations

import ibis

from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline

GROUP_KEYS = ["grain", "period_start", "period_end", "scope_type", "scope_key"]

NPS_SCALE = ("nps", 0, 10)
CSAT_SCALE = ("csat", 1, 5)
CES_SCALE = ("ces", 1, 7)
PROMOTER_MIN = 9  # 9-10
DETRACTOR_MAX = 6  # 0-6; 7-8 are passives
SATISFIED_MIN = 4  # CSAT 4-5


def answers_on_scale(inputs: Inputs, grid: Grid, scale: tuple[str, int, int]) -> ibis.Table:
    """Answers of surveys of `scale`'s kind and range, with an in-range score, known by as_of,
    with the `day` they were given on."""
    kind, low, high = scale
    answers = inputs.survey_responses
    kept = answers.filter(
        answers.kind == kind,
        answers.scale_min == low,
        answers.scale_max == high,
        answers.score.between(low, high),
        answers.answered_at < ibis.literal(grid.as_of),
    )
    return kept.mutate(day=kept.answered_at.date())


def in_periods(facts: ibis.Table, grid: Grid) -> ibis.Table:
    """Each fact once per period (of every grain) whose days hold its `day`."""
    periods = grid.periods
    return facts.join(periods, [periods.period_start <= facts.day, facts.day < periods.period_end])


def latest_answer_per_contact(answers_in_periods: ibis.Table) -> ibis.Table:
    """Within each period, only each contact's latest answer (ties: the greatest response id).

    An answer without a contact stands for itself, so anonymous answers each count once.
    """
    answers = answers_in_periods.mutate(
        respondent=answers_in_periods.contact.coalesce("response:" + answers_in_periods.response)
    )
    latest_first = ibis.window(
        group_by=[answers.grain, answers.period_start, answers.respondent],
        order_by=[answers.answered_at.desc(), answers.response.desc()],
    )
    ranked = answers.mutate(answer_rank=ibis.row_number().over(latest_first))
    return ranked.filter(ranked.answer_rank == 0).drop("answer_rank")


def compute_nps(inputs: Inputs, grid: Grid) -> ibis.Table:
    """NPS = % promoters - % detractors over the contacts who answered in the period, with the
    promoter, passive and detractor counts; `base` is the number of contacts counted."""
    answers = latest_answer_per_contact(in_periods(answers_on_scale(inputs, grid, NPS_SCALE), grid))
    scoped = answers.join(grid.scopes, "account")
    counts = scoped.group_by(GROUP_KEYS).aggregate(
        contacts=scoped.count(),
        promoters=(scoped.score >= PROMOTER_MIN).sum(),
        detractors=(scoped.score <= DETRACTOR_MAX).sum(),
    )
    passives = counts.contacts - counts.promoters - counts.detractors
    return ibis.union(
        as_result(
            counts,
            "nps",
            100 * ratio(counts.promoters - counts.detractors, counts.contacts),
            counts.contacts,
            None,
        ),
        as_result(counts, "nps_promoters", counts.promoters, counts.contacts, None),
        as_result(counts, "nps_passives", passives, counts.contacts, None),
        as_result(counts, "nps_detractors", counts.detractors, counts.contacts, None),
    )


def compute_csat_and_ces(inputs: Inputs, grid: Grid) -> ibis.Table:
    """CSAT = % of 1-5 answers that are 4 or 5; CES = mean 1-7 answer. Every answer counts
    (a contact answering twice counts twice: each answer rates one interaction)."""
    csat_answers = in_periods(answers_on_scale(inputs, grid, CSAT_SCALE), grid)
    csat_scoped = csat_answers.join(grid.scopes, "account")
    csat = csat_scoped.group_by(GROUP_KEYS).aggregate(
        answers=csat_scoped.count(),
        satisfied=(csat_scoped.score >= SATISFIED_MIN).sum(),
    )
    ces_answers = in_periods(answers_on_scale(inputs, grid, CES_SCALE), grid)
    ces_scoped = ces_answers.join(grid.scopes, "account")
    ces = ces_scoped.group_by(GROUP_KEYS).aggregate(
        answers=ces_scoped.count(), mean_score=ces_scoped.score.mean()
    )
    return ibis.union(
        as_result(csat, "csat", 100 * ratio(csat.satisfied, csat.answers), csat.answers, None),
        as_result(ces, "ces", ces.mean_score, ces.answers, None),
    )


NPS_KPIS = (
    Kpi(
        name="nps",
        title="Net Promoter Score",
        family="voice",
        unit="score",
        definition="% promoters (9-10) - % detractors (0-6) on 0-10 surveys, -100..+100; "
        "each contact's latest answer in the period counts once",
    ),
    Kpi(
        name="nps_promoters",
        title="NPS promoters",
        family="voice",
        unit="count",
        definition="Contacts whose latest 0-10 NPS answer in the period is 9 or 10",
    ),
    Kpi(
        name="nps_passives",
        title="NPS passives",
        family="voice",
        unit="count",
        definition="Contacts whose latest 0-10 NPS answer in the period is 7 or 8",
        higher_is_better=None,
    ),
    Kpi(
        name="nps_detractors",
        title="NPS detractors",
        family="voice",
        unit="count",
        definition="Contacts whose latest 0-10 NPS answer in the period is 0 to 6",
        higher_is_better=False,
    ),
)

SCORE_KPIS = (
    Kpi(
        name="csat",
        title="Customer satisfaction (CSAT)",
        family="voice",
        unit="percent",
        definition="Answers of 4 or 5 on 1-5 CSAT surveys / all their answers in the period x 100",
    ),
    Kpi(
        name="ces",
        title="Customer effort score (CES)",
        family="voice",
        unit="score",
        definition="Mean answer on 1-7 CES surveys in the period (higher is easier)",
    ),
)

PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline(name="voice_nps", kpis=NPS_KPIS, compute=compute_nps),
    KpiPipeline(name="voice_csat_ces", kpis=SCORE_KPIS, compute=compute_csat_and_ces),
)
