"""Run one import: read, validate, resolve references, write through the domain actions.

All-or-nothing by default: every row is checked, every error is listed by row and field, and if
any row is bad the transaction is rolled back so nothing is written. With `skip_invalid` the
valid rows land and the bad ones go to a rejects file with their reasons.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import transaction

from tend.imports.entities import ENTITIES, EntitySpec
from tend.imports.fields import FieldError, convert
from tend.imports.readers import FileProblem, SourceRow, count_hint, detect_format, read_rows
from tend.imports.references import ReferenceResolver

CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class ImportReport:
    """What an import did, for the CLI, the API and the UI."""

    entity: str
    path: Path
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    rejected_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: set[str] = field(default_factory=set)
    refused: bool = False
    file_problem: str | None = None
    rejects_path: Path | None = None
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return 0 if self.refused else self.created + self.updated


class _Refuse(Exception):
    """Rolls the import's transaction back."""


@dataclass
class _Checked:
    source: SourceRow
    values: dict[str, Any]
    errors: list[RowError]
    pending_links: list[tuple[str, str]] = field(default_factory=list)


def import_file(
    entity: str,
    path: Path,
    *,
    file_format: str | None = None,
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    event_source: str = "import",
    rejects_path: Path | None = None,
    advance: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import `path` as `entity` (see `ENTITIES`); never leaves a half-written file behind."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}; one of {', '.join(sorted(ENTITIES))}")
    spec = ENTITIES[entity]
    started = time.perf_counter()
    report = ImportReport(entity=entity, path=path)
    detected = detect_format(path, file_format)
    rename = mapping or {}
    rejects: list[tuple[SourceRow, list[RowError]]] = []
    links: list[tuple[int, str, str, str]] = []
    try:
        with transaction.atomic():
            resolver = ReferenceResolver(spec, _ids_in_file(spec, path, detected, rename))
            rows = read_rows(path, detected)
            for chunk in _chunks(rows):
                checked = [_check(spec, row, rename, event_source, report) for row in chunk]
                resolver.resolve(checked)
                good = [c.values for c in checked if not c.errors]
                for item in checked:
                    if item.errors:
                        report.errors.extend(item.errors)
                        report.rejected_rows += 1
                        rejects.append((item.source, item.errors))
                if good and (skip_invalid or not report.errors):
                    created, updated = spec.write(good)
                    report.created += created
                    report.updated += updated
                links.extend(
                    (c.source.number, c.values[spec.key], key, target)
                    for c in checked
                    if not c.errors
                    for key, target in c.pending_links
                )
                report.rows_read += len(chunk)
                if advance is not None:
                    advance(len(chunk))
            _link_forward_references(links, report)
            if report.errors and not skip_invalid:
                raise _Refuse
    except _Refuse:
        report.refused = True
    except FileProblem as problem:
        report.refused = True
        report.file_problem = str(problem)
        report.errors.append(RowError(problem.row, "(file)", problem.message))
    if skip_invalid and rejects and not report.refused:
        report.rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
        _write_rejects(report.rejects_path, rejects)
    report.seconds = time.perf_counter() - started
    return report


def write_records(
    entity: str,
    records: list[dict[str, Any]],
    *,
    event_source: str = "api",
    partial: bool = False,
) -> ImportReport:
    """Validate and write records given as dicts (the REST API's path): the same checks,
    references and actions as a file import, all-or-nothing. `partial` updates existing rows,
    so fields other than the key may be left out."""
    spec = ENTITIES[entity]
    report = ImportReport(entity=entity, path=Path("<api>"))
    try:
        with transaction.atomic():
            checked = [
                _check(spec, SourceRow(number, record), {}, event_source, report, partial)
                for number, record in enumerate(records, start=1)
            ]
            ReferenceResolver(spec, set()).resolve(checked)
            for item in checked:
                report.errors.extend(item.errors)
            if report.errors:
                raise _Refuse
            report.created, report.updated = spec.write([item.values for item in checked])
            report.rows_read = len(records)
    except _Refuse:
        report.refused = True
    return report


