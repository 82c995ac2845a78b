"""Factories for test data, one per model, in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from tend.billing.models import (
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from tend.core.models import Role, User
from tend.customers.models import Account, Contact, LifecycleGroup, LifecycleStage
from tend.support.models import Ticket, TicketStatus, Touchpoint, TouchpointKind
from tend.surveys.models import Survey, SurveyKind, SurveyResponse
from tend.usage.models import Event, EventType

BASE_TIME = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"csm{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@tend.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.CSM
    password = factory.django.Password("tend-test-password")


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"acct_{n:05d}")
    name = factory.Sequence(lambda n: f"Company {n:05d}")
    domain = factory.LazyAttribute(lambda a: f"{a.external_id}.example.com")
    industry = "Software"
    country = "DE"
    employee_count = 120
    seats = 20
    lifecycle_stage = LifecycleStage.ADOPTION
    signed_up_at = BASE_TIME


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    external_id = factory.Sequence(lambda n: f"user_{n:05d}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id}@example.com")
    name = factory.Faker("name")
    account = factory.SubFactory(AccountFactory)
    lifecycle_group = LifecycleGroup.CUSTOMER


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("external_id",)

    external_id = "growth_monthly"
    name = "Growth (monthly)"
    tier = 2
    interval = BillingInterval.MONTH
    unit_amount = Decimal("30.00")


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    external_id = factory.Sequence(lambda n: f"sub_{n:05d}")
    account = factory.SubFactory(AccountFactory)
    status = SubscriptionStatus.ACTIVE
    started_at = BASE_TIME


class SubscriptionItemFactory(DjangoModelFactory):
    class Meta:
        model = SubscriptionItem

    external_id = factory.Sequence(lambda n: f"si_{n:05d}")
    subscription = factory.SubFactory(SubscriptionFactory)
    plan = factory.SubFactory(PlanFactory)
    unit_amount = factory.LazyAttribute(lambda item: item.plan.unit_amount)
    quantity = 10
    interval = factory.LazyAttribute(lambda item: item.plan.interval)
    started_at = factory.LazyAttribute(lambda item: item.subscription.started_at)


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = Invoice

    external_id = factory.Sequence(lambda n: f"in_{n:05d}")
    number = factory.LazyAttribute(lambda i: i.external_id.upper())
    account = factory.SubFactory(AccountFactory)
    status = InvoiceStatus.PAID
    amount_due = Decimal("300.00")
    amount_paid = Decimal("300.00")
    issued_at = BASE_TIME
    due_at = factory.LazyAttribute(lambda i: i.issued_at + timedelta(days=14))
    paid_at = factory.LazyAttribute(lambda i: i.issued_at + timedelta(days=3))


class TicketFactory(DjangoModelFactory):
    class Meta:
        model = Ticket

    external_id = factory.Sequence(lambda n: f"tk_{n:05d}")
    account = factory.SubFactory(AccountFactory)
    subject = "Export to CSV fails"
    topic = "bug"
    status = TicketStatus.SOLVED
    opened_at = BASE_TIME
    first_response_at = factory.LazyAttribute(lambda t: t.opened_at + timedelta(hours=2))
    resolved_at = factory.LazyAttribute(lambda t: t.opened_at + timedelta(hours=20))
    agent_replies = 1


class TouchpointFactory(DjangoModelFactory):
    class Meta:
        model = Touchpoint

    external_id = factory.Sequence(lambda n: f"tp_{n:05d}")
    account = factory.SubFactory(AccountFactory)
    kind = TouchpointKind.CALL
    direction = "outbound"
    occurred_at = BASE_TIME
    subject = "Quarterly business review"


class SurveyFactory(DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("external_id",)

    external_id = "nps"
    name = "NPS"
    kind = SurveyKind.NPS
    question = "How likely are you to recommend us to a friend or colleague?"
    scale_min = 0
    scale_max = 10


class SurveyResponseFactory(DjangoModelFactory):
    class Meta:
        model = SurveyResponse

    external_id = factory.Sequence(lambda n: f"resp_{n:05d}")
    survey = factory.SubFactory(SurveyFactory)
    contact = factory.SubFactory(ContactFactory)
    account = factory.LazyAttribute(lambda r: r.contact.account)
    score = 9
    comment = "Saves us hours every week."
    answered_at = BASE_TIME


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    source = "web"
    message_id = factory.Sequence(lambda n: f"msg_{n:07d}")
    type = EventType.TRACK
    name = "report_viewed"
    user_id = factory.Sequence(lambda n: f"user_{n:05d}")
    timestamp = BASE_TIME
    received_at = BASE_TIME
