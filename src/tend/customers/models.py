"""Accounts (organisations), contacts, segments and each account's lifecycle-stage history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tend.core.models import TimestampedModel


class LifecycleStage(models.TextChoices):
    """Where an account stands on the customer journey (seeds 001 and 003)."""

    TRIAL = "trial", "Trial"
    ONBOARDING = "onboarding", "Onboarding"
    ADOPTION = "adoption", "Adoption"
    RENEWAL = "renewal", "Renewal"
    EXPANSION = "expansion", "Expansion"
    AT_RISK = "at_risk", "At risk"
    CHURNED = "churned", "Churned"
    WON_BACK = "won_back", "Won back"
    TRIAL_LOST = "trial_lost", "Trial lost"


class AcquisitionSource(models.TextChoices):
    ORGANIC = "organic", "Organic / inbound"
    PAID = "paid", "Paid marketing"
    OUTBOUND = "outbound", "Outbound sales"
    PARTNER = "partner", "Partner"
    REFERRAL = "referral", "Customer referral"
    CHAMPION = "champion", "Returning champion"
    EVENT = "event", "Event / webinar"


class Account(TimestampedModel):
    """A customer organisation, keyed on the customer's own external id."""

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    domain = models.CharField(max_length=200, blank=True, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        help_text="The CSM whose book this account is in.",
    )
    industry = models.CharField(max_length=80, blank=True, db_index=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="Licensed seats.")
    lifecycle_stage = models.CharField(
        max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.TRIAL, db_index=True
    )
    acquisition_source = models.CharField(
        max_length=16, choices=AcquisitionSource.choices, blank=True
    )
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    referred_by_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_accounts",
        help_text="The person (referrer or returning champion) who brought this account.",
    )
    traits = models.JSONField(default=dict, blank=True)
    traits_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Timestamp of the newest message that set traits."
    )
    stripe_customer_id = models.CharField(max_length=120, blank=True, db_index=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    first_paid_at = models.DateTimeField(null=True, blank=True)
    churned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LifecycleGroup(models.TextChoices):
    """Automatic grouping of people (seed 003)."""

    VISITOR = "visitor", "Visitor"
    LEAD = "lead", "Lead"
    USER = "user", "User"
    CUSTOMER = "customer", "Customer"


class Contact(TimestampedModel):
    """A person at (or around) a customer: a user of the product, a buyer, a champion."""

    external_id = models.CharField(max_length=120, unique=True)
    email = models.EmailField(blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=120, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    is_champion = models.BooleanField(default=False)
    is_decision_maker = models.BooleanField(default=False)
    lifecycle_group = models.CharField(
        max_length=16, choices=LifecycleGroup.choices, default=LifecycleGroup.VISITOR
    )
    traits = models.JSONField(default=dict, blank=True)
    traits_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Timestamp of the newest message that set traits."
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "email"]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class Segment(TimestampedModel):
    """A rule-based group of accounts; `definition` holds the rules (field, operator, value)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    definition = models.JSONField(
        default=dict,
        help_text='{"match": "all"|"any", "rules": [{"field": ..., "op": ..., "value": ...}]}',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """One move of an account between lifecycle stages; the history behind time-in-stage."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["account", "changed_at"]
        # Moves into each stage over some periods (the journey map) read from the index alone.
        indexes = [models.Index(fields=["changed_at", "to_stage"], name="stage_change_entered")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_stage or '-'} -> {self.to_stage}"


class ContactIdentity(models.Model):
    """An anonymous id (or alias) known to belong to a contact: identity resolution."""

    anonymous_id = models.CharField(max_length=120, unique=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.anonymous_id} -> {self.contact_id}"


class SavedAccountView(models.Model):
    """A team member's named filters and sort of the accounts table, kept as the table's query
    string (e.g. `segment=smb&band=at+risk&sort=-mrr`), so opening it reproduces the table."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_account_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_account_view_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
