"""Scorecard pages: the list and versions everyone reads; the editor, its validation, saving a
version, the diff, rollback and YAML mode for managers and admins only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tend.core.models import Role, User
from tend.health import queries
from tend.health.actions import save_scorecard_version
from tend.health.models import Scorecard, ScorecardVersion
from tend.health.scorecard_yaml import validate_scorecard
from tend.web.scorecard_forms import draft_from_config, form_fields
from tests.factories import UserFactory
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def scorecard() -> Scorecard:
    return save_scorecard_version(None, simple_config("Events"), None, note="first").scorecard


@pytest.fixture
def manager(client: Client) -> Client:
    client.force_login(UserFactory(username="morgan", role=Role.MANAGER))
    return client


def fields_of(scorecard: Scorecard, **changes: str) -> dict[str, Any]:
    latest = queries.latest_version(scorecard)
    assert latest is not None
    return form_fields(draft_from_config(queries.version_config(latest))) | changes


def test_the_list_and_the_scorecard_page_show_versions(
    manager: Client, scorecard: Scorecard
) -> None:
    save_scorecard_version(scorecard, simple_config("Events", priority=5), None, note="sooner")
    listing = manager.get(reverse("web:scorecards"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Events" in page and "v2</a>, " in page and "v1</a>" in page
    detail = manager.get(reverse("web:scorecard", args=[scorecard.slug])).content.decode()
    assert "Rules of version 2" in detail and "sooner" in detail
    assert "Roll back to version 1" in detail
    # One measure carrying the whole score, as the rules table says.
    assert "100 %" in detail and "points, base 0, 1 per unit" in detail


def test_saving_an_edited_threshold_makes_a_version_and_shows_the_diff(
    manager: Client, scorecard: Scorecard
) -> None:
    response = manager.post(
        reverse("web:scorecard-edit", args=[scorecard.slug]),
        fields_of(scorecard, **{"band-0-below": "25", "note": "fewer reds"}),
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("web:scorecard-diff", args=[scorecard.slug]) + "?from=1&to=2"
    )
    version = ScorecardVersion.objects.get(scorecard=scorecard, number=2)
    assert version.note == "fewer reds"
    assert version.created_by is not None and version.created_by.username == "morgan"
    assert validate_scorecard(version.config).bands.levels[0].below == 25
    diff = manager.get(response["Location"]).content.decode()
    assert "1 change" in diff
    assert "<del>red, below 40</del>" in diff and "<ins>red, below 25</ins>" in diff


def test_invalid_fields_are_shown_next_to_them_and_nothing_is_saved(
    manager: Client, scorecard: Scorecard
) -> None:
    response = manager.post(
        reverse("web:scorecard-edit", args=[scorecard.slug]),
        fields_of(scorecard, **{"group-0-measure-0-weight": "0", "band-1-below": "30"}),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_group-0-measure-0-weight-error">must be &gt; 0</p>' in page
    assert "&#x27;below&#x27; must increase from band to band" in page
    assert 'aria-invalid="true" aria-describedby="id_group-0-measure-0-weight-error"' in page
    assert scorecard.versions.count() == 1


def test_saving_unchanged_rules_is_refused(manager: Client, scorecard: Scorecard) -> None:
    response = manager.post(
        reverse("web:scorecard-edit", args=[scorecard.slug]), fields_of(scorecard)
    )
    assert response.status_code == 400
    assert "Nothing changed since version 1" in response.content.decode()
    assert scorecard.versions.count() == 1


def test_add_a_measure_redraws_the_form_without_saving(
    manager: Client, scorecard: Scorecard
) -> None:
    response = manager.post(
        reverse("web:scorecard-edit", args=[scorecard.slug]),
        fields_of(scorecard, op="add-measure-0"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="group-0-measure-1-metric" value=""' in page
    assert "Measure 2" in page
    assert scorecard.versions.count() == 1


def test_rollback_saves_the_old_rules_as_a_new_version(
    manager: Client, scorecard: Scorecard
) -> None:
    first = queries.version_config(scorecard.versions.get(number=1))
    save_scorecard_version(scorecard, simple_config("Events", priority=5), None)
    response = manager.post(reverse("web:scorecard-rollback", args=[scorecard.slug, 1]))
    assert response.status_code == 302
    assert response["Location"].endswith("?from=2&to=3")
    third = scorecard.versions.get(number=3)
    assert validate_scorecard(third.config) == first
    assert third.note == "Rollback to version 1."
    diff = manager.get(response["Location"]).content.decode()
    assert "<del>5</del>" in diff and "<ins>100</ins>" in diff  # the priority came back


def test_yaml_mode_saves_valid_text_and_names_the_bad_line(
    manager: Client, scorecard: Scorecard
) -> None:
    url = reverse("web:scorecard-yaml", args=[scorecard.slug])
    text = manager.get(url).context["text"]
    broken = manager.post(url, {"yaml": "name: [unclosed", "note": ""})
    assert broken.status_code == 400
    assert "line 1, column" in broken.content.decode()
    saved = manager.post(url, {"yaml": text.replace("priority: 100", "priority: 7"), "note": "y"})
    assert saved.status_code == 302
    assert scorecard.versions.get(number=2).config["priority"] == 7


def test_duplicate_creates_a_scorecard_for_a_segment(manager: Client, scorecard: Scorecard) -> None:
    fields = fields_of(scorecard, name="Small accounts", segments="smb, startup")
    fields.pop("is_default", None)
    response = manager.post(reverse("web:scorecard-duplicate", args=[scorecard.slug]), fields)
    assert response.status_code == 302
    created = Scorecard.objects.get(name="Small accounts")
    assert created.segments == ["smb", "startup"] and not created.is_default
    assert response["Location"] == reverse("web:scorecard", args=[created.slug])


def test_the_preview_lists_problems_of_an_invalid_form(
    manager: Client, scorecard: Scorecard
) -> None:
    response = manager.post(
        reverse("web:scorecard-preview", args=[scorecard.slug]),
        fields_of(scorecard, **{"group-0-measure-0-metric": "unknown_metric"}),
    )
    assert response.status_code == 200
    assert "No preview yet" in response.content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CSM])
def test_only_managers_and_admins_reach_the_editor(
    client: Client, scorecard: Scorecard, role: str
) -> None:
    reader: User = UserFactory(username=f"reader-{role}", role=role)
    client.force_login(reader)
    assert client.get(reverse("web:scorecard-edit", args=[scorecard.slug])).status_code == 403
    page = client.get(reverse("web:scorecard", args=[scorecard.slug]))
    assert page.status_code == 200
    assert reverse("web:scorecard-edit", args=[scorecard.slug]) not in page.content.decode()
    assert "Roll back" not in page.content.decode()
