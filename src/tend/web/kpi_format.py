"""How KPI values read on a page: by unit (ratio as %, money in the reporting currency, counts),
and how a change between two periods is told in words, arrows and colour together."""

from __future__ import annotations

from dataclasses import dataclass

from tend.metrics.registry import KPIS
from tend.web.templatetags.money import MISSING, format_money


@dataclass(frozen=True)
class KpiInfo:
    """What a page needs to know to show a KPI: its title, display unit and good direction."""

    name: str
    title: str
    unit: str
    higher_is_better: bool | None = True


# Usage KPIs shown by the reports before (or without) their pipelines being registered; the
# registry wins once a name is in it.
UNREGISTERED = {
    "dau": KpiInfo("dau", "Daily active users", "count"),
    "wau": KpiInfo("wau", "Weekly active users", "count"),
    "mau": KpiInfo("mau", "Monthly active users", "count"),
    "stickiness": KpiInfo("stickiness", "Stickiness (DAU/MAU)", "ratio"),
    "feature_adoption": KpiInfo("feature_adoption", "Feature adoption", "percent"),
    "breadth": KpiInfo("breadth", "Breadth of use", "ratio"),
    "user_churn": KpiInfo("user_churn", "User churn", "percent", higher_is_better=False),
}
# Registered as "ratio" but read as a plain number per thing, not as a share.
PLAIN_NUMBERS = {"tickets_per_account", "events_per_session"}
POINT_UNITS = {"ratio", "percent"}


def kpi_info(name: str) -> KpiInfo:
    """Title, display unit and direction of a KPI; unknown names show as plain numbers."""
    kpi = KPIS.get(name)
    if kpi is None:
        return UNREGISTERED.get(name, KpiInfo(name, name.replace("_", " ").capitalize(), "number"))
    unit = "number" if name in PLAIN_NUMBERS else kpi.unit
    return KpiInfo(name, kpi.title, unit, kpi.higher_is_better)


def format_value(value: float | None, unit: str, currency: str = "") -> str:
    """One value as people read it: "104.0 %", "$12,340", "1,234", "3.5 h"."""
    if value is None:
        return MISSING
    if unit == "money":
        return format_money(value, currency, places=0)
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "minutes":
        return f"{value:,.1f} min"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "score":
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def chart_value(value: float | None, unit: str) -> float | None:
    """A value on a chart's axis: ratios as percentages, rounded to what the eye can see."""
    if value is None:
        return None
    if unit == "ratio":
        return round(value * 100, 2)
    return round(value, 2)


@dataclass(frozen=True)
class Change:
    """The move from the previous period: text ("+1.2 pts"), arrow, and whether it is good."""

    text: str
    direction: str  # up, down, flat
    verdict: str  # better, worse, or '' when neither direction is good in itself

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "▬")

    @property
    def words(self) -> str:
        """The change in words for screen readers and for people who do not read colour."""
        if self.direction == "flat":
            return "unchanged"
        return f"{self.direction} {self.text}" + (f", {self.verdict}" if self.verdict else "")


def change(current: float | None, previous: float | None, info: KpiInfo) -> Change | None:
    """The change from `previous` to `current`: in points for shares, relative otherwise."""
    if current is None or previous is None:
        return None
    if info.unit in POINT_UNITS:
        scale = 100 if info.unit == "ratio" else 1
        delta = (current - previous) * scale
        text = f"{abs(delta):.1f} pts"
    elif info.unit == "score":
        delta = current - previous
        text = f"{abs(delta):.1f} pts"
    else:
        if previous == 0:
            return None
        delta = (current - previous) / abs(previous) * 100
        text = f"{abs(delta):.1f} %"
    if round(delta, 1) == 0:
        return Change("0", "flat", "")
    direction = "up" if delta > 0 else "down"
    verdict = ""
    if info.higher_is_better is not None:
        verdict = "better" if (delta > 0) == info.higher_is_better else "worse"
    return Change(text, direction, verdict)
