"""The filters every report and the overview share, read from GET parameters: a period range
(`from`, `to` as YYYY-MM), a grain (month or quarter) and a scope (the portfolio, one segment or
one CSM's book; snapshots are kept per one scope at a time, so segment and CSM do not combine)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from django.http import QueryDict

from tend.metrics.grid import next_period_start, period_start

GRAINS = (("month", "Month"), ("quarter", "Quarter"))
DEFAULT_PERIODS = {"month": 12, "quarter": 8}
MAX_PERIODS = {"month": 60, "quarter": 20}
PORTFOLIO = ("portfolio", "all")


@dataclass(frozen=True)
class ScopeChoices:
    """The scopes one can pick: `(value, label)` pairs, value as `segment:smb` or `csm:maria`."""

    segments: list[tuple[str, str]] = field(default_factory=list)
    csms: list[tuple[str, str]] = field(default_factory=list)

    def label(self, value: str) -> str | None:
        """The label of a scope value, or None when it is not one of the choices."""
        return dict(self.segments + self.csms).get(value)


@dataclass(frozen=True)
class ReportFilters:
    """A validated set of filters: the periods `first`..`last` (first days of the first and
    last period) at `grain`, and the scope the snapshots are read for."""

    grain: str
    first: date
    last: date
    scope: str = ""
    scope_label: str = "All accounts"

    @property
    def scope_type(self) -> str:
        return self.scope.split(":", 1)[0] if self.scope else PORTFOLIO[0]

    @property
    def scope_key(self) -> str:
        return self.scope.split(":", 1)[1] if self.scope else PORTFOLIO[1]

    @property
    def last_day(self) -> date:
        """The last day of the last period (inclusive)."""
        return next_period_start(self.grain, self.last) - timedelta(days=1)

    def periods(self) -> list[date]:
        """First days of every period in the range, oldest first."""
        starts = []
        start = self.first
        while start <= self.last:
            starts.append(start)
            start = next_period_start(self.grain, start)
        return starts

    def params(self, **changes: str) -> str:
        """The query string of these filters, with some changed (for links and forms)."""
        values = {
            "grain": self.grain,
            "from": self.first.strftime("%Y-%m"),
            "to": self.last.strftime("%Y-%m"),
            "scope": self.scope,
        }
        values |= changes
        return urlencode({k: v for k, v in values.items() if v})

    def with_scope(self, scope: str, label: str) -> ReportFilters:
        return replace(self, scope=scope, scope_label=label)


def period_label(grain: str, start: date) -> str:
    """ "Nov 2026" for a month, "2026 Q4" for a quarter."""
    if grain == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return start.strftime("%b %Y")


def parse_month(text: str | None) -> date | None:
    """The first day of a YYYY-MM month, or None when the text is not one."""
    if not text:
        return None
    try:
        year, month = (int(part) for part in text.strip().split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        return None


def shift_periods(grain: str, start: date, count: int) -> date:
    """The period `count` periods before `start` (count >= 0)."""
    months = count * (3 if grain == "quarter" else 1)
    index = start.year * 12 + start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def parse_filters(query: QueryDict, anchor: date, choices: ScopeChoices) -> ReportFilters:
    """Filters from GET parameters; anything missing or invalid falls back to the last
    `DEFAULT_PERIODS` periods up to `anchor` (the last day KPIs were computed for), portfolio."""
    grain = query.get("grain", "month")
    if grain not in DEFAULT_PERIODS:
        grain = "month"
    last_month = parse_month(query.get("to")) or anchor
    last = period_start(grain, last_month)
    first_month = parse_month(query.get("from"))
    if first_month is None:
        first = shift_periods(grain, last, DEFAULT_PERIODS[grain] - 1)
    else:
        first = period_start(grain, first_month)
    if first > last:
        first, last = last, first
    if first < shift_periods(grain, last, MAX_PERIODS[grain] - 1):
        first = shift_periods(grain, last, MAX_PERIODS[grain] - 1)
    filters = ReportFilters(grain, first, last)
    scope = query.get("scope", "")
    label = choices.label(scope)
    if label is not None:
        filters = filters.with_scope(scope, label)
    return filters
