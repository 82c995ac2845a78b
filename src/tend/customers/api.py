"""Read API for accounts; the full REST API for every entity is built on this pattern."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import django_auth

from tend.customers.models import Account
from tend.customers.schemas import AccountOut

router = Router(tags=["accounts"], auth=django_auth)


@router.get("/", response=list[AccountOut])
@paginate(LimitOffsetPagination)
def list_accounts(request: HttpRequest, search: str = "") -> object:
    accounts = Account.objects.select_related("owner").order_by("name")
    if search:
        accounts = accounts.filter(name__icontains=search)
    return accounts


@router.get("/{external_id}", response=AccountOut)
def get_account(request: HttpRequest, external_id: str) -> Account:
    return get_object_or_404(Account.objects.select_related("owner"), external_id=external_id)
