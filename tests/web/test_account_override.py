"""The override form on the account page: a CSM overrides accounts in their own book, managers
and admins any account, viewers none; setting and clearing go through the health actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.core.models import AuditEntry, Role, User
from tend.customers.models import Account
from tend.health.models import HealthSnapshot, ScoreOverride
from tests.factories import AccountFactory, UserFactory
from tests.web.health_data import scorecard, store_snapshot


@pytest.fixture
def account(csm: User) -> Account:
    """In csm's book, scored today: 0.45 x 60 + 0.40 x 30 = 27 + 12 = 39 (unhealthy)."""
    account = AccountFactory(external_id="globex", name="Globex", owner=csm)
    today = timezone.now().astimezone(UTC).date()
    store_snapshot(account, scorecard(), today, {"events_30d": 60, "nps_latest": 30})
    return account


def client_for(role: str, username: str) -> Client:
    client = Client()
    client.force_login(UserFactory(username=username, role=role))
    return client


def override_url(account: Account) -> str:
    return reverse("web:account-override", args=[account.external_id])


def until(days: int = 10) -> str:
    return (timezone.now() + timedelta(days=days)).date().isoformat()


def test_own_csm_sets_a_score_override_and_clears_it(
    signed_in_client: Client, account: Account, csm: User
) -> None:
    page = signed_in_client.get(reverse("web:account", args=["globex"])).content.decode()
    assert 'id="override-form"' in page and "No override in force." in page

    response = signed_in_client.post(
        override_url(account),
        {"kind": "score", "score": "80", "reason": "Renewal signed", "expires_on": until()},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/globex/#health"
    snapshot = HealthSnapshot.objects.get(account=account)
    assert (snapshot.score, snapshot.band, snapshot.overridden) == (80.0, "healthy", True)
    assert (snapshot.computed_score, snapshot.computed_band) == (39.0, "unhealthy")
    override = ScoreOverride.objects.get(account=account)
    assert override.set_by == csm and override.reason == "Renewal signed"
    assert override.expires_at == datetime.combine(
        (timezone.now() + timedelta(days=10)).date(), datetime.max.time(), UTC
    ).replace(microsecond=0)
    html = signed_in_client.get(reverse("web:account", args=["globex"])).content.decode()
    assert 'data-testid="overridden">Overridden; computed 39.0 (unhealthy)' in html
    assert "In force: score 80.0" in html and "Renewal signed" in html

    cleared = signed_in_client.post(reverse("web:account-override-clear", args=["globex"]))

    assert cleared.status_code == 302
    snapshot.refresh_from_db()
    assert (snapshot.score, snapshot.band, snapshot.overridden) == (39.0, "unhealthy", False)
    assert ScoreOverride.objects.get(account=account).cleared_by == csm
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"health.override_set", "health.override_cleared"} <= actions


def test_a_band_override(account: Account) -> None:
    manager = client_for(Role.MANAGER, "morgan")
    form = manager.get(override_url(account))
    assert form.status_code == 200
    assert '<option value="at risk">at risk</option>' in form.content.decode()
    response = manager.post(
        override_url(account),
        {
            "kind": "band",
            "band": "at risk",
            "reason": "Exec sponsor engaged",
            "expires_on": until(),
        },
    )
    assert response.status_code == 302
    snapshot = HealthSnapshot.objects.get(account=account)
    assert (snapshot.score, snapshot.band) == (39.0, "at risk")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "score", "score": "", "reason": "x"}, "Give the score to show."),
        ({"kind": "score", "score": "120", "reason": "x"}, "less than or equal to 100"),
        ({"kind": "band", "band": "", "reason": "x"}, "Choose the band to show."),
        ({"kind": "band", "band": "purple", "reason": "x"}, "Select a valid choice"),
        ({"kind": "score", "score": "50", "reason": "   "}, "This field is required."),
    ],
)
def test_wrong_input_is_refused_with_the_reason(
    signed_in_client: Client, account: Account, data: dict[str, str], error: str
) -> None:
    response = signed_in_client.post(override_url(account), {**data, "expires_on": until()})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ScoreOverride.objects.exists()


def test_an_expiry_in_the_past_is_refused(signed_in_client: Client, account: Account) -> None:
    response = signed_in_client.post(
        override_url(account),
        {"kind": "score", "score": "50", "reason": "x", "expires_on": until(-2)},
    )
    assert response.status_code == 400
    assert "The last day must be today or later." in response.content.decode()


def test_a_csm_may_not_override_another_csms_account(account: Account) -> None:
    other = client_for(Role.CSM, "other-csm")
    page = other.get(reverse("web:account", args=["globex"])).content.decode()
    assert 'id="override-form"' not in page
    assert "Only the account's CSM, managers and admins may override" in page
    assert other.get(override_url(account)).status_code == 403
    posted = other.post(
        override_url(account),
        {"kind": "score", "score": "90", "reason": "x", "expires_on": until()},
    )
    assert posted.status_code == 403
    assert other.post(reverse("web:account-override-clear", args=["globex"])).status_code == 403
    assert not ScoreOverride.objects.exists()


def test_a_viewer_cannot_reach_the_override_form(account: Account) -> None:
    viewer = client_for(Role.VIEWER, "vera")
    page = viewer.get(reverse("web:account", args=["globex"])).content.decode()
    assert 'id="override-form"' not in page and 'id="clear-override"' not in page
    assert "Your role may read accounts but not override scores." in page
    assert viewer.get(override_url(account)).status_code == 403
    assert viewer.post(override_url(account), {"kind": "score"}).status_code == 403


def test_admins_override_any_account(db: None) -> None:
    account = AccountFactory(external_id="unowned")
    admin = client_for(Role.ADMIN, "ada")
    response = admin.post(
        override_url(account),
        {"kind": "score", "score": "10", "reason": "x", "expires_on": until()},
    )
    assert response.status_code == 302
    assert ScoreOverride.objects.get(account=account).score == 10.0


def test_clearing_without_an_override_says_so(signed_in_client: Client, account: Account) -> None:
    response = signed_in_client.post(
        reverse("web:account-override-clear", args=["globex"]), follow=True
    )
    assert "No override was in force." in response.content.decode()
