"""Bulk import: upserts by external id, mappings, references, and all-or-nothing on bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tend.cli import app
from tend.customers.models import Account, Contact
from tend.imports.runner import import_file
from tend.support.models import Ticket
from tend.surveys.models import SurveyResponse
from tend.usage.models import Event
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_accounts_are_created_then_updated_with_mapping_and_traits(tmp_path: Path) -> None:
    UserFactory(username="maria")
    first = write(
        tmp_path / "accounts.csv",
        "id,company,owner,seats,traits.plan,parent\n"
        "a1,Acme,maria,10,pro,a2\n"
        "a2,Globex Holding,,250,enterprise,\n",
    )
    report = import_file("accounts", first, mapping={"id": "external_id", "company": "name"})
    assert (report.created, report.updated, report.refused) == (2, 0, False)
    acme = Account.objects.get(external_id="a1")
    assert acme.name == "Acme" and acme.seats == 10 and acme.owner is not None
    assert acme.traits == {"plan": "pro"}
    assert acme.parent == Account.objects.get(external_id="a2")

    second = write(tmp_path / "again.csv", "external_id,name,seats\na1,Acme Inc,12\n")
    report = import_file("accounts", second)
    assert (report.created, report.updated) == (0, 1)
    acme.refresh_from_db()
    assert (acme.name, acme.seats, acme.traits) == ("Acme Inc", 12, {"plan": "pro"})


def test_a_bad_file_is_refused_whole_with_every_error_by_row_and_field(tmp_path: Path) -> None:
    AccountFactory(external_id="known")
    path = write(
        tmp_path / "contacts.csv",
        "external_id,email,account,is_champion,first_seen_at\n"
        "c1,ok@example.com,known,yes,2026-01-02\n"
        "c2,bad@example.com,ghost,maybe,yesterday\n"
        ",missing@example.com,known,no,\n",
    )
    report = import_file("contacts", path)
    assert report.refused
    found = {(e.row, e.field) for e in report.errors}
    assert found == {(3, "account"), (3, "is_champion"), (3, "first_seen_at"), (4, "external_id")}
    messages = {e.field: e.message for e in report.errors if e.row == 3}
    assert "ghost" in messages["account"]
    assert "yesterday" in messages["first_seen_at"]
    assert Contact.objects.count() == 0


def test_skip_invalid_lands_valid_rows_and_writes_rejects_with_reasons(tmp_path: Path) -> None:
    path = write(
        tmp_path / "accounts.csv",
        "external_id,name,employee_count\nok1,Fine,10\nbad,Broken,many\nok2,Also fine,\n",
    )
    report = import_file("accounts", path, skip_invalid=True)
    assert not report.refused
    assert (report.created, report.rejected_rows) == (2, 1)
    assert set(Account.objects.values_list("external_id", flat=True)) == {"ok1", "ok2"}
    assert report.rejects_path is not None
    rejects = report.rejects_path.read_text().splitlines()
    assert rejects[0].startswith("_row,_errors")
    assert rejects[1].startswith("3,employee_count: 'many' is not a whole number")


@pytest.mark.parametrize(
    ("name", "content", "problem", "line"),
    [
        (
            "truncated.jsonl",
            '{"external_id": "x1", "name": "A"}\n{"external_id": "x2", "na',
            "truncated",
            2,
        ),
        ("not-object.jsonl", '{"external_id": "x1", "name": "A"}\n[1, 2]\n', "JSON object", 2),
        ("columns.csv", "external_id,name\nx1,A\nx2,B,extra\n", "columns", 3),
    ],
)
def test_broken_files_leave_the_database_unchanged(
    tmp_path: Path, name: str, content: str, problem: str, line: int
) -> None:
    """Rows are counted as a person would: JSON Lines by line, CSV by line with the header."""
    report = import_file("accounts", write(tmp_path / name, content))
    assert report.refused and report.file_problem is not None
    assert problem in report.file_problem
    assert report.errors[0].row == line
    assert Account.objects.count() == 0


def test_wrong_encoding_is_reported_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.csv", "external_id,name\nx1,Müller GmbH\n", encoding="latin-1")
    report = import_file("accounts", path)
    assert report.refused and "utf-8" in (report.file_problem or "")
    assert Account.objects.count() == 0


def test_events_import_is_idempotent_and_collects_properties(tmp_path: Path) -> None:
    AccountFactory(external_id="acc")
    path = write(
        tmp_path / "events.csv",
        "user_id,account,name,timestamp,properties.plan\n"
        "u1,acc,Report Created,2026-02-01T10:00:00Z,pro\n"
        "u2,acc,Logged In,2026-02-01T11:00:00+01:00,\n",
    )
    report = import_file("events", path, event_source="warehouse")
    assert report.created == 2
    assert import_file("events", path, event_source="warehouse").created == 0
    event = Event.objects.get(user_id="u1")
    assert event.source == "warehouse" and event.properties == {"plan": "pro"}
    assert event.account is not None and event.account.external_id == "acc"
    later = Event.objects.get(user_id="u2")
    assert later.timestamp == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


def test_survey_responses_check_the_scale_of_their_survey(tmp_path: Path) -> None:
    AccountFactory(external_id="acc")
    path = write(
        tmp_path / "nps.jsonl",
        '{"external_id": "r1", "survey": "nps", "account": "acc", "score": 9, '
        '"answered_at": "2026-03-01"}\n'
        '{"external_id": "r2", "survey": "csat", "account": "acc", "score": 7, '
        '"answered_at": "2026-03-01"}\n',
    )
    report = import_file("survey_responses", path)
    assert report.refused
    assert [(e.row, e.field) for e in report.errors] == [(2, "score")]
    assert "1-5" in report.errors[0].message
    assert SurveyResponse.objects.count() == 0


def test_tickets_from_parquet(tmp_path: Path) -> None:
    AccountFactory(external_id="acc")
    table = pa.table(
        {
            "external_id": ["t1", "t2"],
            "account": ["acc", "acc"],
            "subject": ["Sync broken", "How to export"],
            "status": ["open", "solved"],
            "priority": ["urgent", "low"],
            "opened_at": [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)],
            "agent_replies": [0, 1],
        }
    )
    pq.write_table(table, tmp_path / "tickets.parquet")
    report = import_file("tickets", tmp_path / "tickets.parquet")
    assert report.created == 2
    assert Ticket.objects.get(external_id="t1").priority == "urgent"


def test_cli_prints_errors_and_exits_non_zero(tmp_path: Path) -> None:
    path = write(tmp_path / "accounts.csv", "external_id,name,seats\nx1,Acme,-3\n")
    result = CliRunner().invoke(app, ["import", "accounts", str(path)])
    assert result.exit_code == 1
    assert "seats" in result.output and "minimum" in result.output
    assert "nothing was written" in result.output
    ok = write(tmp_path / "ok.csv", "our_id,name\nx1,Acme\n")
    result = CliRunner().invoke(app, ["import", "accounts", str(ok), "--map", "our_id=external_id"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output


def test_subscriptions_keep_item_history_and_invoices_link_to_them(tmp_path: Path) -> None:
    from tend.billing.models import Invoice, Subscription

    AccountFactory(external_id="acc")
    header = "external_id,account,status,started_at,plan,unit_amount,quantity,interval,changed_at\n"
    first = write(
        tmp_path / "subs.csv",
        header + "sub1,acc,active,2026-01-01,growth_monthly,30,10,month,\n",
    )
    assert import_file("subscriptions", first).created == 1
    upgrade = write(
        tmp_path / "subs2.csv",
        header + "sub1,acc,active,2026-01-01,growth_monthly,30,14,month,2026-03-01\n",
    )
    assert import_file("subscriptions", upgrade).updated == 1
    items = list(Subscription.objects.get(external_id="sub1").items.order_by("started_at"))
    assert [(i.quantity, i.started_at.date().isoformat()) for i in items] == [
        (10, "2026-01-01"),
        (14, "2026-03-01"),
    ]
    assert items[0].ended_at == items[1].started_at

    invoices = write(
        tmp_path / "invoices.csv",
        "external_id,account,subscription,status,amount_due,amount_paid,issued_at,due_at,paid_at\n"
        "in1,acc,sub1,paid,300.00,300.00,2026-01-01,2026-01-15,2026-01-20\n"
        "in2,acc,nope,open,420.00,,2026-03-01,2026-03-15,\n",
    )
    report = import_file("invoices", invoices)
    assert report.refused and [(e.row, e.field) for e in report.errors] == [(3, "subscription")]
    assert not Invoice.objects.exists()
