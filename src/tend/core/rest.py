"""The REST API for an importable entity, built from its import spec: one definition of fields,
checks and references serves files and HTTP alike (list, get, create, update, delete)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import CursorPagination, paginate
from pydantic import Field, create_model

from tend.core.actions import audit, delete_by_external_id
from tend.core.api_auth import API_AUTH, require_editor
from tend.imports.entities import EntitySpec
from tend.imports.runner import write_records

PYTHON_TYPES: dict[str, Any] = {
    "text": str,
    "int": int,
    "decimal": Decimal,
    "bool": bool,
    "datetime": datetime,
    "json": dict[str, Any],
}


class ApiError(Schema):
    code: str
    message: str
    errors: list[dict[str, Any]] = []


def _schema(name: str, spec: EntitySpec, *, partial: bool) -> type[Schema]:
    fields: dict[str, Any] = {}
    for field_name, field_spec in spec.fields.items():
        python_type = PYTHON_TYPES[field_spec.kind]
        if field_spec.required and not partial:
            fields[field_name] = (python_type, ...)
        else:
            fields[field_name] = (python_type | None, None)
    model: type[Schema] = create_model(name, __base__=Schema, **fields)
    return model


def _out_schema(name: str, spec: EntitySpec) -> type[Schema]:
    """References are shown as the external id (or username) they point to."""
    fields: dict[str, Any] = {}
    for field_name, field_spec in spec.fields.items():
        python_type = PYTHON_TYPES[field_spec.kind] | None
        if field_spec.refers_to == "team":
            fields[field_name] = (python_type, Field(None, alias=f"{field_name}.username"))
        elif field_spec.refers_to:
            fields[field_name] = (python_type, Field(None, alias=f"{field_name}.external_id"))
        else:
            fields[field_name] = (python_type, None)
    model: type[Schema] = create_model(name, __base__=Schema, **fields)
    return model


def entity_router(
    spec: EntitySpec,
    model: type[models.Model],
    *,
    tag: str,
    filters: tuple[str, ...] = (),
    out: type[Schema] | None = None,
    prefetch: tuple[str, ...] = (),
) -> Router:
    """List (cursor-paginated, filtered), get, create, update (partial) and delete by external
    id. Writes go through `write_records`, the importer's path; viewers may only read."""
    router = Router(tags=[tag], auth=API_AUTH)
    related = [n for n, f in spec.fields.items() if f.refers_to]
    create_schema = _schema(f"{model.__name__}Create", spec, partial=False)
    update_schema = _schema(f"{model.__name__}Update", spec, partial=True)
    out_schema = out or _out_schema(f"{model.__name__}Out", spec)
    filter_fields: dict[str, Any] = {name: (str | None, None) for name in filters}
    filter_schema: type[Schema] = create_model(
        f"{model.__name__}Filters", __base__=Schema, **filter_fields
    )

    def lookup(external_id: str) -> models.Model:
        obj = (
            model._default_manager.select_related(*related)
            .prefetch_related(*prefetch)
            .filter(external_id=external_id)
        )
        found = obj.first()
        if found is None:
            raise HttpError(404, f"No {spec.name[:-1]} with external id {external_id!r}.")
        return found

    def write(request: HttpRequest, payload: dict[str, Any], action: str) -> models.Model:
        user = require_editor(request)
        report = write_records(spec.name, [payload], partial=action == "updated")
        if report.refused:
            problems = "; ".join(f"{e.field}: {e.message}" for e in report.errors)
            raise HttpError(422, f"Invalid {spec.name[:-1]}: {problems}")
        obj = lookup(payload["external_id"])
        audit(user, f"{model._meta.model_name}.{action}", obj, {"via": "api"})
        return obj

    @router.get("/", response=list[out_schema], summary=f"List {spec.name}")  # type: ignore[valid-type]
    @paginate(CursorPagination, ordering=("pk",))
    def list_rows(request: HttpRequest, filters: Query[filter_schema]) -> Any:  # type: ignore[valid-type]
        rows = (
            model._default_manager.select_related(*related)
            .prefetch_related(*prefetch)
            .order_by("pk")
        )
        for name, value in filters.dict(exclude_none=True).items():  # type: ignore[attr-defined]
            field_spec = spec.fields[name]
            key = f"{name}__external_id" if field_spec.refers_to else name
            rows = rows.filter(**{key: value})
        return rows

    @router.get("/{external_id}", response=out_schema, summary=f"Get one of {spec.name}")
    def get_row(request: HttpRequest, external_id: str) -> models.Model:
        return lookup(external_id)

    @router.post("/", response={201: out_schema}, summary=f"Create one of {spec.name}")
    def create_row(request: HttpRequest, payload: create_schema) -> Status:  # type: ignore[valid-type]
        data = payload.dict(exclude_unset=True)  # type: ignore[attr-defined]
        if model._default_manager.filter(external_id=data["external_id"]).exists():
            raise HttpError(409, f"{data['external_id']!r} exists; use PATCH to change it.")
        return Status(201, write(request, data, "created"))

    @router.patch("/{external_id}", response=out_schema, summary=f"Update one of {spec.name}")
    def update_row(
        request: HttpRequest,
        external_id: str,
        payload: update_schema,  # type: ignore[valid-type]
    ) -> models.Model:
        lookup(external_id)
        data = {**payload.dict(exclude_unset=True), "external_id": external_id}  # type: ignore[attr-defined]
        return write(request, data, "updated")

    @router.delete("/{external_id}", response={204: None}, summary=f"Delete one of {spec.name}")
    def delete_row(request: HttpRequest, external_id: str) -> Status:
        user = require_editor(request)
        if not delete_by_external_id(model, external_id, user):
            raise HttpError(404, f"No {spec.name[:-1]} with external id {external_id!r}.")
        return Status(204, None)

    return router
