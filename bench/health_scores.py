"""Health scores benchmark, one command for every figure of the health issue: scoring all accounts
for one day and backfilling 365 days (measures, scores, snapshots stored, signals), for each demo
company given, with wall time, CPU time and peak memory; and the predictive quality on a demo
company (default scorecard AUC, the AUC of the scorecard with learned weights and of the
logistic regression behind it, LightGBM AUC and Brier score against the base rate's, on a
time-based hold-out: the last 90 days of labelled weekly account-days, `prediction.TEST_DAYS`;
`--test-days` holds out another period).

    # demo companies as Parquet (500 accounts: ~1.5 minutes; 10,000 accounts: much longer):
    .venv/bin/tend demo generate --parquet /tmp/demo-500 --accounts 500
    .venv/bin/tend demo generate --parquet /tmp/demo-10k --accounts 10000 --intensity 1.5
    .venv/bin/python bench/health_scores.py --parquet /tmp/demo-500 --parquet /tmp/demo-10k \\
        --quality /tmp/demo-500
    # on PostgreSQL instead of SQLite:
    .venv/bin/python bench/health_scores.py --parquet /tmp/demo-500 \\
        --database-url postgres://postgres@127.0.0.1:5432/bench

Each company gets a scratch app database (its accounts inserted, the shipped default scorecard)
and a DuckDB file next to it with the inputs aggregated from the events once (`--keep` keeps
them in a folder for the next run). Every measured step runs in its own process, so the peak
memory (VmHWM, which includes the inputs) is that step's own. Reading the inputs is reported
apart from the scoring.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench_env import tend_env

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parquet", type=Path, action="append", default=[], help="A demo company.")
    parser.add_argument("--days", type=int, nargs="+", default=[1, 365], help="Run lengths.")
    parser.add_argument("--quality", type=Path, help="Predictive quality on this demo company.")
    parser.add_argument(
        "--test-days", type=int, default=90, help="Days held out by --quality (default 90)."
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file).")
    parser.add_argument("--keep", type=Path, help="Keep the scratch databases in this folder.")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--duckdb", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _run_step(args)
        return
    if not args.parquet and not args.quality:
        parser.error("give --parquet DIR (and/or --quality DIR)")
    with tempfile.TemporaryDirectory(prefix="tend-bench-health-") as scratch:
        root = args.keep or Path(scratch)
        for directory in args.parquet:
            _bench_company(directory, root, args)
        if args.quality:
            _bench_quality(args.quality, root, args)


def _bench_company(directory: Path, root: Path, args: argparse.Namespace) -> None:
    place = _prepare(directory, root, args)
    print(f"\n{directory}: {place['accounts']:,} accounts, last day {place['end']}")
    print(f"  inputs read from Parquet into DuckDB: {place['inputs_seconds']:.1f} s (once)")
    for length in args.days:
        result = _child(args, place, "score", str(length))
        print(
            f"  {length:>3} day(s): wall {result['wall']:7.1f} s, CPU {result['cpu']:7.1f} s, "
            f"peak RSS {result['peak_mb']:6,.0f} MB, {result['rows']:>10,} snapshots "
            f"(load {result['load']:.1f} s, measures {result['measures']:.1f} s, scoring "
            f"{result['scoring']:.1f} s, storing {result['storing']:.1f} s, churn model "
            f"{result['predict']:.1f} s)"
        )


def _bench_quality(directory: Path, root: Path, args: argparse.Namespace) -> None:
    place = _prepare(directory, root, args)
    result = _child(args, place, "quality", str(args.test_days))
    print(
        f"\npredictive quality on {directory} (churn within 90 days, time-based hold-out of "
        f"the last {args.test_days} labelled days)"
    )
    print(f"  split day                     {result['split_day']}")
    learned = result["learned_weights"]
    print(f"  default scorecard ROC AUC     {_figure(result['scorecard_auc'])}")
    print(f"  learned scorecard ROC AUC     {_figure(result['learned_scorecard_auc'])}")
    print(
        f"  learned logistic ROC AUC      {_figure(learned['test_auc'])} (C "
        f"{learned['regularisation_c']}, {learned['train_rows']:,} train rows, "
        f"{learned['train_churned']:,} churned)"
    )
    model = result["churn_model"]
    if "error" in model:
        print(f"  LightGBM                      not trained: {model['error']}")
    else:
        print(
            f"  LightGBM ROC AUC              {_figure(model['test_auc'])} "
            f"({model['trees']} trees by early stopping on {model['validation_rows']:,} "
            f"validation rows, fitted on {model['train_rows']:,} train rows)"
        )
        print(
            f"  LightGBM Brier score          {_figure(model['test_brier'])} (base rate "
            f"{_figure(model['base_rate_brier'])}), {model['test_rows']:,} test rows, "
            f"{model['test_churned']:,} churned"
        )
    print(f"  wall {result['wall']:.1f} s, CPU {result['cpu']:.1f} s")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _prepare(directory: Path, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A scratch data directory for the company: migrated, its accounts inserted, its inputs
    aggregated into a DuckDB file (all reused when already there)."""
    data_dir = root / directory.resolve().name
    data_dir.mkdir(parents=True, exist_ok=True)
    place = {"data_dir": str(data_dir), "parquet": str(directory), "duckdb": ""}
    place["duckdb"] = str(data_dir / "inputs.duckdb")
    env = tend_env(data_dir, args.database_url)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"], env=env, check=True
    )
    return {**place, **_child(args, place, "prepare", "0")}


