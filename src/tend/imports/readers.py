"""Stream rows out of CSV, JSON Lines and Parquet files, each with its row number."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

FORMATS = ("csv", "jsonl", "parquet")


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, syntax, truncation) at a given row."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(f"row {row}: {message}")
        self.row = row
        self.message = message


@dataclass(frozen=True)
class SourceRow:
    """One input row: its number as a person counts it (CSV: the line number) and its values."""

    number: int
    values: dict[str, Any]


def detect_format(path: Path, declared: str | None) -> str:
    if declared:
        if declared not in FORMATS:
            raise ValueError(f"unknown format {declared!r}; use one of {', '.join(FORMATS)}")
        return declared
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"ndjson", "json", "jsonl"}:
        return "jsonl"
    if suffix in {"csv", "parquet"}:
        return suffix
    raise ValueError(f"cannot tell the format of {path.name}; pass --format csv|jsonl|parquet")


def read_rows(path: Path, file_format: str, encoding: str = "utf-8") -> Iterator[SourceRow]:
    """Yield rows one at a time; memory stays flat whatever the file size."""
    if file_format == "csv":
        yield from _csv_rows(path, encoding)
    elif file_format == "jsonl":
        yield from _jsonl_rows(path)
    else:
        yield from _parquet_rows(path)


def count_hint(path: Path, file_format: str) -> int | None:
    """Rows in the file when it is cheap to know (Parquet metadata), else None."""
    if file_format == "parquet":
        return int(pq.read_metadata(path).num_rows)
    return None


def _csv_rows(path: Path, encoding: str) -> Iterator[SourceRow]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text, strict=True)
        line = 1
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            raise FileProblem(1, f"not valid {encoding} text ({error.reason})") from error
        header = [name.strip().lstrip("\ufeff") for name in header]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise FileProblem(reader.line_num + 1, f"not valid {encoding} text") from error
            except csv.Error as error:
                raise FileProblem(reader.line_num, f"broken CSV ({error})") from error
            line = reader.line_num
            if not values:
                continue
            if len(values) != len(header):
                raise FileProblem(
                    line, f"has {len(values)} columns where the header has {len(header)}"
                )
            yield SourceRow(
                line, {k: (v if v != "" else None) for k, v in zip(header, values, strict=True)}
            )


def _jsonl_rows(path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError as error:
                truncated = not line.endswith(b"\n")
                hint = " (the file looks truncated)" if truncated else ""
                raise FileProblem(number, f"not valid JSON: {error}{hint}") from error
            if not isinstance(value, dict):
                raise FileProblem(number, "each line must be a JSON object")
            yield SourceRow(number, value)


def _parquet_rows(path: Path) -> Iterator[SourceRow]:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise FileProblem(1, f"not a readable Parquet file ({error})") from error
    number = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for values in batch.to_pylist():
            number += 1
            yield SourceRow(number, values)
