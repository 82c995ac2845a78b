"""The shipped default scorecard on a small demo company, from the app database to snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow.compute as pc
import pytest

from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.health import queries
from tend.health.actions import ensure_default_scorecard, store_health_snapshots
from tend.health.measures import measure_values
from tend.health.models import HealthSnapshot
from tend.health.scoring import assign_scorecards, lookup_days, score
from tend.metrics.inputs import duckdb_inputs
from tend.metrics.load import read_app_tables
from tend.usage.rollups import run_rollup

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
END = datetime(2026, 3, 31, tzinfo=UTC)


def test_the_default_scorecard_scores_the_demo_company_out_of_the_box() -> None:
    write_company(generate_company(DemoConfig(accounts=30, months=6, seed=3, end=END)))
    while not run_rollup(batch_size=200_000, max_batches=50).caught_up:
        pass
    inputs = duckdb_inputs(read_app_tables())
    version = ensure_default_scorecard()
    configs = queries.active_versions()
    assert list(configs) == [version]
    mine = assign_scorecards(configs, inputs.con.to_pyarrow(inputs.accounts))[version]
    days = [date(2026, 3, 30) - timedelta(days=n) for n in (7, 0)]
    config = configs[version]
    measured = measure_values(inputs, lookup_days(config, days), config.metrics())
    table = score(config, measured, mine, days, overrides=queries.override_table())

    assert table.num_rows > 20
    assert table["score"].null_count == 0
    coverage = sorted(table["coverage"].to_pylist())
    assert coverage[0] > 0 and coverage[len(coverage) // 2] >= 0.5
    assert set(table["band"].to_pylist()) <= {"unhealthy", "at risk", "healthy"}
    assert len(set(table["band"].to_pylist())) >= 2
    measure_columns = [c for c in table.column_names if c.startswith("contribution:")]
    for row in table.to_pylist():
        assert sum(row[c] for c in measure_columns) == pytest.approx(row["score"], abs=1e-9)
    latest = table.filter(pc.equal(table["day"], days[-1]))
    assert latest["change_7d"].null_count < latest.num_rows

    assert store_health_snapshots(version, table) == table.num_rows
    snapshot = HealthSnapshot.objects.filter(day=days[-1]).select_related("version").first()
    assert snapshot is not None
    explained = queries.explain(snapshot)
    parts = [m["contribution"] for g in explained["groups"] for m in g["measures"]]
    assert sum(parts) == pytest.approx(snapshot.score, abs=1e-2)
