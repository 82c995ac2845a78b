"""The REST API: tokens and roles, CRUD by external id, cursor pages, filters, JSON errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tend.cli import app
from tend.core.actions import create_api_token, revoke_api_token
from tend.core.models import ApiToken, AuditEntry, Role, User
from tend.customers.models import Account
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def token(csm: User) -> str:
    return create_api_token(csm, "tests")[1]


def test_tokens_authenticate_until_revoked_or_expired(client: Client, csm: User) -> None:
    api_token, secret = create_api_token(csm, "ci")
    assert client.get("/api/accounts/", **bearer(secret)).status_code == 200
    assert secret not in {t.digest for t in ApiToken.objects.all()}
    revoke_api_token(api_token, csm)
    refused = client.get("/api/accounts/", **bearer(secret))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    _, expired = create_api_token(csm, "old", timezone.now() - timedelta(seconds=1))
    assert client.get("/api/accounts/", **bearer(expired)).status_code == 401
    assert client.get("/api/accounts/").status_code == 401


def test_account_crud_by_external_id(client: Client, token: str) -> None:
    UserFactory(username="maria")
    AccountFactory(external_id="parent-co")
    created = client.post(
        "/api/accounts/",
        {
            "external_id": "acme",
            "name": "Acme",
            "owner": "maria",
            "parent": "parent-co",
            "seats": 12,
            "traits": {"plan": "pro"},
        },
        content_type="application/json",
        **bearer(token),
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["owner"], body["parent"], body["seats"]) == ("maria", "parent-co", 12)

    changed = client.patch(
        "/api/accounts/acme", {"seats": 15}, content_type="application/json", **bearer(token)
    )
    assert changed.status_code == 200
    assert changed.json()["seats"] == 15 and changed.json()["name"] == "Acme"
    assert client.get("/api/accounts/acme", **bearer(token)).json()["seats"] == 15
    assert AuditEntry.objects.filter(action__in=["account.created", "account.updated"]).count() == 2

    duplicate = client.post(
        "/api/accounts/",
        {"external_id": "acme", "name": "Again"},
        content_type="application/json",
        **bearer(token),
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "conflict"
    assert client.delete("/api/accounts/acme", **bearer(token)).status_code == 204
    missing = client.get("/api/accounts/acme", **bearer(token))
    assert missing.status_code == 404 and "acme" in missing.json()["message"]


def test_invalid_writes_say_which_field_and_change_nothing(client: Client, token: str) -> None:
    response = client.post(
        "/api/accounts/",
        {"external_id": "x", "name": "X", "seats": -1, "parent": "ghost"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 422
    message = response.json()["message"]
    assert "seats" in message and "parent" in message and "ghost" in message
    wrong_type = client.post(
        "/api/accounts/",
        {"external_id": "x", "name": "X", "seats": "many"},
        content_type="application/json",
        **bearer(token),
    )
    assert wrong_type.status_code == 422 and wrong_type.json()["code"] == "invalid"
    assert not Account.objects.exists()


def test_viewers_read_but_cannot_write(client: Client) -> None:
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    secret = create_api_token(viewer, "read only")[1]
    assert client.get("/api/accounts/", **bearer(secret)).status_code == 200
    refused = client.post(
        "/api/accounts/",
        {"external_id": "x", "name": "X"},
        content_type="application/json",
        **bearer(secret),
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_cursor_pages_visit_every_row_once(client: Client, token: str) -> None:
    for index in range(5):
        AccountFactory(external_id=f"a{index}")
    seen: list[str] = []
    url: str | None = "/api/accounts/?page_size=2"
    while url:
        page: dict[str, Any] = client.get(url, **bearer(token)).json()
        seen.extend(row["external_id"] for row in page["results"])
        url = page["next"]
    assert seen == [f"a{index}" for index in range(5)]


def test_filters_use_external_ids_and_the_query_count_stays_flat(
    client: Client, token: str, django_assert_max_num_queries: Any
) -> None:
    target = AccountFactory(external_id="target", lifecycle_stage="at_risk")
    other = AccountFactory(external_id="other")
    for _ in range(3):
        ContactFactory(account=target)
    ContactFactory(account=other)
    response = client.get("/api/contacts/?account=target", **bearer(token))
    assert {row["account"] for row in response.json()["results"]} == {"target"}
    assert len(response.json()["results"]) == 3
    stage = client.get("/api/accounts/?lifecycle_stage=at_risk", **bearer(token)).json()
    assert [row["external_id"] for row in stage["results"]] == ["target"]
    for _ in range(20):
        ContactFactory(account=other)
    with django_assert_max_num_queries(3):
        client.get("/api/contacts/?page_size=50", **bearer(token))


def test_openapi_documents_every_entity(signed_in_client: Client) -> None:
    """The document and the browsable docs are for signed-in people only."""
    assert Client().get("/api/openapi.json").status_code == 302
    client = signed_in_client
    paths = client.get("/api/openapi.json").json()["paths"]
    for entity in ("accounts", "contacts", "tickets", "touchpoints", "survey-responses"):
        assert f"/api/{entity}/" in paths
        assert f"/api/{entity}/{{external_id}}" in paths
    assert client.get("/api/docs").status_code == 200


def test_token_cli_creates_lists_and_revokes(csm: User) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "casey", "--name", "zapier"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("tend_")
    token = ApiToken.objects.get()
    assert runner.invoke(app, ["token", "list"]).output.count("zapier") == 1
    assert runner.invoke(app, ["token", "revoke", token.prefix]).exit_code == 0
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_events_are_listed_with_filters(client: Client, token: str) -> None:
    from datetime import UTC, datetime

    from tests.factories import EventFactory

    account = AccountFactory(external_id="acc")
    EventFactory(account=account, name="Logged In", timestamp=datetime(2026, 1, 1, tzinfo=UTC))
    EventFactory(account=account, name="Report Created", timestamp=datetime(2026, 1, 3, tzinfo=UTC))
    EventFactory(name="Logged In", timestamp=datetime(2026, 1, 3, tzinfo=UTC))
    page = client.get("/api/events/?account=acc&since=2026-01-02T00:00:00Z", **bearer(token)).json()
    assert [(e["name"], e["account"]) for e in page["results"]] == [("Report Created", "acc")]
    one = client.get(f"/api/events/{page['results'][0]['id']}", **bearer(token))
    assert one.status_code == 200 and one.json()["name"] == "Report Created"
    assert client.get("/api/events/999999", **bearer(token)).status_code == 404


def test_subscriptions_show_item_history_and_invoices_link(client: Client, token: str) -> None:
    AccountFactory(external_id="acc")
    body = {
        "external_id": "sub1",
        "account": "acc",
        "status": "active",
        "started_at": "2026-01-01T00:00:00Z",
        "plan": "growth",
        "unit_amount": "30",
        "quantity": 10,
        "interval": "month",
    }
    created = client.post(
        "/api/subscriptions/", body, content_type="application/json", **bearer(token)
    )
    assert created.status_code == 201, created.content
    changed = client.patch(
        "/api/subscriptions/sub1",
        {"quantity": 12, "changed_at": "2026-02-01T00:00:00Z"},
        content_type="application/json",
        **bearer(token),
    )
    items = changed.json()["items"]
    assert [(i["quantity"], i["ended_at"] is None) for i in items] == [(10, False), (12, True)]
    invoice = client.post(
        "/api/invoices/",
        {
            "external_id": "in1",
            "account": "acc",
            "subscription": "sub1",
            "status": "paid",
            "amount_due": "300.00",
            "issued_at": "2026-01-01T00:00:00Z",
        },
        content_type="application/json",
        **bearer(token),
    )
    assert invoice.status_code == 201 and invoice.json()["subscription"] == "sub1"
    listed = client.get("/api/invoices/?subscription=sub1", **bearer(token)).json()
    assert [row["external_id"] for row in listed["results"]] == ["in1"]
