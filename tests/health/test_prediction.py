"""On a demo company: the default scorecard is backtested, weights and a churn model are
learned, and the learned weights rank churn at least as well as the default scorecard on the
held-out period (a test that fails if learning broke)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tend.cli import app
from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.health.actions import ensure_default_scorecard
from tend.health.churn_scoring import churn_model_path
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
    """160 accounts over 24 months, very light on events: enough churn to learn from."""
    company = generate_company(DemoConfig(accounts=160, months=24, seed=7, intensity=0.03))
    write_company(company)
    run_rollup()


def test_backtest_learning_and_lists_on_the_demo_company(demo_company: None) -> None:
    version = ensure_default_scorecard()
    result = backtest_version(version)
    assert 0.5 < result["roc_auc"] <= 1.0
    version.refresh_from_db()
    assert version.backtest["roc_auc"] == result["roc_auc"]

    outcome = learn_version(version)
    learned_auc = outcome["learned_weights"]["test_auc"]
    assert learned_auc >= outcome["scorecard_test_auc"] - 0.02
    model = outcome["churn_model"]
    assert "error" in model or 0 <= model["test_brier"] <= 0.25

    assert isinstance(health_list("collections"), list)
    listed = CliRunner().invoke(app, ["lists", "patterns", "--format", "json"])
    assert listed.exit_code == 0, listed.output