def _child(args: argparse.Namespace, place: dict[str, Any], step: str, value: str) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), "--step", f"{step}:{value}"]
    command += ["--parquet", place["parquet"], "--duckdb", place["duckdb"]]
    env = tend_env(Path(place["data_dir"]), args.database_url)
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return {**place, **json.loads(output.strip().splitlines()[-1])}


# The steps, each in its own process.


def _run_step(args: argparse.Namespace) -> None:
    import django

    django.setup()
    sys.path.insert(0, str(HERE))
    from health_measures import last_usage_day, parquet_inputs

    step, value = args.step.split(":")
    started, cpu = time.perf_counter(), time.process_time()
    inputs = parquet_inputs(args.parquet[0], args.duckdb)
    inputs_seconds = time.perf_counter() - started
    if step == "prepare":
        result = _prepare_step(inputs)
        result["inputs_seconds"] = inputs_seconds
        result["end"] = last_usage_day(inputs).isoformat()
    elif step == "score":
        result = _score_step(inputs, last_usage_day(inputs), int(value))
    else:
        result = _quality_step(inputs, int(value))
    result["wall"] = time.perf_counter() - started - inputs_seconds
    result["cpu"] = time.process_time() - cpu
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result, default=str))


def _prepare_step(inputs: Any) -> dict[str, Any]:
    """The company's accounts in the app database (snapshots need them) and the default
    scorecard."""
    from tend.customers.models import Account
    from tend.health.actions import ensure_default_scorecard

    accounts = inputs.con.to_pyarrow(inputs.accounts.select("account")).to_pylist()
    known = set(Account.objects.values_list("external_id", flat=True))
    Account.objects.bulk_create(
        [
            Account(external_id=a["account"], name=a["account"])
            for a in accounts
            if a["account"] not in known
        ],
        batch_size=5_000,
    )
    ensure_default_scorecard()
    return {"accounts": len(accounts)}


def _score_step(inputs: Any, end: date, length: int) -> dict[str, Any]:
    from tend.health.engine import score_days

    days = [end - timedelta(days=n) for n in range(length)]
    report = score_days(days, inputs=inputs)
    return {
        "rows": report.rows,
        "load": report.load_seconds,
        "measures": report.measure_seconds,
        "scoring": report.score_seconds,
        "storing": report.store_seconds,
        "predict": report.predict_seconds,
    }


def _quality_step(inputs: Any, test_days: int) -> dict[str, Any]:
    from tend.health.actions import ensure_default_scorecard
    from tend.health.prediction import learning_outcome

    outcome, _ = learning_outcome(ensure_default_scorecard(), inputs, 90, test_days)
    return {
        "split_day": outcome["split_day"],
        "scorecard_auc": outcome["scorecard_test_auc"],
        "learned_scorecard_auc": outcome["learned_scorecard_test_auc"],
        "learned_weights": outcome["learned_weights"],
        "churn_model": outcome["churn_model"],
    }


if __name__ == "__main__":
    main()
