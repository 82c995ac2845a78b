"""Writes a generated demo company into the app database through the domains' actions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import numpy as np
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction

from tend.billing import actions as billing_actions
from tend.billing.models import Invoice, Plan, Subscription, SubscriptionItem
from tend.core import actions as core_actions
from tend.core.models import Note, User
from tend.customers import actions as customer_actions
from tend.customers.models import Account, Contact, StageChange
from tend.demo import catalog
from tend.demo.generate import DEMO_PASSWORD
from tend.demo.records import DemoCompany
from tend.demo.usage_events import (
    PAGE_NAMES,
    PAGE_PATHS,
    TRACK_NAMES,
    AccountEvents,
    account_events,
)
from tend.support import actions as support_actions
from tend.support.models import Ticket, Touchpoint
from tend.surveys import actions as survey_actions
from tend.surveys.models import Survey, SurveyResponse
from tend.usage.actions import insert_event_rows

EVENT_SOURCE = "demo"
Advance = Callable[[int], None]


def demo_exists() -> bool:
    """Whether the database already holds a company (the demo or real data)."""
    return Account.objects.exists()


def wipe_database() -> None:
    """Remove every row of every table (`tend demo --reset`)."""
    call_command("flush", interactive=False, verbosity=0)


def write_company(company: DemoCompany, advance: Advance | None = None) -> int:
    """Insert every entity, then every account's events; returns the number of events."""
    with transaction.atomic():
        accounts = _write_entities(company)
    events = 0
    for plan in company.usage_plans:
        generated = account_events(plan, company.seed, _end_ms(company), company.intensity)
        account_pk = accounts[plan.external_id].pk
        events += insert_event_rows(_event_rows(generated, account_pk))
        if advance is not None:
            advance(1)
    return events


def _end_ms(company: DemoCompany) -> int:
    return int(company.end.timestamp() * 1000)


