"""What a KPI is to the engine: its name and meaning, and the pipeline that computes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis

from tend.metrics.grid import Grid
from tend.metrics.inputs import Inputs

Unit = Literal["money", "percent", "ratio", "count", "days", "hours", "minutes", "ms", "score"]


@dataclass(frozen=True)
class Kpi:
    """One KPI of kpis.md. `unit` says how to show values: percent is 0-100, a ratio is 0-1
    (or above, like NRR). `higher_is_better` is None when neither direction is good in itself."""

    name: str
    title: str
    family: str  # revenue, voice, support, usage, team
    unit: Unit
    definition: str
    higher_is_better: bool | None = True


@dataclass(frozen=True)
class KpiPipeline:
    """Computes one or more KPIs in one pass: `compute(inputs, grid)` returns rows of
    grid.RESULT_SCHEMA whose `kpi` is one of `kpis`' names (KPIs that share work share a
    pipeline)."""

    name: str
    kpis: tuple[Kpi, ...]
    compute: Callable[[Inputs, Grid], ibis.Table]
