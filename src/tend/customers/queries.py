"""Reads for accounts: the searchable list, stage counts and the pieces of the account page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date

from django.db.models import Case, Count, F, IntegerField, Min, Q, QuerySet, Value, When, Window

from tend.billing.queries import annotate_mrr
from tend.core.models import Note, User
from tend.customers.models import (
    Account,
    Contact,
    LifecycleStage,
    SavedAccountView,
    StageChange,
)

# `?sort=` keys of the account list and the columns they order by (`-key` for descending).
ACCOUNT_SORTS = ("name", "mrr", "signed_up", "stage")


@dataclass(frozen=True)
class StageCount:
    """How many accounts are in one lifecycle stage."""

    stage: str
    label: str
    count: int


def stage_counts() -> list[StageCount]:
    """Accounts per lifecycle stage, every stage listed in journey order, in one query."""
    counts = dict(
        Account.objects.order_by()
        .values_list("lifecycle_stage")
        .annotate(n=Count("id"))
        .values_list("lifecycle_stage", "n")
    )
    return [StageCount(s.value, s.label, counts.get(s.value, 0)) for s in LifecycleStage]


def _stage_order() -> Case:
    """Lifecycle stages ranked in journey order rather than alphabetically."""
    return Case(
        *[When(lifecycle_stage=s.value, then=Value(i)) for i, s in enumerate(LifecycleStage)],
        default=Value(len(LifecycleStage)),
        output_field=IntegerField(),
    )


def search_accounts(
    query: str = "", stage: str = "", owner: str = "", sort: str = "name"
) -> QuerySet[Account]:
    """Accounts matching a search and filters, with owner and current MRR, in the asked order.

    `owner` is a user id or "none" for unowned accounts; unknown sort keys fall back to name.
    """
    accounts = annotate_mrr(Account.objects.select_related("owner"))
    if query:
        accounts = accounts.filter(
            Q(name__icontains=query) | Q(domain__icontains=query) | Q(external_id__icontains=query)
        )
    if stage in LifecycleStage.values:
        accounts = accounts.filter(lifecycle_stage=stage)
    if owner == "none":
        accounts = accounts.filter(owner__isnull=True)
    elif owner.isdigit():
        accounts = accounts.filter(owner_id=int(owner))
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    column: F | Case
    if key == "mrr":
        column = F("mrr")
    elif key == "signed_up":
        column = F("signed_up_at")
    elif key == "stage":
        column = _stage_order()
    else:
        return accounts.order_by(F("name").desc() if descending else F("name").asc(), "pk")
    ordered = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return accounts.order_by(ordered, "name", "pk")


def account_owners() -> QuerySet[User]:
    """Users who own at least one account: the choices of the owner filter."""
    return User.objects.filter(owned_accounts__isnull=False).distinct().order_by("username")


def account_by_external_id(external_id: str) -> Account | None:
    """One account with the people and accounts its header names, or None if unknown."""
    return (
        Account.objects.select_related("owner", "parent", "referred_by", "referred_by_contact")
        .filter(external_id=external_id)
        .first()
    )


def child_accounts(account: Account) -> list[Account]:
    """Accounts whose parent is this account, by name (sorted here: ordering in SQL lets
    SQLite walk the whole name index instead of the parent index)."""
    return sorted(account.children.order_by(), key=lambda child: (child.name, child.pk))


@dataclass(frozen=True)
class ContactList:
    """The first contacts of an account and how many it has in all."""

    contacts: Sequence[Contact]
    total: int

    @property
    def hidden(self) -> int:
        """Contacts not in `contacts`."""
        return self.total - len(self.contacts)


def account_contacts(account: Account, limit: int | None = None) -> ContactList:
    """The account's people in one query: champions and decision makers first, then the most
    recently seen, then by name.

    With a `limit` only that many are loaded; a window count still gives the total.
    """
    contacts = account.contacts.annotate(total=Window(Count("pk"))).order_by(
        "-is_champion",
        "-is_decision_maker",
        F("last_seen_at").desc(nulls_last=True),
        "name",
        "email",
        "pk",
    )
    rows = list(contacts if limit is None else contacts[:limit])
    return ContactList(rows, rows[0].total if rows else 0)


def stage_history(account: Account) -> list[StageChange]:
    """The account's moves between lifecycle stages, newest first."""
    return list(account.stage_changes.select_related("changed_by").order_by("-changed_at", "-pk"))


def account_notes(account: Account) -> list[Note]:
    """Notes the team keeps on the account, pinned first."""
    return list(Note.objects.filter(account=account).select_related("author"))


def first_sign_up() -> date | None:
    """The day the earliest account signed up (UTC), or None."""
    first = Account.objects.aggregate(first=Min("signed_up_at"))["first"]
    return None if first is None else first.astimezone(UTC).date()


def saved_account_views(user: User) -> list[SavedAccountView]:
    """The user's saved views of the accounts table, by name."""
    return list(SavedAccountView.objects.filter(user=user).order_by("name", "pk"))
