"""The scorecard editor's form: a saved scorecard survives the round trip through the form's
fields, problems land next to the field that caused them, rows are added and removed, and the
diff between two versions names each change."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from django.http import QueryDict

from tend.health.scorecard_yaml import load_scorecard, validate_scorecard
from tend.web.scorecard_diff import Change, diff_configs
from tend.web.scorecard_forms import (
    apply_operation,
    draft_from_config,
    draft_from_form,
    form_fields,
    split_problem,
    validate_draft,
)
from tests.health.factories import simple_config


def default_config() -> Any:
    text = files("tend.health").joinpath("default_scorecard.yaml").read_text(encoding="utf-8")
    return load_scorecard(text)


def posted(fields: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in fields.items():
        if isinstance(value, list):
            query.setlist(key, [str(v) for v in value])
        else:
            query[key] = str(value)
    return query


def test_the_shipped_scorecard_survives_the_form_round_trip() -> None:
    config = default_config()
    draft = draft_from_form(posted(form_fields(draft_from_config(config))))
    assert validate_draft(draft) == config
    assert not draft.has_errors


def test_problems_are_attached_to_the_field_that_caused_them() -> None:
    fields = form_fields(draft_from_config(default_config()))
    fields |= {
        "group-0-measure-1-weight": "-1",
        "group-1-measure-2-tier-1-at_least": "0",  # tiers must increase
        "band-1-below": "twenty",
        "group-4-measure-1-metric": "revenue_growth_30d",
        "priority": "",
        "group-3-measure-0-best": "-70",  # nps_latest: higher is better, worst -60
    }
    draft = draft_from_form(posted(fields))
    assert validate_draft(draft) is None
    assert draft.groups[0].measures[1].errors == {"weight": "must be > 0"}
    assert draft.groups[1].measures[2].errors == {
        "tiers": "tiers must be in increasing order of at_least"
    }
    assert draft.bands[1].errors == {"below": "must be a number"}
    assert draft.groups[4].measures[1].errors == {
        "metric": "metric 'revenue_growth_30d': not in the measures catalog"
    }
    assert draft.groups[3].measures[0].errors == {
        "best": "higher_is_better: best must be above worst"
    }
    assert draft.errors == {"priority": "must be a whole number"}
    assert draft.problems == []


def test_a_scorecard_for_nobody_is_refused_at_applies_to() -> None:
    draft = draft_from_config(validate_scorecard(simple_config("Small")))
    draft.is_default = False
    assert validate_draft(draft) is None
    assert draft.errors["applies_to"] == ("name segments or lifecycle stages, or set is_default")


def test_split_problem_reads_the_leading_path() -> None:
    assert split_problem("groups[1].measures[0].weight: must be > 0") == (
        ["groups", 1, "measures", 0, "weight"],
        "must be > 0",
    )
    assert split_problem("group names must be unique") == ([], "group names must be unique")


def test_rows_are_added_and_removed() -> None:
    draft = draft_from_config(default_config())
    assert apply_operation(draft, "add-measure-1")
    assert len(draft.groups[1].measures) == 4 and draft.groups[1].measures[3].metric == ""
    assert apply_operation(draft, "remove-measure-0-0")
    assert draft.groups[0].measures[0].metric == "active_days_per_user_30d"
    assert apply_operation(draft, "add-band")
    assert [b.name for b in draft.bands] == ["unhealthy", "at risk", "", "healthy"]
    assert apply_operation(draft, "remove-group-4")
    assert [g.name for g in draft.groups] == ["adoption", "engagement", "support", "sentiment"]
    assert not apply_operation(draft, "remove-group-9")


def test_the_diff_names_measures_groups_and_bands_that_changed() -> None:
    old = default_config()
    data = old.model_dump(mode="json")
    data["bands"]["levels"][0]["below"] = 35
    data["groups"][0]["weight"] = 40
    data["groups"][0]["measures"][0]["weight"] = 2
    del data["groups"][3]["measures"][1]  # csat_90d
    data["groups"][3]["measures"].append(
        {
            "metric": "detractors_90d",
            "direction": "lower_is_better",
            "normalisation": {"kind": "linear", "worst": 5, "best": 0},
        }
    )
    data["applies_to"] = {"segments": [], "lifecycle_stages": ["adoption"]}
    new = validate_scorecard(data)

    assert diff_configs(old, new) == [
        Change("applies to", "accounts", "changed", "lifecycle stages", "any", "adoption"),
        Change("bands", "unhealthy", "changed", "band", "red, below 40", "red, below 35"),
        Change("group", "adoption", "changed", "weight", "30", "40"),
        Change("measure", "seat_utilisation_30d", "changed", "weight", "1", "2"),
        Change(
            "measure",
            "csat_90d",
            "removed",
            before="group sentiment; metric csat_90d; direction higher is better; weight 1; "
            "normalisation linear, worst 50, best 95; missing data exclude",
        ),
        Change(
            "measure",
            "detractors_90d",
            "added",
            after="group sentiment; metric detractors_90d; direction lower is better; "
            "weight 1; normalisation linear, worst 5, best 0; missing data exclude",
        ),
    ]
    assert diff_configs(old, old) == []
