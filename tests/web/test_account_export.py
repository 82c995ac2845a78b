"""CSV export of the accounts table: the same filters and sort as the page, every matching
account (not only the first page), streamed."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, SubscriptionItemFactory, UserFactory
from tests.web.health_data import scorecard, store_snapshot


def read_csv(response: object) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(body)))


def test_export_follows_the_filters_and_sort(signed_in_client: Client, db: None) -> None:
    now = timezone.now()
    dana = UserFactory(username="dana", first_name="Dana", last_name="Scully")
    version = scorecard()
    day = date(2026, 11, 20)
    for i, (events, quantity) in enumerate([(90, 4), (20, 1), (60, 2)]):
        account = AccountFactory(
            name=f"Firm {i}", external_id=f"firm-{i}", owner=dana, traits={"segment": "smb"}
        )
        SubscriptionItemFactory(
            subscription__account=account,
            subscription__started_at=now - timedelta(days=10),
            quantity=quantity,
        )
        store_snapshot(account, version, day, {"events_30d": events, "nps_latest": 50})
    AccountFactory(name="Other segment", traits={"segment": "enterprise"})

    response = signed_in_client.get(reverse("web:accounts-csv"), {"segment": "smb", "sort": "-mrr"})

    assert response.status_code == 200
    assert response.streaming  # type: ignore[attr-defined]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    rows = read_csv(response)
    assert [r["name"] for r in rows] == ["Firm 0", "Firm 2", "Firm 1"]
    first = rows[0]
    # 0.45 x 90 + 0.40 x 50 = 40.5 + 20 = 60.5: at risk
    assert first["health_score"] == "60.5" and first["health_band"] == "at risk"
    assert (first["mrr"], first["mrr_currency"]) == ("120.00", "USD")
    assert (first["owner"], first["segment"], first["external_id"]) == (
        "Dana Scully",
        "smb",
        "firm-0",
    )
    assert rows[2]["health_band"] == "unhealthy"  # 9 + 20 = 29


def test_export_holds_every_matching_account_not_one_page(
    signed_in_client: Client, db: None
) -> None:
    AccountFactory.create_batch(60)
    rows = read_csv(signed_in_client.get(reverse("web:accounts-csv")))
    assert len(rows) == 60
    assert rows[0]["health_band"] == "" and rows[0]["renewal_date"] == ""