def _write_entities(company: DemoCompany) -> dict[str, Account]:
    for rate in company.exchange_rates:
        billing_actions.set_exchange_rate(**rate)
    password_hash = make_password(DEMO_PASSWORD)
    users = {
        row["username"]: core_actions.create_team_member(
            row["username"],
            role=row["role"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=f"{row['username']}@tend.demo",
            password_hash=password_hash,
        )
        for row in company.users
    }
    plans = {
        plan.external_id: plan
        for plan in billing_actions.insert_plans([Plan(**row) for row in company.plans])
    }
    surveys = {
        survey.external_id: survey
        for survey in survey_actions.insert_surveys([Survey(**row) for row in company.surveys])
    }
    accounts = _write_accounts(company, users)
    contacts = _write_contacts(company, accounts)
    for row in company.accounts:
        if row["referred_by_contact"]:
            account = accounts[row["external_id"]]
            account.referred_by_contact = contacts[row["referred_by_contact"]]
    Account.objects.bulk_update(
        [a for a in accounts.values() if a.referred_by_contact_id], ["referred_by_contact"]
    )
    customer_actions.insert_stage_changes(
        [
            StageChange(**{**row, "account": accounts[row["account"]]})
            for row in company.stage_changes
        ]
    )
    subscriptions = {
        sub.external_id: sub
        for sub in billing_actions.insert_subscriptions(
            [
                Subscription(**{**row, "account": accounts[row["account"]]})
                for row in company.subscriptions
            ]
        )
    }
    billing_actions.insert_subscription_items(
        [
            SubscriptionItem(
                **{
                    **row,
                    "subscription": subscriptions[row["subscription"]],
                    "plan": plans[row["plan"]],
                }
            )
            for row in company.subscription_items
        ]
    )
    billing_actions.insert_invoices(
        [
            Invoice(
                **{
                    **row,
                    "account": accounts[row["account"]],
                    "subscription": subscriptions[row["subscription"]],
                }
            )
            for row in company.invoices
        ]
    )
    _write_support_and_voice(company, accounts, contacts, users, surveys)
    _write_notes(company, accounts, users)
    return accounts


def _write_accounts(company: DemoCompany, users: dict[str, User]) -> dict[str, Account]:
    objects = [
        Account(
            **{
                **row,
                "owner": users.get(row["owner"] or ""),
                "parent": None,
                "referred_by": None,
                "referred_by_contact": None,
            }
        )
        for row in company.accounts
    ]
    accounts = {a.external_id: a for a in customer_actions.insert_accounts(objects)}
    for row in company.accounts:
        account = accounts[row["external_id"]]
        account.parent = accounts.get(row["parent"] or "")
        account.referred_by = accounts.get(row["referred_by"] or "")
    Account.objects.bulk_update(list(accounts.values()), ["parent", "referred_by"], batch_size=500)
    return accounts


def _write_contacts(company: DemoCompany, accounts: dict[str, Account]) -> dict[str, Contact]:
    objects = [
        Contact(**{**row, "account": accounts.get(row["account"] or "")})
        for row in company.contacts
    ]
    return {c.external_id: c for c in customer_actions.insert_contacts(objects)}


def _write_support_and_voice(
    company: DemoCompany,
    accounts: dict[str, Account],
    contacts: dict[str, Contact],
    users: dict[str, User],
    surveys: dict[str, Survey],
) -> None:
    support_actions.insert_tickets(
        [
            Ticket(
                **{
                    **row,
                    "account": accounts[row["account"]],
                    "contact": contacts.get(row["contact"] or ""),
                }
            )
            for row in company.tickets
        ]
    )
    support_actions.insert_touchpoints(
        [
            Touchpoint(
                **{
                    **row,
                    "account": accounts[row["account"]],
                    "contact": contacts.get(row["contact"] or ""),
                    "csm": users.get(row["csm"] or ""),
                }
            )
            for row in company.touchpoints
        ]
    )
    survey_actions.insert_responses(
        [
            SurveyResponse(
                **{
                    **row,
                    "survey": surveys[row["survey"]],
                    "account": accounts[row["account"]],
                    "contact": contacts.get(row["contact"] or ""),
                }
            )
            for row in company.survey_responses
        ]
    )


def _write_notes(
    company: DemoCompany, accounts: dict[str, Account], users: dict[str, User]
) -> None:
    notes = [
        Note(
            account=accounts[row["account"]],
            author=users.get(row["author"] or ""),
            body=row["body"],
        )
        for row in company.notes
    ]
    core_actions.bulk_insert(notes)


def _event_rows(events: AccountEvents, account_pk: int) -> Iterator[tuple[object, ...]]:
    """Rows in `usage.actions.EVENT_COLUMNS` order for the app database, built column-wise."""
    count = len(events)
    if count == 0:
        return iter(())
    suffix = "+00:00" if connection.vendor == "postgresql" else ""
    is_page = events.type_code == 1
    codes = events.name_code.astype(np.int64)
    page_names = np.array(PAGE_NAMES, dtype=object)
    track_names = np.array(TRACK_NAMES, dtype=object)
    names = np.where(
        is_page, page_names[np.minimum(codes, len(PAGE_PATHS) - 1)], track_names[codes]
    )
    error_json = np.array(
        [json.dumps({"error_code": code}) for code in catalog.ERROR_CODES] + ["{}"], dtype=object
    )
    properties = error_json[events.error_code.astype(np.int64)]  # -1 picks the trailing "{}"
    for i in np.flatnonzero(is_page).tolist():
        path = PAGE_PATHS[codes[i]]
        properties[i] = f'{{"path": "{path}", "load_time_ms": {int(events.load_time_ms[i])}}}'
    message_ids = [f"{events.account}-{i:07d}" for i in range(count)]
    return zip(
        [EVENT_SOURCE] * count,
        message_ids,
        np.where(is_page, "page", "track").tolist(),
        names.tolist(),
        events.user_id.tolist(),
        [""] * count,
        [account_pk] * count,
        _format_times(events.timestamp_ms, suffix),
        _format_times(events.received_ms, suffix),
        properties.tolist(),
        ["{}"] * count,
        strict=True,
    )


def _format_times(epoch_ms: np.ndarray, suffix: str) -> list[str]:
    text = np.datetime_as_string(epoch_ms.astype("datetime64[ms]").astype("datetime64[us]"))
    return [value.replace("T", " ").removesuffix(".000000") + suffix for value in text.tolist()]
