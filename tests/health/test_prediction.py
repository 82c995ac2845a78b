"""On a demo company: the default scorecard is backtested, weights and a churn model are
learned, and on the held-out period (the last 90 labelled days, after a 90-day gap) the
scorecard with the learned weights ranks churn at least as well as the default scorecard, and
the churn model's probabilities beat both chance and the base rate.

The bars are no tolerance, yet they fail when learning breaks: with the demo's labels shuffled
(measured by hand on this company) the learned scorecard's AUC falls well below the default's
and the churn model's Brier score rises above the base rate's; see bench/health_scores.py for
the same figures on 500 accounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tend.cli import app
from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.health.actions import ensure_default_scorecard
from tend.health.churn_scoring import churn_model_path
from tend.health.models import ScorecardVersion
from tend.health.prediction import backtest_version, health_list, learn_version
from tend.usage.rollups import run_rollup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_churn_model_left() -> Iterator[None]:
    """`learn_version` keeps its churn model in the data directory: remove it afterwards."""
    yield
    churn_model_path().unlink(missing_ok=True)


@pytest.fixture
def demo_company() -> None:
    """400 accounts over 24 months, very light on events: the train part holds about 190
    churned account-weeks (fewer accounts leave a handful of churned accounts to learn from,
    and the comparison would be a coin toss)."""
    company = generate_company(DemoConfig(accounts=400, months=24, seed=7, intensity=0.03))
    write_company(company)
    run_rollup()


def test_backtest_learning_and_lists_on_the_demo_company(demo_company: None) -> None:
    version = ensure_default_scorecard()
    result = backtest_version(version)
    assert 0.5 < result["roc_auc"] <= 1.0
    version.refresh_from_db()
    assert version.backtest["roc_auc"] == result["roc_auc"]

    outcome = learn_version(version, accept=True)
    # The learned weights as a scorecard, scored like any scorecard, on the held-out days.
    assert outcome["learned_scorecard_test_auc"] >= outcome["scorecard_test_auc"]
    learned = outcome["learned_weights"]
    assert learned["on_scores"] and str(learned["regularisation_c"]) in learned["validation_aucs"]
    model = outcome["churn_model"]
    assert model["test_auc"] > 0.6
    assert model["test_brier"] < model["base_rate_brier"]
    assert sum(b["rows"] for b in model["reliability"]) == model["test_rows"]

    saved = ScorecardVersion.objects.get(
        scorecard=version.scorecard, number=outcome["saved_version"]
    )
    groups = saved.config["groups"]
    assert all(g.get("aggregation", "weighted_mean") == "weighted_mean" for g in groups)
    weights = [m["weight"] for g in groups for m in g["measures"]]
    assert min(weights) > 0 and sum(weights) == pytest.approx(100, abs=0.1)

    assert isinstance(health_list("collections"), list)
    refreshed = CliRunner().invoke(app, ["lists", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    listed = CliRunner().invoke(app, ["lists", "patterns", "--format", "json"])
    assert listed.exit_code == 0, listed.output
