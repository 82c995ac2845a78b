"""Ibis's PySpark backend, adjusted so the metrics pipelines behave on it as they do on DuckDB.

Imported only when the PySpark engine is asked for (PySpark and Java are optional). What differs
from the stock backend, and why:

- `create_table(name, arrow_or_expression, overwrite=True)` keeps the table in memory as a
  temporary view of this connection's Spark session. The stock backend writes a managed Parquet
  table under `spark.sql.warehouse.dir` (the working directory unless configured), cannot
  overwrite a table its own query reads, and sends Arrow tables through pandas (where a null
  decimal becomes `Decimal(None)` and fails). Here an Arrow table goes to Spark as Arrow, and an
  expression is computed once, eagerly, like DuckDB's CREATE TABLE AS, with the column types
  Ibis gives it (Spark would store a sum of decimal(18, 4) as decimal(28, 4), DuckDB as (38, 4)).
- Spark's TIMESTAMP is an instant shown in the session time zone (UTC here): it maps to Ibis
  `timestamp('UTC')`, as DuckDB's TIMESTAMPTZ does, instead of a naive timestamp; TIMESTAMP_NTZ
  stays naive. So schemas, unions and results have the same types on both engines.
- `to_pyarrow` fetches Arrow batches (`DataFrame.toArrow`) instead of going through pandas, which
  turned integer columns with nulls into floats and back.
- In-memory tables (`ibis.memtable`) are registered from Arrow too.
- A subexpression a query uses more than once (a join, an aggregate, a union, a window) is
  computed once and kept for that query, as DuckDB does with such CTEs. Spark inlines CTEs and
  then computes each copy again (each copy prunes other columns, so even exchange reuse misses
  them): a pipeline that derives six KPIs from one aggregate took 125 s instead of 10.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
import pyspark.sql.types as pt
from ibis.backends.pyspark import Backend
from ibis.backends.pyspark.datatypes import PySparkType
from ibis.common.graph import Graph
from ibis.common.patterns import InstanceOf
from ibis.formats.pandas import PandasData
from ibis.formats.pyarrow import PyArrowData
from pyspark.sql import DataFrame

ibis.pyspark  # noqa: B018 (loading the stock backend once registers ibis.options.pyspark)


def ibis_type(spark_type: pt.DataType, time_zone: str) -> dt.DataType:
    """The Ibis type of a Spark column type; TIMESTAMP is an instant in `time_zone`."""
    if isinstance(spark_type, pt.TimestampType):
        return dt.Timestamp(timezone=time_zone)
    if isinstance(spark_type, pt.StructType):
        return dt.Struct({f.name: ibis_type(f.dataType, time_zone) for f in spark_type.fields})
    if isinstance(spark_type, pt.ArrayType):
        return dt.Array(ibis_type(spark_type.elementType, time_zone))
    if isinstance(spark_type, pt.MapType):
        key, value = spark_type.keyType, spark_type.valueType
        return dt.Map(ibis_type(key, time_zone), ibis_type(value, time_zone))
    return PySparkType.to_ibis(spark_type)


EXPENSIVE = (ops.Aggregate, ops.JoinChain, ops.Set, ops.Distinct, ops.WindowFunction)
"""Relations worth computing once when a query uses them twice (a plain filter or projection of
a table is cheaper to repeat than to store)."""
_names = itertools.count(1)


def shared_relations(root: ops.Node) -> set[ops.Relation]:
    """The relations under `root` that two or more operations read, and that are expensive."""
    graph = Graph.from_bfs(root, filter=~InstanceOf((ops.Field, ops.CountStar)))
    shared = set()
    for node, dependents in graph.invert().items():
        if (
            len(dependents) > 1
            and isinstance(node, ops.Relation)
            and not isinstance(node, ops.PhysicalTable | ops.Reference)
            and node.find(EXPENSIVE)
        ):
            shared.add(node)
    return shared


def release(frame: DataFrame) -> None:
    """Free the memory a materialised table holds now rather than when the JVM collects it."""
    with contextlib.suppress(Exception):  # not a checkpointed frame: nothing held
        frame._jdf.queryExecution().analyzed().rdd().unpersist(False)


class SparkBackend(Backend):
    """The PySpark backend with in-memory tables, UTC instants and Arrow transfers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._views: dict[str, DataFrame] = {}

    # Schemas -------------------------------------------------------------------------------------

    @property
    def _time_zone(self) -> str:
        return str(self._session.conf.get("spark.sql.session.timeZone"))

    def _schema_of(self, frame: DataFrame) -> sch.Schema:
        zone = self._time_zone
        return sch.Schema({f.name: ibis_type(f.dataType, zone) for f in frame.schema.fields})

    def _get_schema_using_query(self, query: str) -> sch.Schema:
        return self._schema_of(self.raw_sql(query))

    def get_schema(
        self, table_name: str, *, catalog: str | None = None, database: str | None = None
    ) -> sch.Schema:
        if catalog is None and database is None and table_name in self._views:
            return self._schema_of(self._views[table_name])
        schema = super().get_schema(table_name, catalog=catalog, database=database)
        if catalog is None and database is None:
            # A stock schema maps every timestamp to a naive one; ask Spark for the real types.
            return self._schema_of(self._session.table(table_name))
        return schema

    # Tables --------------------------------------------------------------------------------------

    def _frame(self, obj: Any) -> DataFrame:
        """A Spark DataFrame of anything Arrow can hold."""
        if not isinstance(obj, pa.Table):
            obj = ibis.memtable(obj).to_pyarrow()
        return self._session.createDataFrame(obj)

    def _query(self, table: ir.Table, **kwargs: Any) -> DataFrame:
        """A Spark DataFrame of an Ibis table expression, with the expression's column types."""
        self._run_pre_execute_hooks(table)
        frame = self._session.sql(self.compile(table, **kwargs))
        try:
            wanted = [PySparkType.from_ibis(dtype) for dtype in table.schema().types]
        except ibis.common.exceptions.IbisTypeError:  # a type Spark cannot store: leave as is
            return frame
        if [field.dataType for field in frame.schema.fields] == wanted:
            return frame
        return frame.select(
            *[frame[name].cast(kind) for name, kind in zip(frame.columns, wanted, strict=True)]
        )

    def _checkpoint(self, table: ir.Table) -> DataFrame:
        """The rows of `table`, computed now and held in memory (see create_table)."""
        return self._query(table).localCheckpoint(eager=True)

    @contextlib.contextmanager
    def _shared_once(self, expr: ir.Table) -> Iterator[ir.Table]:
        """`expr` with each shared expensive subexpression computed once beforehand and read
        from memory; those intermediate tables are dropped on exit."""
        shared = shared_relations(expr.op())
        if not shared:
            yield expr
            return
        frames: list[tuple[str, DataFrame]] = []

        def replace(node: ops.Node, kwargs: dict[str, Any] | None) -> ops.Node:
            rebuilt = node.__recreate__(kwargs) if kwargs else node
            if node not in shared:
                return rebuilt
            assert isinstance(rebuilt, ops.Relation)
            name = f"tend_shared_{next(_names)}"
            frame = self._checkpoint(rebuilt.to_expr())
            frame.createOrReplaceTempView(name)
            frames.append((name, frame))
            return ops.DatabaseTable(
                name,
                schema=node.schema,
                source=self,
                namespace=ops.Namespace(catalog=None, database=None),
            )

        try:
            yield expr.op().replace(replace).to_expr()
        finally:
            for name, frame in frames:
                self._session.catalog.dropTempView(name)
                release(frame)

    def create_table(
        self,
        name: str,
        /,
        obj: Any = None,
        *,
        schema: sch.IntoSchema | None = None,
        database: str | None = None,
        temp: bool | None = None,
        overwrite: bool = False,
        format: str = "parquet",
        partition_by: str | list[str] | None = None,
    ) -> ir.Table:
        """A table of this connection, held in memory as a temporary view; with a `database` or
        `partition_by`, a managed table as in the stock backend."""
        if database is not None or partition_by is not None:
            return super().create_table(
                name,
                obj,
                schema=schema,
                database=database,
                temp=temp,
                overwrite=overwrite,
                format=format,
                partition_by=partition_by,
            )
        if not overwrite and (name in self._views or self._session.catalog.tableExists(name)):
            raise ibis.common.exceptions.IntegrityError(f"table {name!r} already exists")
        if obj is None:
            if schema is None:
                raise ibis.common.exceptions.IbisError("The schema or obj parameter is required")
            obj = ibis.schema(schema).to_pyarrow().empty_table()
        if isinstance(obj, ir.Table):
            # Computed now, once, like DuckDB's CREATE TABLE AS. A local checkpoint keeps the
            # rows in the executors' memory (spilling to disk) and cuts the lineage: later
            # queries start from these rows, so their plans stay small and quick to optimise
            # (a cached frame keeps its whole plan and made each later query plan for seconds).
            with self._shared_once(obj) as table:
                frame = self._checkpoint(table)
            table_schema = obj.schema()
        else:
            frame = self._frame(obj)
            table_schema = self._schema_of(frame)
        frame.createOrReplaceTempView(name)
        previous = self._views.pop(name, None)
        self._views[name] = frame
        if previous is not None:
            release(previous)
        return ops.DatabaseTable(
            name,
            schema=table_schema,
            source=self,
            namespace=ops.Namespace(catalog=None, database=None),
        ).to_expr()

    def drop_table(self, name: str, /, *, database: str | None = None, force: bool = False) -> None:
        if database is None and name in self._views:
            self._drop_view(name)
            return
        super().drop_table(name, database=database, force=force)

    def _drop_view(self, name: str) -> None:
        frame = self._views.pop(name)
        self._session.catalog.dropTempView(name)
        release(frame)

    def _register_in_memory_table(self, op: ops.InMemoryTable) -> None:
        arrow = op.data.to_pyarrow(op.schema)
        self._session.createDataFrame(arrow).createOrReplaceTempView(op.name)

    def disconnect(self) -> None:
        """Release this connection's tables; the shared Spark session keeps running (see
        engine.stop_spark)."""
        for name in list(self._views):
            self._drop_view(name)

    # Results -------------------------------------------------------------------------------------

    def to_pyarrow(
        self,
        expr: ir.Expr,
        /,
        *,
        params: Mapping[ir.Scalar, Any] | None = None,
        limit: int | str | None = None,
        **kwargs: Any,
    ) -> pa.Table:
        """The result as Arrow, fetched from Spark as Arrow and cast to the expression's types."""
        table_expr = expr.as_table()
        with self._shared_once(table_expr) as table:
            frame = self._query(table, params=params, limit=limit, **kwargs)
            arrow = frame.toArrow()
        return expr.__pyarrow_result__(PyArrowData.convert_table(arrow, table_expr.schema()))

    def execute(
        self,
        expr: ir.Expr,
        /,
        *,
        params: Mapping[ir.Scalar, Any] | None = None,
        limit: int | str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The result as pandas (a DataFrame, Series or scalar), through to_pyarrow."""
        table_expr = expr.as_table()
        arrow = self.to_pyarrow(table_expr, params=params, limit=limit, **kwargs)
        frame = PandasData.convert_table(arrow.to_pandas(), table_expr.schema())
        return expr.__pandas_result__(frame)
