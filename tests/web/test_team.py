"""The team page: each CSM's book, live counts beside snapshot values."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.core.models import Role, User
from tend.playbooks.actions import complete_task, create_task
from tend.support.models import TicketStatus
from tests.factories import AccountFactory, TicketFactory, TouchpointFactory, UserFactory
from tests.web.health_data import scorecard, store_snapshot
from tests.web.snapshot_data import MONTHS, row, store


def test_team_page_lists_each_book(signed_in_client: Client, csm: User) -> None:
    now = timezone.now()
    csm.first_name, csm.last_name = "Casey", "Jones"
    csm.save()
    robin = UserFactory(username="robin", first_name="Robin", last_name="Park")
    UserFactory(username="quiet", first_name="Quinn", last_name="Quiet")  # a CSM with no book
    UserFactory(username="vera", role=Role.VIEWER)  # not on the team page
    casey_accounts = AccountFactory.create_batch(3, owner=csm)
    robin_account = AccountFactory(owner=robin)
    AccountFactory(owner=None)
    TicketFactory(account=casey_accounts[0], status=TicketStatus.OPEN)
    TicketFactory(account=casey_accounts[1], status=TicketStatus.PENDING)
    TicketFactory(account=casey_accounts[1], status=TicketStatus.SOLVED)
    TicketFactory(account=robin_account, status=TicketStatus.OPEN)
    TouchpointFactory(account=casey_accounts[0], csm=csm, occurred_at=now - timedelta(days=2))
    TouchpointFactory(account=casey_accounts[2], csm=csm, occurred_at=now - timedelta(days=29))
    TouchpointFactory(account=casey_accounts[2], csm=csm, occurred_at=now - timedelta(days=45))
    june = MONTHS[-1]
    store(
        [
            row("mrr", june, 8000, scope=("portfolio", "all")),
            row("mrr", june, 6000, scope=("csm", "casey")),
            row("mrr", june, 2000, scope=("csm", "robin")),
            row("days_since_last_touchpoint", june, 4.5, scope=("csm", "casey")),
            row("mrr", MONTHS[-2], 1, scope=("csm", "casey")),
        ]
    )

    response = signed_in_client.get(reverse("web:team"))

    assert response.status_code == 200
    rows = {r.name: r for r in response.context["rows"]}
    assert list(rows) == [csm.display_name, "Quinn Quiet", "Robin Park", "Unassigned"]
    casey = rows[csm.display_name]
    assert (casey.counts.accounts, casey.counts.open_tickets, casey.counts.touchpoints_30d) == (
        3,
        2,
        2,
    )
    assert casey.mrr_text == "$6,000"
    assert casey.share_text == "75.0 %"
    assert casey.days_text == "4.5 days"
    assert rows["Robin Park"].counts.open_tickets == 1
    assert rows["Robin Park"].days_text == "—"
    assert rows["Quinn Quiet"].counts.accounts == 0
    assert rows["Unassigned"].counts.accounts == 1
    html = response.content.decode()
    assert "$6,000" in html and "75.0 %" in html
    assert f'?owner={csm.pk}"' in html
    assert "?scope=csm:casey" in html
    chart = json.loads(
        html.split('id="workload-data" type="application/json">')[1].split("</script>")[0]
    )
    assert chart["labels"][0] == csm.display_name
    assert chart["datasets"][0]["data"][0] == 3


def test_team_page_without_snapshots_or_csms(signed_in_client: Client, csm: User) -> None:
    csm.role = Role.MANAGER
    csm.save()
    response = signed_in_client.get(reverse("web:team"))
    assert response.status_code == 200
    assert "No CSMs yet" in response.content.decode()
    assert "not computed yet" in response.content.decode()


def test_a_departed_member_with_a_book_still_shows(signed_in_client: Client) -> None:
    gone = UserFactory(username="gone", first_name="Gail", last_name="Gone", is_active=False)
    AccountFactory(owner=gone)
    rows = signed_in_client.get(reverse("web:team")).context["rows"]
    assert "Gail Gone" in [r.name for r in rows]
    assert "inactive" in signed_in_client.get(reverse("web:team")).content.decode()


def test_each_book_shows_its_health_mix_and_tasks(signed_in_client: Client, csm: User) -> None:
    robin = UserFactory(username="robin", first_name="Robin", last_name="Park")
    version = scorecard()
    day = timezone.localdate()
    levels = ("events_30d", "features_used_30d", "nps_latest")
    for owner, total in ((csm, 20), (csm, 90), (csm, 95), (robin, 50), (None, 10)):
        store_snapshot(AccountFactory(owner=owner), version, day, dict.fromkeys(levels, total))
    account = AccountFactory(owner=csm)
    create_task(account, "Late", created_by=None, due_on=day - timedelta(days=1))
    create_task(account, "Soon", created_by=None, due_on=day + timedelta(days=1))
    complete_task(
        create_task(account, "Done", created_by=None, due_on=day - timedelta(days=9)), csm
    )
    create_task(account, "Robin's", created_by=None, assignee=robin)

    response = signed_in_client.get(reverse("web:team"))

    rows = {r.name: r for r in response.context["rows"]}
    casey = rows[csm.display_name]
    assert (casey.tasks.open, casey.tasks.overdue) == (2, 1)
    assert [(b.level.name, b.count) for b in casey.health] == [("unhealthy", 1), ("healthy", 2)]
    assert (rows["Robin Park"].tasks.open, rows["Robin Park"].tasks.overdue) == (1, 0)
    assert [(b.level.name, b.count) for b in rows["Robin Park"].health] == [("at risk", 1)]
    assert [(b.level.name, b.count) for b in rows["Unassigned"].health] == [("unhealthy", 1)]
    html = response.content.decode()
    assert "1 unhealthy · 2 healthy" in html
    assert "1 overdue</span>" in html
