"""Array building blocks of the streaming events reader (parquet_sorted_events): integer codes
for strings, output tables gathered chunk by chunk, grouping by dense integer keys, and the
interpolated p95 of DuckDB's `quantile_cont`, all in NumPy without sorting whole tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

DENSE_LIMIT = 1 << 25
"""Group by a dense index while the index range stays below this; else sort."""


@dataclass
class Codes:
    """Integer codes for strings, in order of first appearance."""

    index: dict[str, int] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)

    def of(self, dictionary: pa.Array) -> np.ndarray:
        """The code of each entry of a dictionary, then -1 (for null)."""
        codes = np.empty(len(dictionary) + 1, dtype=np.int32)
        for position, value in enumerate(dictionary.to_pylist()):
            if value is None:
                codes[position] = -1
                continue
            code = self.index.get(value)
            if code is None:
                code = self.index[value] = len(self.values)
                self.values.append(value)
            codes[position] = code
        codes[-1] = -1
        return codes

    def encode(self, column: pa.ChunkedArray) -> np.ndarray:
        """A dictionary-encoded (or plain string) column as codes; null → -1."""
        parts = []
        for chunk in column.chunks:
            if not pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary_encode()
            indices = chunk.indices
            if indices.null_count:
                indices = indices.fill_null(len(chunk.dictionary))
            parts.append(self.of(chunk.dictionary)[indices.to_numpy(zero_copy_only=False)])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)

    def ranks(self) -> np.ndarray:
        """Each code's position in text order."""
        order = np.argsort(np.array(self.values, dtype=object), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank

    def table(self, column: str) -> pa.Table:
        """(code, `column`): the strings by code."""
        return pa.table(
            {
                "code": pa.array(np.arange(len(self.values), dtype=np.int32)),
                column: pa.array(self.values, pa.string()),
            }
        )


class Output:
    """One output table's columns, gathered chunk by chunk (never concatenated)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.columns: dict[str, list[pa.Array]] = {name: [] for name in schema.names}

    def add(self, **arrays: pa.Array | np.ndarray) -> None:
        for name, array in arrays.items():
            kind = self.schema.field(name).type
            if isinstance(array, np.ndarray):
                if kind == pa.date32():
                    array = pa.array(array.astype(np.int32, copy=False)).view(kind)
                else:
                    array = pa.array(array.astype(kind.to_pandas_dtype(), copy=False), kind)
            self.columns[name].append(array)

    def table(self) -> pa.Table:
        return pa.table(
            {
                name: pa.chunked_array(arrays, self.schema.field(name).type)
                for name, arrays in self.columns.items()
            },
            schema=self.schema,
        )


class Groups:
    """Rows grouped by a non-negative integer key below `limit`: the keys present (ascending)
    and each row's group index."""

    keys: np.ndarray
    index: np.ndarray

    def __init__(self, key: np.ndarray, limit: int) -> None:
        if limit <= DENSE_LIMIT:
            present = np.zeros(limit, dtype=bool)
            present[key] = True
            self.keys = np.flatnonzero(present)
            slot = np.empty(limit, dtype=np.int64)
            slot[self.keys] = np.arange(len(self.keys))
            self.index = slot[key]
        else:
            found = np.unique(key, return_inverse=True)
            self.keys = np.asarray(found[0])
            self.index = np.asarray(found[1])

    def count(self, where: np.ndarray | None = None) -> np.ndarray:
        index = self.index if where is None else self.index[where]
        return np.bincount(index, minlength=len(self.keys))


def first_index(groups: Groups) -> np.ndarray:
    """For each group, the index of one of its rows."""
    first = np.empty(len(groups.keys), dtype=np.int64)
    first[groups.index[::-1]] = np.arange(len(groups.index))[::-1]
    return first


def changes(values: np.ndarray) -> np.ndarray:
    """True where a row's value differs from the previous row's (and on the first row)."""
    changed = np.empty(len(values), dtype=bool)
    if len(values):
        changed[0] = True
        np.not_equal(values[1:], values[:-1], out=changed[1:])
    return changed


def p95(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """The 95th percentile of `values` per group, interpolated as DuckDB's quantile_cont
    (NaN for a group without values)."""
    result = np.full(groups, np.nan)
    if len(values) == 0:
        return result
    ordered = sorted_within_groups(group, values)
    counts = np.bincount(group, minlength=groups)
    firsts = np.cumsum(counts) - counts
    has = counts > 0
    position = (counts[has] - 1) * 0.95
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    low_value = ordered[firsts[has] + low]
    high_value = ordered[firsts[has] + high]
    fraction = position - low
    result[has] = np.where(
        low == high, low_value, low_value * (1 - fraction) + high_value * fraction
    )
    return result


def sorted_within_groups(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` ordered by group, then value (as float64). Float32 values sort as one integer
    key: the group above the value's order-preserving bit pattern."""
    if values.dtype != np.float32:
        return values[np.lexsort((values, group))].astype(np.float64)
    bits = values.view(np.uint32)
    negative = (bits >> 31).astype(bool)
    ordered_bits = np.where(negative, ~bits, bits | np.uint32(1 << 31))
    keys = np.sort((group.astype(np.uint64) << np.uint64(32)) | ordered_bits.astype(np.uint64))
    low = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    restored = np.where((low >> 31) == 0, ~low, low & np.uint32(0x7FFFFFFF))
    return restored.view(np.float32).astype(np.float64)
