"""The bulk write of health snapshot rows, called by `actions.store_health_snapshots` inside
its transaction: COPY from Arrow-written CSV on PostgreSQL; elsewhere one prepared INSERT run
over tens of thousands of rows. The rows are built column-wise from Arrow; the only per-row
Python work is the tuple SQLite's driver binds.
"""

from __future__ import annotations

import io
from itertools import repeat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connection

from tend.customers.models import Account
from tend.health.models import HealthSnapshot
from tend.health.snapshot_encoding import SNAPSHOT_COLUMNS


def account_pks(external_ids: pa.ChunkedArray) -> np.ndarray:
    """Primary keys of the accounts, -1 where unknown."""
    pairs = list(Account.objects.values_list("external_id", "pk"))
    if not pairs:
        return np.full(len(external_ids), -1, dtype=np.int64)
    keys = pa.array([external for external, _ in pairs], pa.string())
    pks = np.asarray([pk for _, pk in pairs], dtype=np.int64)
    found = pc.index_in(external_ids, value_set=keys).fill_null(-1).to_numpy()
    return np.where(found >= 0, pks[np.maximum(found, 0)], -1)


def insert_snapshots(version_id: int, account_ids: np.ndarray, rows: pa.Table) -> None:
    """Bulk insert: COPY on PostgreSQL, one prepared statement over many rows elsewhere."""
    table = connection.ops.quote_name(HealthSnapshot._meta.db_table)
    names = ["account_id", "version_id", *SNAPSHOT_COLUMNS[1:]]
    quoted = ", ".join(connection.ops.quote_name(n) for n in names)
    values = rows.drop_columns(["account"])
    values = values.add_column(0, "version_id", pa.array(np.full(rows.num_rows, version_id)))
    values = values.add_column(0, "account_id", pa.array(account_ids))
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        pa_csv.write_csv(values, buffer, pa_csv.WriteOptions(include_header=False))
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getvalue())
        return
    # SQLite: the driver's own executemany over plain int/float/str values (no adapters to
    # look up), on the same connection and so in the caller's transaction.
    values = values.set_column(names.index("day"), "day", pc.cast(values["day"], pa.string()))
    flag = names.index("overridden")
    values = values.set_column(flag, "overridden", pc.cast(values["overridden"], pa.int8()))
    columns = [values[name].to_pylist() for name in names if name != "version_id"]
    columns.insert(1, list(repeat(version_id, rows.num_rows)))
    placeholders = ", ".join(["?"] * len(names))
    connection.ensure_connection()
    connection.connection.executemany(
        f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", zip(*columns, strict=True)
    )
