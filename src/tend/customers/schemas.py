"""API shapes for accounts."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class AccountOut(Schema):
    external_id: str
    name: str
    domain: str
    industry: str
    country: str
    employee_count: int | None
    seats: int | None
    lifecycle_stage: str
    acquisition_source: str
    owner: str | None
    signed_up_at: datetime | None
    first_paid_at: datetime | None
    churned_at: datetime | None
    traits: dict[str, object]

    @staticmethod
    def resolve_owner(obj: object) -> str | None:
        owner = getattr(obj, "owner", None)
        return owner.username if owner is not None else None
