"""The analytics backend the pipelines run on: in-process DuckDB by default, or PySpark."""

from __future__ import annotations

from typing import Literal

import ibis

Engine = Literal["duckdb", "pyspark"]
SPARK_APP_NAME = "tend-metrics"


def connect(engine: Engine) -> ibis.BaseBackend:
    """A fresh backend connection: DuckDB in memory, or PySpark in local mode on this machine
    (a cluster when SPARK_REMOTE / spark-submit configure one)."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "pyspark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"unknown analytics engine {engine!r}; use duckdb or pyspark")


def spark_session():  # type: ignore[no-untyped-def]
    """A local Spark session in UTC with Arrow transfers (PySpark is an optional dependency)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName(SPARK_APP_NAME)
        .master("local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
