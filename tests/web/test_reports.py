"""Report pages read KPI snapshots and cohort tables, format them by unit, filter by period,
grain and scope, and redraw in place for htmx."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tend.web.kpi_format import KpiInfo, change, format_value, kpi_info
from tests.factories import AccountFactory, ContactFactory, SurveyFactory, SurveyResponseFactory
from tests.web.snapshot_data import MONTHS, revenue_rows, row, series, store, store_cohorts


def chart_spec(html: str, data_id: str) -> dict[str, Any]:
    """The JSON a chart is drawn from (embedded with json_script)."""
    part = html.split(f'id="{data_id}" type="application/json">')[1].split("</script>")[0]
    return json.loads(part)


def table_cells(html: str, section_id: str) -> str:
    """The HTML of one report section, from its opening tag to the next section."""
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


@pytest.fixture
def revenue(db: None) -> None:
    quarters = [
        row("mrr", date(2026, 1, 1), 10_500, grain="quarter"),
        row("mrr", date(2026, 4, 1), 12_000, grain="quarter"),
    ]
    store(revenue_rows() + revenue_rows(("segment", "smb"), scale=0.5) + quarters)


def test_revenue_report_shows_snapshot_values_formatted_by_unit(
    signed_in_client: Client, revenue: None
) -> None:
    response = signed_in_client.get(reverse("web:report-revenue"))

    assert response.status_code == 200
    html = response.content.decode()
    cards = {card.info.name: card for card in response.context["cards"]}
    assert cards["nrr"].text == "104.0 %"
    assert cards["mrr"].text == "$12,000"
    assert cards["logo_churn_rate"].text == "5.0 %"
    assert cards["arpa"].text == "$273"
    assert cards["nrr"].change is not None
    assert cards["nrr"].change.text == "6.0 pts"
    assert cards["nrr"].change.verdict == "better"
    assert cards["logo_churn_rate"].change is not None
    assert cards["logo_churn_rate"].change.verdict == "worse"  # churn went up
    assert "104.0 %" in html
    assert "better" in html and "worse" in html  # the change is told in words, not only colour
    mrr_chart = chart_spec(html, "mrr-trend-data")
    assert mrr_chart["labels"][0] == "Jul 2025"  # twelve months up to the run's last month
    assert mrr_chart["labels"][-1] == "Jun 2026"
    assert mrr_chart["datasets"][0]["data"][-6:] == [10000, 10400, 10500, 10700, 10500, 12000]
    retention = chart_spec(html, "retention-data")
    assert retention["unit"] == "ratio"
    assert retention["datasets"][0]["data"][-1] == 104.0
    assert "Jun 2026" in table_cells(html, "mrr-trend")


def test_waterfall_reconciles_the_chosen_month(signed_in_client: Client, revenue: None) -> None:
    response = signed_in_client.get(reverse("web:report-revenue"))
    html = response.content.decode()
    waterfall = chart_spec(html, "mrr-movements-data")
    assert waterfall["labels"] == [
        "Start", "New", "Reactivation", "Expansion", "Contraction", "Churn", "End",
    ]  # fmt: skip
    assert waterfall["amounts"] == [10500, 1500, 0, 700, -200, -500, 12000]
    assert waterfall["datasets"][0]["data"][-1] == [0, 12000]
    assert waterfall["datasets"][0]["data"][4] == [12700, 12500]  # contraction steps down
    section = table_cells(html, "mrr-movements")
    assert "+$1,500" in section and "-$500" in section and "$10,500" in section

    may = signed_in_client.get(reverse("web:report-revenue"), {"movements": "2026-05"})
    waterfall = chart_spec(may.content.decode(), "mrr-movements-data")
    assert waterfall["amounts"] == [10700, 100, 0, 0, 0, -300, 10500]
    assert 'value="2026-05" selected' in may.content.decode()


def test_scope_range_and_grain_filters(signed_in_client: Client, revenue: None) -> None:
    url = reverse("web:report-revenue")
    smb = signed_in_client.get(url, {"scope": "segment:smb", "from": "2026-03", "to": "2026-06"})
    cards = {card.info.name: card for card in smb.context["cards"]}
    assert cards["mrr"].text == "$6,000"
    assert smb.context["filters"].scope_label == "Smb"
    chart = chart_spec(smb.content.decode(), "mrr-trend-data")
    assert chart["labels"] == ["Mar 2026", "Apr 2026", "May 2026", "Jun 2026"]
    assert 'value="segment:smb" selected' in smb.content.decode()

    unknown = signed_in_client.get(url, {"scope": "segment:nope", "grain": "week", "to": "x"})
    assert unknown.status_code == 200
    assert unknown.context["filters"].scope == ""  # unknown scope: the portfolio
    assert unknown.context["filters"].grain == "month"

    quarterly = signed_in_client.get(url, {"grain": "quarter"})
    assert quarterly.context["filters"].grain == "quarter"
    chart = chart_spec(quarterly.content.decode(), "mrr-trend-data")
    assert chart["labels"][-2:] == ["2026 Q1", "2026 Q2"]
    assert len(chart["labels"]) == 8
    assert chart["datasets"][0]["data"][-2:] == [10500, 12000]
    assert "mrr-movements-data" not in quarterly.content.decode()  # no quarterly movements
    assert "No data yet" in quarterly.content.decode()


def test_htmx_filter_change_returns_only_the_report_body(
    signed_in_client: Client, revenue: None
) -> None:
    response = signed_in_client.get(
        reverse("web:report-revenue"), {"scope": "segment:smb"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="report-filters"' not in html
    assert "mrr-trend-data" in html
    assert "Smb" in html
    tabs = html.split('id="report-tabs"')[1].split("</nav>")[0]
    assert 'hx-swap-oob="true"' in tabs  # the tabs keep the new filters
    assert f"{reverse('web:report-voice')}?grain=month&amp;from=2025-07&amp;to=2026-06" in tabs
    assert "scope=segment%3Asmb" in tabs
    assert response["Vary"].count("HX-Request") == 1


def test_reports_without_snapshots_say_no_data_yet(signed_in_client: Client) -> None:
    for name in (
        "web:report-revenue",
        "web:report-voice",
        "web:report-support",
        "web:report-usage",
    ):
        response = signed_in_client.get(reverse(name))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "No data yet" in html, name
        assert "have not been computed yet" in html


def test_usage_report_shows_activity_and_feature_adoption(signed_in_client: Client) -> None:
    rows = series("mau", [100, 110, 120, 130, 140, 150]) + series(
        "stickiness", [0.2, 0.21, 0.22, 0.2, 0.25, 0.3]
    )
    rows += [
        row("feature_adoption", MONTHS[-1], 62.5, dimension="reports", base=8),
        row("feature_adoption", MONTHS[-1], 25.0, dimension="exports", base=8),
        row("feature_adoption", MONTHS[-2], 99.0, dimension="exports", base=8),
    ]
    store(rows)
    response = signed_in_client.get(reverse("web:report-usage"))
    html = response.content.decode()
    cards = {card.info.name: card for card in response.context["cards"]}
    assert cards["mau"].text == "150"
    assert cards["stickiness"].text == "30.0 %"
    assert cards["dau"].text == "—"
    features = chart_spec(html, "features-data")
    assert features["labels"] == ["Reports", "Exports"]  # the latest period, largest first
    assert features["datasets"][0]["data"] == [62.5, 25.0]
    assert "62.5 %" in table_cells(html, "features")
    assert "In Jun 2026." in html


def test_support_report_sums_tickets_by_topic_and_priority(signed_in_client: Client) -> None:
    rows = series("first_contact_resolution", [70, 72, 75, 71, 69, 80])
    rows += series("first_response_hours_median", [3, 2.5, 2, 2.2, 2.1, 1.5])
    rows += series("tickets_opened", [10, 12, 9, 11, 13, 8])
    rows += series("tickets_opened", [4, 5, 3, 4, 6, 2], dimension="topic:bug")
    rows += series("tickets_opened", [6, 7, 6, 7, 7, 6], dimension="topic:how_to")
    rows += series("tickets_opened", [1, 0, 0, 1, 1, 0], dimension="priority:urgent")
    store(rows)
    response = signed_in_client.get(reverse("web:report-support"))
    html = response.content.decode()
    cards = {card.info.name: card for card in response.context["cards"]}
    assert cards["first_contact_resolution"].text == "80.0 %"
    assert cards["first_response_hours_median"].text == "1.5 h"
    topics = chart_spec(html, "topics-data")
    assert topics["labels"] == ["How to", "Bug"]
    assert topics["datasets"][0]["data"] == [39, 24]
    assert "62%" in table_cells(html, "topics")
    assert chart_spec(html, "priorities-data")["labels"] == ["Urgent"]


def test_voice_report_shows_nps_distribution_and_verbatims(signed_in_client: Client) -> None:
    rows = series("nps", [10, 20, 15, 30, 25, 42.0], base=50)
    rows += series("nps_promoters", [20, 22, 21, 25, 24, 28])
    rows += series("nps_passives", [10, 10, 10, 10, 10, 10])
    rows += series("nps_detractors", [15, 12, 14, 10, 11, 12])
    rows += series("nps", [1, 2, 3, 4, 5, 6], scope=("segment", "smb"))
    store(rows)
    smb = AccountFactory(name="Small Co", traits={"segment": "smb"})
    big = AccountFactory(name="Big Co", traits={"segment": "enterprise"})
    nps = SurveyFactory()
    answered = datetime(2026, 6, 10, tzinfo=UTC)
    for account, comment in [(smb, "Love the exports"), (big, "Too slow for us")]:
        SurveyResponseFactory(
            survey=nps,
            contact=ContactFactory(account=account),
            account=account,
            comment=comment,
            answered_at=answered,
        )
    SurveyResponseFactory(
        survey=nps, account=smb, comment="Long ago", answered_at=datetime(2024, 1, 1, tzinfo=UTC)
    )

    response = signed_in_client.get(reverse("web:report-voice"))
    html = response.content.decode()
    cards = {card.info.name: card for card in response.context["cards"]}
    assert cards["nps"].text == "42.0"
    assert cards["nps"].change is not None
    assert cards["nps"].change.text == "17.0 pts"
    distribution = chart_spec(html, "nps-distribution-data")
    assert distribution["datasets"][0]["label"] == "Promoters (9-10)"
    assert distribution["datasets"][0]["data"][-1] == 56.0  # 28 of 50 answers
    assert "28 (56%)" in table_cells(html, "nps-distribution")
    assert "Love the exports" in html and "Too slow for us" in html
    assert "Long ago" not in html

    smb_only = signed_in_client.get(reverse("web:report-voice"), {"scope": "segment:smb"})
    assert "Love the exports" in smb_only.content.decode()
    assert "Too slow for us" not in smb_only.content.decode()


def logo_rows(group: str, grouping: str) -> list[dict[str, Any]]:
    return [
        {
            "grouping": grouping,
            "group": group,
            "cohort_month": "2026-01-01",
            "months_since_start": k,
            "accounts": paying,
            "cohort_size": 10,
            "retention": paying / 10,
        }
        for k, paying in enumerate([10, 9, 8])
    ]


def test_cohort_triangle_and_survival_curves(signed_in_client: Client, revenue: None) -> None:
    store_cohorts(
        {
            "logo_retention": logo_rows("all", "portfolio") + logo_rows("smb", "segment"),
            "survival_curves": [
                {"grouping": "portfolio", "group": "all", "months": 0.0, "survival": 1.0},
                {"grouping": "portfolio", "group": "all", "months": 1.5, "survival": 0.8},
                {"grouping": "segment", "group": "smb", "months": 0.0, "survival": 1.0},
                {"grouping": "segment", "group": "smb", "months": 2.2, "survival": 0.5},
                {"grouping": "plan", "group": "month", "months": 0.0, "survival": 1.0},
            ],
            "survival_medians": [
                {"grouping": "portfolio", "group": "all", "accounts": 20, "churned": 4,
                 "median_months": None},
                {"grouping": "segment", "group": "smb", "accounts": 10, "churned": 5,
                 "median_months": 2.2},
            ],
        }
    )  # fmt: skip
    response = signed_in_client.get(reverse("web:report-revenue"))
    html = response.content.decode()
    triangle = table_cells(html, "cohorts")
    assert "Jan 2026" in triangle
    assert "90.0 %" in triangle and "80.0 %" in triangle
    assert 'title="9 of 10 accounts paying"' in triangle
    survival = chart_spec(html, "survival-data")
    assert [d["label"] for d in survival["datasets"]] == ["All accounts", "Smb"]
    assert survival["labels"] == ["0", "1", "2"]
    assert survival["datasets"][0]["data"] == [100.0, 100.0, 80.0]
    assert survival["datasets"][1]["data"] == [100.0, 100.0, 100.0]
    assert "2.2 months" in table_cells(html, "survival")
    assert "not reached" in table_cells(html, "survival")

    by_csm = signed_in_client.get(reverse("web:report-revenue"), {"scope": "csm:casey"})
    assert by_csm.context["filters"].scope == ""  # casey has no snapshots: not a choice
    store(revenue_rows() + revenue_rows(("csm", "casey")))  # a new run replaces the months
    by_csm = signed_in_client.get(reverse("web:report-revenue"), {"scope": "csm:casey"})
    assert by_csm.context["filters"].scope == "csm:casey"
    assert "showing the portfolio" in table_cells(by_csm.content.decode(), "cohorts")


def test_report_index_lists_every_report(signed_in_client: Client) -> None:
    html = signed_in_client.get(reverse("web:reports")).content.decode()
    for name in (
        "web:report-revenue",
        "web:report-voice",
        "web:report-support",
        "web:report-usage",
    ):
        assert f'href="{reverse(name)}"' in html


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1.04, "ratio", "104.0 %"),
        (0.0512, "ratio", "5.1 %"),
        (47.25, "percent", "47.2 %"),
        (259423.4, "money", "$259,423"),
        (1234.0, "count", "1,234"),
        (3.54, "hours", "3.5 h"),
        (21.94, "score", "21.9"),
        (None, "ratio", "—"),
    ],
)
def test_values_are_formatted_by_unit(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit, "USD") == text


def test_changes_are_told_in_points_or_percent_with_a_verdict() -> None:
    nrr = kpi_info("nrr")
    moved = change(1.04, 0.98, nrr)
    assert moved is not None
    assert (moved.text, moved.direction, moved.verdict) == ("6.0 pts", "up", "better")
    churn = change(0.02, 0.01, kpi_info("logo_churn_rate"))
    assert churn is not None and churn.verdict == "worse"
    mrr = change(11000, 10000, kpi_info("mrr"))
    assert mrr is not None and mrr.text == "10.0 %"
    neutral = change(5, 4, KpiInfo("tickets_opened", "Tickets", "count", None))
    assert neutral is not None and neutral.verdict == ""
    assert change(None, 1, nrr) is None
    assert kpi_info("tickets_per_account").unit == "number"
