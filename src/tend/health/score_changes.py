"""Changes of a score against 7 and 30 days before, and the measures that moved it most.

Pure and vectorised: each row finds its own account's row 7 and 30 days earlier by a sorted
key (account code x day), in the same table or in `earlier` (snapshots already stored).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tend.health.snapshot_encoding import grid_text

CHANGE_FIELDS = [
    pa.field("change_7d", pa.float64()),
    pa.field("change_30d", pa.float64()),
    pa.field("top_movers", pa.string()),
]
"""`top_movers` is JSON text: `[["measure", change of its contribution], ...]`, the largest
moves first, or null when there is no score 7 days before."""

TOP_MOVERS = 3
SMALLEST_MOVE = 0.01
KEY_DAYS = 1 << 20
CONTRIBUTION = "contribution:"


def add_changes(table: pa.Table, earlier: pa.Table | None = None) -> pa.Table:
    """`table` (a `scoring.score` result) with `change_7d`, `change_30d` (final score minus the
    final score then) and `top_movers` (by the change of each measure's contribution over 7
    days) filled in. `earlier` holds rows (`account, day, score, contribution:<measure>…`) of
    other days to compare with, such as stored snapshots; rows of `table` win on overlap."""
    measures = [c for c in table.column_names if c.startswith(CONTRIBUTION)]
    reference = table.select(["account", "day", "score", *measures])
    if earlier is not None and earlier.num_rows:
        columns = [
            earlier[c].cast(reference.schema.field(c).type)
            if c in earlier.column_names
            else pa.nulls(earlier.num_rows, reference.schema.field(c).type)
            for c in reference.column_names
        ]
        extra = pa.Table.from_arrays(columns, schema=reference.schema)
        reference = pa.concat_tables([reference, extra])
    accounts = pc.unique(reference["account"])
    keys = _keys(reference, accounts)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    own_keys = keys[: table.num_rows]
    scores = _numbers(reference["score"])
    previous_week = _find(sorted_keys, order, own_keys - 7)
    previous_month = _find(sorted_keys, order, own_keys - 30)
    now = scores[: table.num_rows]
    change_7d = _difference(now, scores, previous_week)
    change_30d = _difference(now, scores, previous_month)
    movers = _top_movers(reference, measures, table.num_rows, previous_week)
    for name, values in (("change_7d", change_7d), ("change_30d", change_30d)):
        table = table.set_column(table.column_names.index(name), name, values)
    return table.set_column(table.column_names.index("top_movers"), "top_movers", movers)


def _keys(reference: pa.Table, accounts: pa.Array) -> np.ndarray:
    code = pc.index_in(reference["account"], value_set=accounts).to_numpy(zero_copy_only=False)
    day = pc.cast(reference["day"], pa.int32()).to_numpy(zero_copy_only=False)
    return code.astype(np.int64) * KEY_DAYS + day.astype(np.int64)


def _find(sorted_keys: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each wanted key in the reference table, -1 where absent."""
    if sorted_keys.size == 0:
        return np.full(wanted.shape, -1)
    position = np.clip(np.searchsorted(sorted_keys, wanted), 0, sorted_keys.size - 1)
    return np.where(sorted_keys[position] == wanted, order[position], -1)


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=float)


def _difference(now: np.ndarray, scores: np.ndarray, previous: np.ndarray) -> pa.Array:
    then = np.where(previous >= 0, scores[np.maximum(previous, 0)], np.nan)
    return pa.array(now - then, from_pandas=True)


def _top_movers(
    reference: pa.Table, measures: list[str], rows: int, previous: np.ndarray
) -> pa.Array:
    if not measures or rows == 0:
        return pa.nulls(rows, pa.string())
    contributions = np.stack([np.nan_to_num(_numbers(reference[m])) for m in measures], axis=1)
    found = previous >= 0
    delta = contributions[:rows] - contributions[np.maximum(previous, 0)]
    size = np.where(found[:, None], np.abs(delta), 0.0)
    # Largest moves first; a stable sort keeps the scorecard's order between equal moves. As
    # the moves shrink, a move too small to show is never followed by one shown.
    top = np.argsort(-size, axis=1, kind="stable")[:, :TOP_MOVERS]
    pieces: list[pa.Array | str] = ["["]
    for k in range(top.shape[1]):
        pick = top[:, k]
        moved = np.take_along_axis(delta, pick[:, None], axis=1)[:, 0]
        hidden = ~found | (np.abs(moved) < SMALLEST_MOVE)
        names = pa.array(
            [("," if k else "") + f"[{json.dumps(m[len(CONTRIBUTION) :])}," for m in measures]
        )
        name = pa.DictionaryArray.from_arrays(pa.array(pick.astype(np.int32), mask=hidden), names)
        value = grid_text(pa.array(moved, mask=hidden), 2, -100, 100, suffix="]")
        pieces += [name.cast(pa.string()), value]
    pieces.append("]")
    text = pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")
    return pc.if_else(pa.array(found), text, pa.scalar(None, pa.string()))
