"""The team page: each CSM's book of business and workload, from live counts and snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tend.config.settings import get_settings
from tend.core.models import User
from tend.health.portfolio_queries import BandCount, band_mix_by_owner, current_health
from tend.metrics.grid import period_start
from tend.metrics.queries import latest_run
from tend.playbooks.queries import TaskCounts, task_counts_by_assignee
from tend.web.kpi_format import format_value
from tend.web.kpi_series import bar_chart
from tend.web.permissions import signed_in
from tend.web.report_filters import period_label
from tend.web.report_queries import BookCounts, book_counts, book_snapshot_values, team_members

BOOK_KPIS = ["mrr", "days_since_last_touchpoint"]


@dataclass(frozen=True)
class BookRow:
    """One line of the team table: a CSM (None for unassigned accounts) and their book."""

    member: User | None
    counts: BookCounts
    mrr: float | None
    mrr_share: float | None
    days_since_touch: float | None
    currency: str
    tasks: TaskCounts
    health: tuple[BandCount, ...]

    @property
    def name(self) -> str:
        return self.member.display_name if self.member else "Unassigned"

    @property
    def mrr_text(self) -> str:
        return format_value(self.mrr, "money", self.currency)

    @property
    def share_text(self) -> str:
        return format_value(self.mrr_share, "ratio")

    @property
    def days_text(self) -> str:
        return format_value(self.days_since_touch, "days")

    @property
    def touchpoints_per_account(self) -> str:
        if not self.counts.accounts:
            return "—"
        return f"{self.counts.touchpoints_30d / self.counts.accounts:.1f}"


@signed_in
def team(request: HttpRequest) -> HttpResponse:
    """Each CSM's accounts, MRR and its share, health mix, open tickets, touchpoints in 30 days,
    the median days since the last touch and open/overdue tasks; plus the accounts no one
    owns."""
    run = latest_run()
    anchor = run.last_day if run else timezone.localdate()
    month = period_start("month", anchor)
    currency = get_settings().reporting_currency
    counts = book_counts()
    tasks = task_counts_by_assignee(timezone.localdate())
    health = band_mix_by_owner(current_health())
    members = list(team_members())
    snapshot = book_snapshot_values(BOOK_KPIS, month, [member.username for member in members])
    portfolio_mrr = snapshot.get(("mrr", ""))
    rows = []
    for member in members:
        mrr = snapshot.get(("mrr", member.username))
        share = mrr / portfolio_mrr if mrr is not None and portfolio_mrr else None
        rows.append(
            BookRow(
                member,
                counts.get(member.pk, BookCounts()),
                mrr,
                share,
                snapshot.get(("days_since_last_touchpoint", member.username)),
                currency,
                tasks.get(member.pk, TaskCounts(0, 0)),
                tuple(health.get(member.pk, ())),
            )
        )
    unassigned = counts.get(None)
    if unassigned and unassigned.accounts:
        rows.append(
            BookRow(
                None,
                unassigned,
                None,
                None,
                None,
                currency,
                tasks.get(None, TaskCounts(0, 0)),
                tuple(health.get(None, ())),
            )
        )
    chart = bar_chart(
        "Accounts, open tickets and open tasks per CSM",
        [row.name for row in rows],
        [
            ("Accounts", [float(row.counts.accounts) for row in rows]),
            ("Open tickets", [float(row.counts.open_tickets) for row in rows]),
            ("Open tasks", [float(row.tasks.open) for row in rows]),
        ],
        "count",
    )
    context = {
        "rows": rows,
        "month": period_label("month", month),
        "chart": chart if rows else None,
        "run": run,
    }
    return render(request, "web/team.html", context)
