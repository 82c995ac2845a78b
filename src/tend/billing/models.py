"""Plans, subscriptions with their items over time, and invoices."""

from __future__ import annotations

from django.db import models

from tend.core.models import TimestampedModel


class BillingInterval(models.TextChoices):
    DAY = "day", "Daily"
    WEEK = "week", "Weekly"
    MONTH = "month", "Monthly"
    QUARTER = "quarter", "Quarterly"
    HALF_YEAR = "half_year", "Semi-annual"
    YEAR = "year", "Yearly"


class Plan(TimestampedModel):
    """A price the company sells: a product tier at a unit amount per interval."""

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=120)
    product = models.CharField(max_length=120, blank=True)
    tier = models.PositiveSmallIntegerField(default=0, help_text="Higher tiers are upgrades.")
    interval = models.CharField(
        max_length=10, choices=BillingInterval.choices, default=BillingInterval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(default=1)
    unit_amount = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3, default="USD")
    per_seat = models.BooleanField(default=True)
    included_seats = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tier", "interval", "name"]

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    PAUSED = "paused", "Paused"
    CANCELED = "canceled", "Canceled"


class Subscription(TimestampedModel):
    """An account's subscription; its items, each with a validity period, give its MRR history."""

    external_id = models.CharField(max_length=120, unique=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    started_at = models.DateTimeField()
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(
        null=True, blank=True, help_text="When a scheduled cancellation takes effect."
    )
    canceled_at = models.DateTimeField(null=True, blank=True, help_text="When it was cancelled.")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When service stopped.")
    paused_at = models.DateTimeField(null=True, blank=True)
    resumes_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Time of the newest upstream event applied (Stripe)."
    )
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["account", "started_at"]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


class SubscriptionItem(models.Model):
    """A plan on a subscription for a period; changing plan or seats ends one item, starts one."""

    external_id = models.CharField(max_length=120, unique=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="items")
    unit_amount = models.DecimalField(max_digits=14, decimal_places=4)
    quantity = models.PositiveIntegerField(default=1)
    interval = models.CharField(max_length=10, choices=BillingInterval.choices)
    interval_count = models.PositiveSmallIntegerField(default=1)
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Recurring discount, 0-100."
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subscription", "started_at"]

    def __str__(self) -> str:
        return f"{self.plan_id} x{self.quantity}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


class Invoice(TimestampedModel):
    """A bill sent to an account; late payment is `paid_at` (or today) past `due_at`."""

    external_id = models.CharField(max_length=120, unique=True)
    number = models.CharField(max_length=60, blank=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    status = models.CharField(max_length=14, choices=InvoiceStatus.choices, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    amount_due = models.DecimalField(max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Time of the newest upstream event applied (Stripe)."
    )

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number or self.external_id


class StripeEvent(models.Model):
    """A webhook delivery from Stripe, kept raw; its id makes redeliveries harmless."""

    event_id = models.CharField(max_length=120, unique=True)
    type = models.CharField(max_length=80, db_index=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ExchangeRate(models.Model):
    """How many units of `to_currency` one unit of `currency` is worth from `valid_from` on
    (until the next rate of the pair). Revenue KPIs convert with the rate valid at a period's
    end."""

    currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=8)

    class Meta:
        ordering = ["currency", "to_currency", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "to_currency", "valid_from"], name="exchange_rate_unique"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.to_currency} from {self.valid_from}"
