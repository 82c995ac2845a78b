"""The analytics backend the pipelines run on: in-process DuckDB by default, or PySpark.

PySpark (with Java 17) is optional. `connect("pyspark")` starts one local Spark session per
process on first use (or joins the one `spark-submit` or a notebook already started) and gives
each connection its own child session, so two recomputes in one process never see each other's
tables. Spark runs in UTC, moves data as Arrow, keeps tables in memory (see spark_backend.py)
and never downloads anything. `stop_spark()` stops it.

Settings (environment): TEND_SPARK_MASTER (default `local[2]`), TEND_SPARK_DRIVER_MEMORY
(default `1g`), TEND_SPARK_SHUFFLE_PARTITIONS (default: the local cores; 2 rather than 4 made the
parity test's Spark work ~25 % faster), TEND_SPARK_JAVA_OPTIONS (extra JVM options),
TEND_SPARK_CONF (`key=value,key=value`, any other Spark setting). A local session uses the JVM's
quick-start compiler only (C1): on a busy 2-core machine it started Spark and ran its first jobs
2-3x faster than the default tiered compiler, and C2 did not make a 500-account recompute
faster here; set TEND_SPARK_FULL_JIT=1 to use C2 anyway.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Engine = Literal["duckdb", "pyspark"]
SPARK_APP_NAME = "tend-metrics"
DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "1g"
MINIMUM_PYSPARK = 4
CLUSTER_SHUFFLE_PARTITIONS = 200
"""Spark's own default, for a cluster; locally the number of cores (see local_cores)."""
QUICK_START_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""C1 only and the serial collector: a local JVM that starts fast and stays small."""

LOG4J2_PROPERTIES = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
"""
"""Spark logs only errors (its default shows warnings and a banner on every start)."""

MONEY = dt.Decimal(18, 4)
MONEY_PLACES = 4
MICROSECONDS_PER_SECOND = 1_000_000

_lock = threading.Lock()
_scratch: Path | None = None


def connect(engine: Engine) -> ibis.BaseBackend:
    """A fresh backend connection: DuckDB in memory, or PySpark in local mode on this machine
    (a cluster when TEND_SPARK_MASTER or spark-submit configure one)."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "pyspark":
        from tend.metrics.spark_backend import SparkBackend

        backend: ibis.BaseBackend = SparkBackend().connect(spark_session().newSession())
        return backend
    raise ValueError(f"unknown analytics engine {engine!r}; use duckdb or pyspark")


def seconds_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds from `earlier` to `later` to the microsecond, the same on DuckDB and Spark.

    Not `epoch_seconds()`: Spark's UNIX_TIMESTAMP drops the fraction of a second while DuckDB's
    EPOCH keeps it, so differences of epoch seconds disagree between the engines.
    """
    micros = later.delta(earlier, unit="microsecond")
    return micros.cast("float64") / MICROSECONDS_PER_SECOND


def to_money(amount: ir.FloatingValue) -> ir.DecimalValue:
    """A float64 amount as decimal(18, 4), rounded half up with the same float operations on
    DuckDB and Spark, so both give the same cent even on a tie.

    Not `(decimal / n).round(4)`: DuckDB divides decimals as doubles and rounds the double, Spark
    divides exactly and rounds half up, so 0.00015 becomes 0.0001 on one and 0.0002 on the other.
    """
    units = (amount * 10**MONEY_PLACES + 0.5).floor()
    unit = ibis.literal(Decimal(1).scaleb(-MONEY_PLACES), MONEY)
    return (units.cast(dt.Decimal(18, 0)) * unit).cast(MONEY)


