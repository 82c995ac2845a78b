"""Every KPI pipeline of the engine, in one explicit list (no registration by import)."""

from __future__ import annotations

from tend.metrics import billing_kpis, revenue_kpis, support, team, usage, voice
from tend.metrics.kpi import Kpi, KpiPipeline

DEFINITIONS_VERSION = "2026.11"
"""Bump when a KPI's definition changes; every snapshot records the version that made it."""

PIPELINES: tuple[KpiPipeline, ...] = (
    *revenue_kpis.PIPELINES,
    *billing_kpis.PIPELINES,
    *voice.PIPELINES,
    *support.PIPELINES,
    *team.PIPELINES,
    *usage.PIPELINES,
)
KPIS: dict[str, Kpi] = {kpi.name: kpi for pipeline in PIPELINES for kpi in pipeline.kpis}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(kpi.family for kpi in KPIS.values()))


def pipelines_for(names: set[str] | None) -> list[KpiPipeline]:
    """The pipelines that compute any of `names` (all of them for None)."""
    if names is None:
        return list(PIPELINES)
    unknown = names - set(KPIS)
    if unknown:
        raise KeyError(f"unknown KPI {', '.join(sorted(unknown))}")
    return [p for p in PIPELINES if names & {kpi.name for kpi in p.kpis}]


def expand(names: list[str]) -> set[str]:
    """KPI names from names of KPIs or families ("revenue", "usage", …)."""
    chosen: set[str] = set()
    for name in names:
        if name in FAMILIES:
            chosen |= {kpi.name for kpi in KPIS.values() if kpi.family == name}
        elif name in KPIS:
            chosen.add(name)
        else:
            known = ", ".join([*FAMILIES, *sorted(KPIS)])
            raise KeyError(f"unknown KPI or family {name!r}; known: {known}")
    return chosen
