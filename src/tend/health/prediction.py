"""Backtests, learned weights, the churn model and the lists, run on the app database: the glue
between the pure functions (labels, backtest, learning, churn_model, lists) and storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tend.health import actions, churn_model, queries
from tend.health.backtest import backtest
from tend.health.churn_model import ChurnModel, train_churn_model
from tend.health.churn_scoring import churn_model_path, current_churn_model
from tend.health.labels import churn_labels, data_end
from tend.health.learning_weights import learn_scorecard_weights, suggested_scorecard
from tend.health.measures import measure_values
from tend.health.models import ScorecardVersion
from tend.health.scorecard import ScorecardConfig
from tend.health.scoring import assign_scorecards, lookup_days, score
from tend.metrics.inputs import Inputs, duckdb_inputs
from tend.surveys.queries import comments_since

HISTORY_WEEKS = 104
"""How far back learning and backtests look: two years of weekly account-days."""
TEST_DAYS = 90
"""The last part of the labelled history held out to test (time-based split). One horizon:
train days must end a horizon before the split, so every day held out costs the train part its
latest churn too; with 180 days, the train part of a two-year-old book is its first year (the
demo company's: 90 churned account-weeks, about seven churned accounts), too little to learn
from."""


def app_inputs() -> Inputs:
    from tend.metrics.load import read_app_tables

    return duckdb_inputs(read_app_tables())


def weekly_days(inputs: Inputs, horizon_days: int) -> list[date]:
    """One day per week over the labelled history: each day's horizon ends by the data's end."""
    end = data_end(inputs)
    if end is None:
        return []
    last = end.date() - timedelta(days=horizon_days)
    return sorted(last - timedelta(weeks=n) for n in range(HISTORY_WEEKS))


def version_scores(
    version: ScorecardVersion, inputs: Inputs, days: list[date], extra_days: Sequence[date] = ()
) -> tuple[pa.Table, pa.Table]:
    """The version's scores on `days` (as of each day), computed now for the accounts it applies
    to, and the measure values behind them (on `extra_days` too when given)."""
    config = queries.version_config(version)
    values = measure_values(
        inputs, sorted({*lookup_days(config, days), *extra_days}), config.metrics()
    )
    return config_scores(config, inputs, values, days), values


def config_scores(
    config: ScorecardConfig, inputs: Inputs, values: pa.Table, days: list[date]
) -> pa.Table:
    """`config`'s scores on `days` for the accounts it applies to, from `values`."""
    accounts = inputs.con.to_pyarrow(inputs.accounts)
    assigned = assign_scorecards({0: config}, accounts)[0]
    return score(config, values, assigned, days)


def backtest_version(version: ScorecardVersion, horizon_days: int = 90) -> dict[str, Any]:
    """Backtest the version on weekly past days (scored as of each day) and store the result."""
    inputs = app_inputs()
    days = weekly_days(inputs, horizon_days)
    snapshots, _ = version_scores(version, inputs, days)
    labels = churn_labels(inputs, days, horizon_days)
    result = backtest(snapshots, labels, horizon_days).to_json()
    actions.store_backtest(version, result)
    return result


def learn_version(
    version: ScorecardVersion, horizon_days: int = 90, accept: bool = False
) -> dict[str, Any]:
    """Learn weights and a churn model on past data; compare with the version on the held-out
    period; keep the churn model for scoring; save the suggestion as a new version when
    `accept`."""
    outcome, model = learning_outcome(version, app_inputs(), horizon_days)
    if model is not None:
        model.save(churn_model_path())
    suggestion = outcome.pop("suggestion")
    if accept:
        saved = actions.save_scorecard_version(
            version.scorecard,
            suggestion,
            None,
            note=f"Learned from churn up to {outcome['split_day']}.",
        )
        outcome["saved_version"] = saved.number
    outcome.pop("learned")
    return outcome


def learning_outcome(
    version: ScorecardVersion, inputs: Inputs, horizon_days: int = 90, test_days: int = TEST_DAYS
) -> tuple[dict[str, Any], ChurnModel | None]:
    """On a time-based hold-out (the last `test_days` of labelled weekly days): the version's
    AUC; the weights learned on its normalised measure scores, with the regression's AUC and the
    AUC of the scorecard they suggest (the version with those weights, scored like any
    scorecard: `learned_scorecard_test_auc`, the figure to compare with the version's); and the
    churn model with its report (its error instead when too little churn). `learned` holds the
    `LearnedWeights`, `suggestion` the suggested scorecard configuration."""
    days = weekly_days(inputs, horizon_days)
    if not days:
        raise ValueError("no history to learn from")
    split_day = days[-1] - timedelta(days=test_days)
    snapshots, values = version_scores(version, inputs, days, churn_model.lookup_days(days))
    labels = churn_labels(inputs, days, horizon_days)
    learned = learn_scorecard_weights(snapshots, labels, split_day, horizon_days)
    config = queries.version_config(version)
    suggestion = suggested_scorecard(config.model_dump(mode="json"), learned)
    suggested = config_scores(ScorecardConfig.model_validate(suggestion), inputs, values, days)
    outcome: dict[str, Any] = {
        "split_day": split_day.isoformat(),
        "scorecard_test_auc": backtest(snapshots, labels, horizon_days, since=split_day).roc_auc,
        "learned_scorecard_test_auc": backtest(
            suggested, labels, horizon_days, since=split_day
        ).roc_auc,
        "learned_weights": learned.to_json(),
        "learned": learned,
        "suggestion": suggestion,
    }
    try:
        model = train_churn_model(values, labels, split_day, horizon_days)
    except ValueError as error:  # too little churn in the fitting or calibration part
        outcome["churn_model"] = {"error": str(error)}
        return outcome, None
    outcome["churn_model"] = model.to_json().get("report")
    return outcome, model


def churn_probabilities(inputs: Inputs, day: date) -> pa.Table | None:
    """The stored churn model's probability per account with measure values on `day`, or None
    without a model."""
    model = current_churn_model()
    if model is None:
        return None
    values = measure_values(inputs, model.lookup_days([day]), model_measures(model))
    on_day = values.filter(pc.equal(values["day"], pa.scalar(day, pa.date32())))
    keys = on_day.select(["account", "day"]).group_by(["account", "day"]).aggregate([])
    return model.predict_days(values, keys)


def model_measures(model: ChurnModel) -> list[str]:
    """The measures the model reads (its features are them and their trends)."""
    return list(model.measures)


def health_list(name: str, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """A list the scores drive, as plain rows, from the latest stored snapshots."""
    from tend.health import lists

    inputs = app_inputs()
    moment = as_of or datetime.now(UTC)
    first = (moment - timedelta(days=45)).date()
    snapshots = stored_snapshots(first, moment.date())
    if name == "advocates":
        table = lists.advocates(inputs, snapshots, moment)
    elif name == "upsell":
        table = lists.upsell_candidates(inputs, snapshots, moment)
    elif name == "at_risk":
        table = lists.at_risk(
            inputs, snapshots, moment, comments=comments_since(moment - timedelta(days=180))
        )
    elif name == "collections":
        table = lists.collections(inputs, moment)
    elif name == "renewals":
        probabilities = churn_probabilities(inputs, moment.date())
        table = lists.renewals_due(inputs, snapshots, moment, churn_probability=probabilities)
    elif name == "patterns":
        days = weekly_days(inputs, 90)
        config = queries.version_config(actions.ensure_default_scorecard())
        values = measure_values(inputs, days, config.metrics())
        table = lists.patterns(values, churn_labels(inputs, days, 90))
    else:
        raise ValueError(f"unknown list {name!r}")
    return table.to_pylist()


def stored_snapshots(first: date, last: date) -> pa.Table:
    """`account, day, score, band` of the stored snapshots from first to last (every version:
    each account has one scorecard at a time)."""
    from tend.health.models import HealthSnapshot

    rows = HealthSnapshot.objects.filter(day__gte=first, day__lte=last).values_list(
        "account__external_id", "day", "score", "band"
    )
    records = list(rows.iterator(chunk_size=20_000))
    columns = list(zip(*records, strict=True)) if records else [(), (), (), ()]
    return pa.table(
        {
            "account": pa.array(columns[0], pa.string()),
            "day": pa.array(columns[1], pa.date32()),
            "score": pa.array(columns[2], pa.float64()),
            "band": pa.array([b or None for b in columns[3]], pa.string()),
        }
    )
