"""Scorecard pages everyone on the team may read: the scorecards with their versions, one
version's rules and YAML, and the difference between any two versions; plus rollback (saving an
old version's content as a new version), which only managers and admins may do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tend.core.models import Role, User
from tend.health import actions, queries
from tend.health.models import Scorecard, ScorecardVersion
from tend.health.scorecard import ScorecardConfig
from tend.web.permissions import signed_in
from tend.web.scorecard_diff import Change, describe_missing, describe_normalisation, diff_configs

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def may_edit_scorecards(user: object) -> bool:
    """Managers and admins change scorecards; CSMs and viewers read them."""
    return (
        isinstance(user, User)
        and user.is_active
        and (user.is_superuser or user.role in (Role.ADMIN, Role.MANAGER))
    )


def scorecard_editor_required(view: View[P]) -> View[P]:
    """Managers and admins only, for reading the form as well as writing: other roles get 403,
    signed-out visitors the sign-in page."""

    @wraps(view)
    def check(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not may_edit_scorecards(request.user):
            raise PermissionDenied("Only managers and admins may edit scorecards.")
        return view(request, *args, **kwargs)

    return login_required(check)


@dataclass(frozen=True)
class VersionRow:
    """A version in a list, with its stored backtest AUC when it has one."""

    version: ScorecardVersion

    @property
    def auc(self) -> float | None:
        value = (self.version.backtest or {}).get("roc_auc")
        return float(value) if isinstance(value, int | float) else None


def _versions(scorecard_ids: list[int]) -> dict[int, list[VersionRow]]:
    """Every version of the scorecards, newest first, without their configs: one query."""
    rows = (
        ScorecardVersion.objects.filter(scorecard_id__in=scorecard_ids)
        .select_related("created_by")
        .defer("config")
        .order_by("scorecard_id", "-number")
    )
    found: dict[int, list[VersionRow]] = {}
    for version in rows:
        found.setdefault(version.scorecard_id, []).append(VersionRow(version))
    return found


@signed_in
def scorecard_list(request: HttpRequest) -> HttpResponse:
    """Every scorecard: where it applies, its priority, and its versions."""
    scorecards = list(Scorecard.objects.all())
    versions = _versions([s.pk for s in scorecards])
    rows = [(scorecard, versions.get(scorecard.pk, [])) for scorecard in scorecards]
    context = {"rows": rows, "may_edit": may_edit_scorecards(request.user)}
    return render(request, "web/scorecards/list.html", context)


def scorecard_or_404(slug: str) -> Scorecard:
    return get_object_or_404(Scorecard, slug=slug)


def version_or_404(scorecard: Scorecard, number: int) -> ScorecardVersion:
    return get_object_or_404(
        ScorecardVersion.objects.select_related("created_by"), scorecard=scorecard, number=number
    )


@dataclass(frozen=True)
class MeasureLine:
    """One measure of a config as a table row."""

    group: str
    name: str
    metric: str
    direction: str
    weight: str
    share: float
    normalisation: str
    missing: str


def measure_lines(config: ScorecardConfig) -> list[MeasureLine]:
    """The config's measures with their nominal share of the score (group weight share x
    measure weight share), in config order."""
    total = sum(group.weight for group in config.groups)
    lines = []
    for group in config.groups:
        within = sum(m.weight for m in group.measures)
        for measure in group.measures:
            lines.append(
                MeasureLine(
                    group=group.name,
                    name=measure.name,
                    metric=measure.metric,
                    direction=measure.direction.replace("_", " "),
                    weight=f"{measure.weight:g}",
                    share=group.weight / total * measure.weight / within,
                    normalisation=describe_normalisation(measure.normalisation),
                    missing=describe_missing(measure.missing),
                )
            )
    return lines


@signed_in
def scorecard_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A scorecard's latest rules, its versions and a form to compare any two."""
    scorecard = scorecard_or_404(slug)
    versions = _versions([scorecard.pk]).get(scorecard.pk, [])
    latest = queries.latest_version(scorecard)
    config = queries.version_config(latest) if latest else None
    context = {
        "scorecard": scorecard,
        "versions": versions,
        "latest": latest,
        "config": config,
        "measures": measure_lines(config) if config else [],
        "may_edit": may_edit_scorecards(request.user),
    }
    return render(request, "web/scorecards/detail.html", context)


@signed_in
def version_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """One version's rules as a table and as YAML."""
    scorecard = scorecard_or_404(slug)
    version = version_or_404(scorecard, number)
    config = queries.version_config(version)
    latest = queries.latest_version(scorecard)
    context = {
        "scorecard": scorecard,
        "version": version,
        "config": config,
        "measures": measure_lines(config),
        "yaml": queries.export_scorecard_yaml(version),
        "is_latest": latest is not None and latest.pk == version.pk,
        "may_edit": may_edit_scorecards(request.user),
    }
    return render(request, "web/scorecards/version.html", context)


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


@signed_in
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    """What changed from version `from` to version `to` (default: the latest and the one
    before it). Any two versions compare, in either order."""
    scorecard = scorecard_or_404(slug)
    numbers = list(scorecard.versions.order_by("-number").values_list("number", flat=True))
    if not numbers:
        raise Http404("This scorecard has no versions.")
    after_number = _number(request.GET.get("to")) or numbers[0]
    before_number = _number(request.GET.get("from"))
    if before_number is None:
        before_number = max((n for n in numbers if n < after_number), default=after_number)
    before = version_or_404(scorecard, before_number)
    after = version_or_404(scorecard, after_number)
    changes = diff_configs(queries.version_config(before), queries.version_config(after))
    context = {
        "scorecard": scorecard,
        "before": before,
        "after": after,
        "numbers": numbers,
        "changes": changes,
        "areas": _by_area(changes),
        "may_edit": may_edit_scorecards(request.user),
    }
    return render(request, "web/scorecards/diff.html", context)


def _by_area(changes: list[Change]) -> list[tuple[str, list[Change]]]:
    areas: dict[str, list[Change]] = {}
    for change in changes:
        areas.setdefault(change.area, []).append(change)
    return list(areas.items())


@scorecard_editor_required
@require_POST
def rollback(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Save version `number`'s rules as the scorecard's next version; the diff shows what it
    undid."""
    scorecard = scorecard_or_404(slug)
    old = version_or_404(scorecard, number)
    latest = queries.latest_version(scorecard)
    if latest is not None and latest.pk == old.pk:
        messages.error(request, f"Version {number} is already the latest.")
        return redirect("web:scorecard", slug=scorecard.slug)
    user = request.user if isinstance(request.user, User) else None
    version = actions.save_scorecard_version(
        scorecard, queries.version_config(old), user, note=f"Rollback to version {number}."
    )
    messages.success(request, f"Version {version.number} restores the rules of version {number}.")
    previous = latest.number if latest is not None else version.number
    url = reverse("web:scorecard-diff", args=[scorecard.slug])
    return redirect(f"{url}?from={previous}&to={version.number}")
