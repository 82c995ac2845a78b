"""What the demo generator produces: plain rows per table, plus each account's usage plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Row = dict[str, Any]


ENTITY_TABLES = (
    "exchange_rates",
    "users",
    "plans",
    "surveys",
    "accounts",
    "contacts",
    "stage_changes",
    "subscriptions",
    "subscription_items",
    "invoices",
    "tickets",
    "touchpoints",
    "survey_responses",
    "notes",
)
"""The DemoCompany fields that hold table rows, in the order they can be written."""


@dataclass(frozen=True)
class UsageStep:
    """How one account used the product over one period; the event generator expands it."""

    start: datetime
    end: datetime
    active_users: tuple[str, ...]
    days_per_user: float
    events_per_session: float
    features_used: int
    error_rate: float
    load_time_median_ms: float


@dataclass
class AccountPlan:
    """One account's simulated usage, in the order the generator will expand it into events."""

    index: int
    external_id: str
    feature_order: tuple[int, ...]
    steps: list[UsageStep] = field(default_factory=list)


@dataclass
class DemoCompany:
    """Every generated row, by table, and the usage plans behind the events."""

    seed: int
    start: datetime
    end: datetime
    intensity: float = 1.0
    exchange_rates: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)
    plans: list[Row] = field(default_factory=list)
    surveys: list[Row] = field(default_factory=list)
    accounts: list[Row] = field(default_factory=list)
    contacts: list[Row] = field(default_factory=list)
    stage_changes: list[Row] = field(default_factory=list)
    subscriptions: list[Row] = field(default_factory=list)
    subscription_items: list[Row] = field(default_factory=list)
    invoices: list[Row] = field(default_factory=list)
    tickets: list[Row] = field(default_factory=list)
    touchpoints: list[Row] = field(default_factory=list)
    survey_responses: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    usage_plans: list[AccountPlan] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per table, for reports."""
        return {table: len(getattr(self, table)) for table in ENTITY_TABLES}
