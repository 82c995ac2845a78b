"""A `scoring.score` result as the columns of `HealthSnapshot` rows, JSON built vectorised.

`measures` is `{"<measure>": [raw, normalised, weight, contribution, missing 0/1], ...}` and
`groups` `{"<group>": score, ...}`, written as JSON text by Arrow string kernels, never a Python
loop per row. Numbers are rounded to keep rows small: raw values to 4 decimals, normalised and
group scores to 2, weights to 4 and contributions to 3 (stored contributions add up to the
score within 0.01). Numbers on a bounded grid (scores, weights) take their text from a table
made once, which is several times faster than formatting each float.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RAW_DECIMALS = 4
SCORE_DECIMALS = 2
WEIGHT_DECIMALS = 4
CONTRIBUTION_DECIMALS = 3

SNAPSHOT_COLUMNS = (
    "account",
    "day",
    "score",
    "computed_score",
    "band",
    "computed_band",
    "coverage",
    "groups",
    "measures",
    "change_7d",
    "change_30d",
    "top_movers",
    "overridden",
)


def measure_names(table: pa.Table) -> list[str]:
    return [c.split(":", 1)[1] for c in table.column_names if c.startswith("contribution:")]


def group_names(table: pa.Table) -> list[str]:
    return [c.split(":", 1)[1] for c in table.column_names if c.startswith("group:")]


def snapshot_columns(table: pa.Table) -> pa.Table:
    """SNAPSHOT_COLUMNS of `table`: `groups` and `measures` as JSON text, bands as text ('' for
    none), everything else as scored."""
    groups = _object(
        [
            (json.dumps(name), [grid_text(table[f"group:{name}"], SCORE_DECIMALS, 0, 100)])
            for name in group_names(table)
        ],
        table.num_rows,
    )
    measures = _object(
        [(json.dumps(name), _measure_pieces(table, name)) for name in measure_names(table)],
        table.num_rows,
    )
    columns = {
        "account": table["account"],
        "day": table["day"],
        "score": table["score"],
        "computed_score": table["computed_score"],
        "band": pc.fill_null(table["band"], ""),
        "computed_band": pc.fill_null(table["computed_band"], ""),
        "coverage": pc.fill_null(table["coverage"], 0.0),
        "groups": groups,
        "measures": measures,
        "change_7d": table["change_7d"],
        "change_30d": table["change_30d"],
        "top_movers": table["top_movers"],
        "overridden": table["overridden"],
    }
    return pa.table(columns)


@cache
def _grid_strings(decimals: int, low: int, high: int, suffix: str) -> pa.Array:
    """JSON text of every multiple of 10^-decimals from low to high, each + suffix."""
    steps = np.arange(low * 10**decimals, high * 10**decimals + 1) / 10**decimals
    text = pc.cast(pa.array(np.round(steps, decimals)), pa.string())
    return pc.binary_join_element_wise(text, suffix, "") if suffix else text


def grid_text(
    column: pa.ChunkedArray | pa.Array, decimals: int, low: int, high: int, suffix: str = ""
) -> pa.Array:
    """JSON text (+ suffix) of numbers expected in low..high, rounded to `decimals`; `null`
    where null (a null itself when there is a suffix). Values outside the range are formatted
    one by one."""
    values = np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False), dtype=float)
    scaled = np.rint(values * 10**decimals)
    offset = low * 10**decimals
    inside = np.isfinite(scaled) & (scaled >= offset) & (scaled <= high * 10**decimals)
    indices = pa.array((np.where(inside, scaled, offset) - offset).astype(np.int32), mask=~inside)
    text = pa.DictionaryArray.from_arrays(indices, _grid_strings(decimals, low, high, suffix))
    decoded = text.cast(pa.string())
    outside_range = np.isfinite(values) & ~inside
    if outside_range.any():
        rest = pa.array(np.where(outside_range, values, np.nan), from_pandas=True)
        outside = free_text(rest, decimals, null_text=None)
        if suffix:
            outside = pc.binary_join_element_wise(outside, suffix, "")
        decoded = pc.coalesce(decoded, outside)
    return decoded if suffix else pc.fill_null(decoded, "null")


def free_text(
    column: pa.ChunkedArray | pa.Array, decimals: int, null_text: str | None = "null"
) -> pa.Array:
    """JSON text of any numbers, rounded to `decimals`: each distinct value formatted once;
    nulls and non-finite numbers become `null_text`."""
    rounded = pc.round(pc.cast(column, pa.float64()), ndigits=decimals)
    if isinstance(rounded, pa.ChunkedArray):
        rounded = rounded.combine_chunks()
    finite = pc.if_else(pc.is_finite(rounded), rounded, pa.scalar(None, pa.float64()))
    encoded = pc.dictionary_encode(finite)
    text = pa.DictionaryArray.from_arrays(encoded.indices, pc.cast(encoded.dictionary, pa.string()))
    decoded = text.cast(pa.string())
    return decoded if null_text is None else pc.fill_null(decoded, null_text)


Piece: TypeAlias = pa.Array | pa.ChunkedArray | str


def _measure_pieces(table: pa.Table, name: str) -> list[Piece]:
    """`[raw,normalised,weight,contribution,missing]` as pieces to join."""
    return [
        "[",
        free_text(table[f"raw:{name}"], RAW_DECIMALS),
        ",",
        grid_text(table[f"normalised:{name}"], SCORE_DECIMALS, 0, 100),
        ",",
        grid_text(table[f"weight:{name}"], WEIGHT_DECIMALS, 0, 1),
        ",",
        grid_text(table[f"contribution:{name}"], CONTRIBUTION_DECIMALS, 0, 100),
        ",",
        pc.if_else(pc.is_null(table[f"raw:{name}"]), "1]", "0]"),
    ]


def _object(entries: list[tuple[str, list[Piece]]], rows: int) -> pa.Array:
    """`{key: value, ...}` per row from constant keys and per-row JSON pieces, joined in one
    pass (adjacent constant pieces merged)."""
    pieces: list[Piece] = ["{"]
    for i, (key, value) in enumerate(entries):
        pieces += [("," if i else "") + f"{key}:", *value]
    pieces.append("}")
    merged: list[Piece] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if isinstance(piece, str) and isinstance(last, str):
            merged[-1] = last + piece
        else:
            merged.append(piece)
    if len(merged) == 1:
        return pa.array(np.full(rows, merged[0]), pa.string())
    return pc.binary_join_element_wise(*merged, "")
