"""`tend source`: create, list, revoke, rejected, driven through Typer's test runner."""

from __future__ import annotations

import pytest
from django.test import Client
from typer.testing import CliRunner

from tend.usage.cli import commands
from tend.usage.keys import authenticate
from tend.usage.loader import drain_inbox
from tend.usage.models import Source, WriteKey
from tests.usage.ingest_support import post_json, track

pytestmark = pytest.mark.django_db

runner = CliRunner(env={"COLUMNS": "250"})


def test_create_list_revoke_and_rejected(client: Client) -> None:
    created = runner.invoke(commands, ["create", "Mobile app"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert authenticate(key) is not None
    assert WriteKey.objects.get().digest != key

    listed = runner.invoke(commands, ["list"])
    assert "mobile-app" in listed.output
    assert key[:12] in listed.output
    assert key not in listed.output

    bad = {"batch": [{**track("bad-1"), "event": None}]}
    assert post_json(client, "/v1/batch", bad, key).status_code == 200
    drain_inbox()
    rejected = runner.invoke(commands, ["rejected", "--source", "mobile-app", "--limit", "5"])
    assert "bad-1" in rejected.output
    assert "missing_event" in rejected.output

    revoked = runner.invoke(commands, ["revoke", key[:12]])
    assert revoked.exit_code == 0, revoked.output
    assert authenticate(key) is None
    assert runner.invoke(commands, ["revoke", key[:12]]).exit_code == 1


def test_create_refuses_duplicate_names_and_unknown_kinds() -> None:
    assert runner.invoke(commands, ["create", "Web"]).exit_code == 0
    assert runner.invoke(commands, ["create", "Web"]).exit_code == 1
    assert runner.invoke(commands, ["create", "Other", "--kind", "kafka"]).exit_code == 1
    assert Source.objects.count() == 1