def count_rows_hint(path: Path, file_format: str | None = None) -> int | None:
    return count_hint(path, detect_format(path, file_format))


def _chunks(rows: Iterator[SourceRow]) -> Iterator[list[SourceRow]]:
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


def _ids_in_file(
    spec: EntitySpec, path: Path, file_format: str, rename: dict[str, str]
) -> set[str]:
    """External ids defined by the file itself, so rows may refer to rows further down
    (an account's parent). Only read for entities that refer to themselves."""
    if spec.name != "accounts":
        return set()
    self_references = {n for n, f in spec.fields.items() if f.refers_to == "account"}
    with_header = next(read_rows(path, file_format), None)
    if with_header is None:
        return set()
    columns = {rename.get(name, name) for name in with_header.values}
    if not columns & self_references:
        return set()
    their_key = next((theirs for theirs, ours in rename.items() if ours == spec.key), spec.key)
    return {
        str(row.values[their_key])
        for row in read_rows(path, file_format)
        if row.values.get(their_key) is not None
    }


def _check(
    spec: EntitySpec,
    row: SourceRow,
    rename: dict[str, str],
    event_source: str,
    report: ImportReport,
    partial: bool = False,
) -> _Checked:
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    errors: list[RowError] = []
    for their_name, raw in row.values.items():
        name = rename.get(their_name, their_name)
        field_spec = spec.fields.get(name)
        if field_spec is not None:
            try:
                values[name] = convert(field_spec, raw)
            except FieldError as error:
                errors.append(RowError(row.number, name, str(error)))
        elif spec.extra_into and name.startswith(spec.extra_into + "."):
            if raw is not None:
                extra[name.split(".", 1)[1]] = raw
        else:
            report.ignored_columns.add(their_name)
    failed = {error.field for error in errors}
    for name, field_spec in spec.fields.items():
        missing = values.get(name) is None and name not in failed
        if field_spec.required and missing and not (partial and name != spec.key):
            errors.append(RowError(row.number, name, "is required"))
    if spec.extra_into and extra:
        values[spec.extra_into] = {**(values.get(spec.extra_into) or {}), **extra}
    if spec.name == "events":
        values["source"] = values.get("source") or event_source
        values.setdefault("message_id", None)
        if not values.get("user_id") and not values.get("anonymous_id"):
            errors.append(RowError(row.number, "user_id", "user_id or anonymous_id is required"))
    return _Checked(
        row, {k: v for k, v in values.items() if v is not None or k in {"message_id"}}, errors
    )


def _link_forward_references(links: list[tuple[int, str, str, str]], report: ImportReport) -> None:
    """Set references to accounts that appeared further down the file than their referrer."""
    if not links:
        return
    from tend.customers.actions import upsert_accounts
    from tend.customers.models import Account

    pks = dict(
        Account.objects.filter(external_id__in={t for *_, t in links}).values_list(
            "external_id", "pk"
        )
    )
    updates = []
    for row, external_id, key, target in links:
        if target in pks:
            updates.append({"external_id": external_id, key: pks[target]})
        else:
            field_name = key.removesuffix("_id")
            message = f"account {target!r} is in this file but was rejected"
            report.errors.append(RowError(row, field_name, message))
    if updates and not report.refused:
        upsert_accounts(updates)


def _write_rejects(path: Path, rejects: list[tuple[SourceRow, list[RowError]]]) -> None:
    columns: list[str] = []
    for source, _ in rejects:
        columns.extend(name for name in source.values if name not in columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["_row", "_errors", *columns])
        for source, errors in rejects:
            reasons = "; ".join(f"{e.field}: {e.message}" for e in errors)
            writer.writerow(
                [source.number, reasons, *(_cell(source.values.get(c)) for c in columns)]
            )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