def spark_available() -> str | None:
    """None when the PySpark engine can run here, else why not (for skips and messages)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "the PySpark engine needs Java 17 (no `java` on PATH and no JAVA_HOME)"
    try:
        import pyspark
    except ImportError:
        return "the PySpark engine needs the pyspark package (pip install 'tend[spark]')"
    if int(pyspark.__version__.split(".")[0]) < MINIMUM_PYSPARK:
        # spark_backend hands Arrow tables to Spark and back (createDataFrame / toArrow).
        return (
            f"the PySpark engine needs pyspark >= {MINIMUM_PYSPARK} (found {pyspark.__version__})"
        )
    return None


def spark_settings(scratch: Path, master: str | None = None) -> dict[str, str]:
    """The Spark configuration of a session this process starts; `scratch` holds Spark's
    temporary files and log settings."""
    master = master or os.environ.get("TEND_SPARK_MASTER", DEFAULT_MASTER)
    local = master.startswith("local")
    java = [
        "-Duser.timezone=UTC",
        f"-Dlog4j2.configurationFile={(scratch / 'log4j2.properties').as_uri()}",
    ]
    if local and os.environ.get("TEND_SPARK_FULL_JIT", "") not in ("1", "true", "yes"):
        java.append(QUICK_START_JVM)
    java.append(os.environ.get("TEND_SPARK_JAVA_OPTIONS", ""))
    cores = local_cores(master)
    default_partitions = cores if cores is not None else CLUSTER_SHUFFLE_PARTITIONS
    partitions = os.environ.get("TEND_SPARK_SHUFFLE_PARTITIONS", str(default_partitions))
    settings = {
        "spark.master": master,
        "spark.app.name": SPARK_APP_NAME,
        "spark.driver.memory": os.environ.get("TEND_SPARK_DRIVER_MEMORY", DEFAULT_DRIVER_MEMORY),
        "spark.driver.extraJavaOptions": " ".join(part for part in java if part),
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.shuffle.partitions": partitions,
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.warehouse.dir": (scratch / "warehouse").as_uri(),
        "spark.local.dir": str(scratch / "local"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if local:
        settings["spark.default.parallelism"] = partitions
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    for pair in os.environ.get("TEND_SPARK_CONF", "").split(","):
        if "=" in pair:
            key, value = pair.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


def local_cores(master: str) -> int | None:
    """The cores of a local master (`local`, `local[2]`, `local[*]`); None for a cluster."""
    if not master.startswith("local"):
        return None
    inside = master.partition("[")[2].partition("]")[0].split(",")[0].strip()
    if not inside:
        return 1
    return max(1, int(inside)) if inside.isdigit() else os.cpu_count() or 1


def spark_session() -> SparkSession:
    """The process's Spark session: the active one (spark-submit, a notebook), or a new local
    one in UTC with Arrow transfers, few shuffle partitions and quiet logs."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    global _scratch
    with _lock:
        if SparkContext._active_spark_context is not None:
            active = SparkSession.builder.getOrCreate()
            active.conf.set("spark.sql.session.timeZone", "UTC")
            return active
        reason = spark_available()
        if reason is not None:
            raise RuntimeError(reason)
        if _scratch is None:
            _scratch = Path(tempfile.mkdtemp(prefix="tend-spark-"))
            (_scratch / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
            atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
        builder: Any = SparkSession.builder
        for key, value in spark_settings(_scratch).items():
            if value:
                builder = builder.config(key, value)
        session: SparkSession = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _quiet_python_loggers()
        return session


def _quiet_python_loggers() -> None:
    """PySpark logs every failed query's stack as JSON before raising it; the raise is enough."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    # py4j logs at INFO when its connections are collected, even at interpreter exit.
    logging.getLogger("py4j").setLevel(logging.WARNING)


def stop_spark() -> None:
    """Stop the process's Spark session (and its JVM's work) and remove its temporary files."""
    global _scratch
    with _lock:
        try:
            from pyspark import SparkContext
            from pyspark.sql import SparkSession
        except ImportError:
            return
        session = SparkSession._instantiatedSession
        if session is not None:
            session.stop()
        elif SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        if _scratch is not None:
            shutil.rmtree(_scratch, ignore_errors=True)
            _scratch = None
