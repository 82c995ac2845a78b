"""The scorecard editor (managers and admins): a form over the scorecard's measures, weights,
normalisations, groups, bands and the accounts it applies to, or its YAML text; a live preview
of the unsaved rules (htmx, debounced); saving makes a new version through
`health.actions.save_scorecard_version`, and a duplicate becomes a new scorecard."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from tend.core.models import User
from tend.customers.models import Account, LifecycleStage
from tend.health import actions, queries
from tend.health.measures import MEASURE_CATALOG, default_measure_names
from tend.health.models import Scorecard
from tend.health.preview import HISTOGRAM_BINS, ScorecardPreview, preview_scorecard
from tend.health.scorecard import NORMALISATION_KINDS, ScorecardConfig
from tend.health.scorecard_yaml import ScorecardError, load_scorecard
from tend.web.scorecard_forms import (
    ScorecardDraft,
    apply_operation,
    draft_from_config,
    draft_from_form,
    validate_draft,
)
from tend.web.scorecard_views import scorecard_editor_required, scorecard_or_404

COLOURS = ("red", "orange", "yellow", "green", "blue", "grey")
DIRECTIONS = (("higher_is_better", "Higher is better"), ("lower_is_better", "Lower is better"))
AGGREGATIONS = (
    ("weighted_mean", "Weighted mean"),
    ("min", "Lowest measure"),
    ("max", "Highest measure"),
)
MISSING_POLICIES = (
    ("exclude", "Leave out (reweigh the rest)"),
    ("neutral", "Neutral (50)"),
    ("value", "Use a value"),
)
BAND_METHODS = (("thresholds", "Score thresholds"), ("quantiles", "Quantiles of accounts"))


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def known_segments() -> list[str]:
    """Segments accounts carry today (their `segment` trait), for the editor's suggestions."""
    found = Account.objects.order_by().values_list("traits__segment", flat=True).distinct()
    return sorted({str(s) for s in found if s not in (None, "")})


def catalog_rows() -> list[dict[str, Any]]:
    """The measures catalog as the editor lists it."""
    rows = []
    for base, spec in MEASURE_CATALOG.items():
        if base == "trait":
            usage = "trait:<name>"
        elif spec.windowed:
            usage = f"{base}_{spec.default_window}d"
        else:
            usage = base
        rows.append(
            {
                "usage": usage,
                "family": spec.family,
                "unit": spec.unit,
                "windowed": spec.windowed,
                "direction": "higher" if spec.higher_is_better else "lower",
                "definition": spec.definition,
            }
        )
    return rows


def _colours(draft: ScorecardDraft) -> list[str]:
    used = [band.colour for band in draft.bands if band.colour and band.colour not in COLOURS]
    return [*COLOURS, *dict.fromkeys(used)]


def editor_context(
    draft: ScorecardDraft, scorecard: Scorecard, mode: str, preview_url: str
) -> dict[str, Any]:
    return {
        "draft": draft,
        "scorecard": scorecard,
        "mode": mode,
        "preview_url": preview_url,
        "catalog": catalog_rows(),
        "metric_names": default_measure_names(),
        "stages": LifecycleStage.choices,
        "segments": known_segments(),
        "directions": DIRECTIONS,
        "aggregations": AGGREGATIONS,
        "kinds": NORMALISATION_KINDS,
        "policies": MISSING_POLICIES,
        "colours": _colours(draft),
        "band_methods": BAND_METHODS,
    }


def _editor(
    request: HttpRequest, scorecard: Scorecard, draft: ScorecardDraft, mode: str, status: int = 200
) -> HttpResponse:
    preview_url = reverse("web:scorecard-preview", args=[scorecard.slug])
    context = editor_context(draft, scorecard, mode, preview_url)
    return render(request, "web/scorecards/edit.html", context, status=status)


def _latest_config(scorecard: Scorecard) -> ScorecardConfig | None:
    latest = queries.latest_version(scorecard)
    return queries.version_config(latest) if latest else None


def _starting_config(request: HttpRequest, scorecard: Scorecard) -> ScorecardConfig | None:
    """The latest version's rules, or those of `?from=<number>` to start from an old one."""
    number = request.GET.get("from", "")
    if number.isdigit():
        version = scorecard.versions.filter(number=int(number)).first()
        if version is not None:
            return queries.version_config(version)
    return _latest_config(scorecard)


@scorecard_editor_required
@require_http_methods(["GET", "POST"])
def scorecard_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the form with the latest rules. POST: add or remove a row (`op`), or save the rules
    as a new version when they are valid and differ from the latest."""
    scorecard = scorecard_or_404(slug)
    if request.method != "POST":
        config = _starting_config(request, scorecard)
        draft = draft_from_config(config) if config else ScorecardDraft(name=scorecard.name)
        return _editor(request, scorecard, draft, "edit")
    draft = draft_from_form(request.POST)
    operation = request.POST.get("op", "save")
    if operation != "save":
        apply_operation(draft, operation)
        return _editor(request, scorecard, draft, "edit")
    config = validate_draft(draft)
    latest = queries.latest_version(scorecard)
    if config is not None and latest is not None and queries.version_config(latest) == config:
        draft.problems.append(f"Nothing changed since version {latest.number}; nothing saved.")
        config = None
    if config is None:
        return _editor(request, scorecard, draft, "edit", status=400)
    version = actions.save_scorecard_version(scorecard, config, _user(request), note=draft.note)
    messages.success(request, f"Saved version {version.number} of {scorecard.name}.")
    url = reverse("web:scorecard-diff", args=[scorecard.slug])
    previous = latest.number if latest else version.number
    return redirect(f"{url}?from={previous}&to={version.number}")


@scorecard_editor_required
@require_http_methods(["GET", "POST"])
def scorecard_duplicate(request: HttpRequest, slug: str) -> HttpResponse:
    """A new scorecard starting from this one's rules (for another segment or stage)."""
    source = scorecard_or_404(slug)
    if request.method != "POST":
        config = _latest_config(source)
        draft = draft_from_config(config) if config else ScorecardDraft()
        draft.name = f"Copy of {source.name}"
        draft.is_default = False
        return _editor(request, source, draft, "duplicate")
    draft = draft_from_form(request.POST)
    operation = request.POST.get("op", "save")
    if operation != "save":
        apply_operation(draft, operation)
        return _editor(request, source, draft, "duplicate")
    config = validate_draft(draft)
    if config is None:
        return _editor(request, source, draft, "duplicate", status=400)
    note = draft.note or f"Started from {source.name}."
    version = actions.save_scorecard_version(None, config, _user(request), note=note)
    messages.success(request, f"Created {version.scorecard.name}.")
    return redirect("web:scorecard", slug=version.scorecard.slug)


def band_rows(preview: ScorecardPreview) -> list[dict[str, Any]]:
    """Each band's accounts under the edited rules beside the saved version's, top band first;
    bands the edit removed are listed with 0 edited."""
    saved = {band.name: band for band in preview.saved.bands} if preview.saved else {}
    rows = []
    for band in preview.edited.bands:
        old = saved.pop(band.name, None)
        rows.append(_band_row(band.name, band.colour, band.accounts, band.share, old))
    rows += [_band_row(old.name, old.colour, 0, None, old) for old in saved.values()]
    return rows


def _band_row(
    name: str, colour: str, accounts: int, share: float | None, old: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "slug": slugify(name),
        "colour": colour,
        "edited": accounts,
        "edited_share": share,
        "saved": old.accounts if old is not None else None,
        "saved_share": old.share if old is not None else None,
        "change": accounts - old.accounts if old is not None else None,
    }


def histogram_rows(preview: ScorecardPreview) -> list[dict[str, Any]]:
    """Accounts per 10-point score bin, highest first, with bar widths (% of the largest)."""
    edited = preview.edited.histogram
    saved = preview.saved.histogram if preview.saved else [0] * HISTOGRAM_BINS
    largest = max([*edited, *saved, 1])
    step = 100 // HISTOGRAM_BINS
    rows = [
        {
            "label": f"{i * step} to {(i + 1) * step}",
            "edited": edited[i],
            "saved": saved[i],
            "edited_width": round(100 * edited[i] / largest),
            "saved_width": round(100 * saved[i] / largest),
        }
        for i in range(HISTOGRAM_BINS)
    ]
    return rows[::-1]


@scorecard_editor_required
@require_POST
def scorecard_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The preview fragment of the posted, unsaved rules (form fields, or `yaml` text); with
    `mode=duplicate` they are previewed as a new scorecard beside the existing ones."""
    scorecard = scorecard_or_404(slug)
    problems: list[str] = []
    config: ScorecardConfig | None = None
    if "yaml" in request.POST:
        try:
            config = load_scorecard(str(request.POST["yaml"]))
        except ScorecardError as error:
            problems = error.problems
    else:
        draft = draft_from_form(request.POST)
        config = validate_draft(draft)
        if config is None:
            problems = [*draft.problems, "Some fields need fixing (they are marked when you save)."]
    context: dict[str, Any] = {"problems": problems, "preview": None}
    if config is not None:
        as_new = request.POST.get("mode") == "duplicate"
        try:
            preview = preview_scorecard(config, None if as_new else scorecard)
        except ValueError as error:
            context["problems"] = [str(error)]
        else:
            latest = queries.latest_version(scorecard)
            context |= {
                "preview": preview,
                "band_rows": band_rows(preview),
                "histogram": histogram_rows(preview),
                "saved_number": latest.number if latest else None,
                "as_new": as_new,
            }
    return render(request, "web/scorecards/_preview.html", context)


@scorecard_editor_required
@require_http_methods(["GET", "POST"])
def scorecard_yaml(request: HttpRequest, slug: str) -> HttpResponse:
    """Advanced mode: the rules as YAML text; saving validates it and makes a new version."""
    scorecard = scorecard_or_404(slug)
    latest = queries.latest_version(scorecard)
    problems: list[str] = []
    if request.method != "POST":
        text = queries.export_scorecard_yaml(latest) if latest else ""
        note = ""
    else:
        text = str(request.POST.get("yaml", ""))
        note = str(request.POST.get("note", ""))
        try:
            config = load_scorecard(text)
        except ScorecardError as error:
            problems = error.problems
        else:
            if latest is not None and queries.version_config(latest) == config:
                problems = [f"Nothing changed since version {latest.number}; nothing saved."]
            else:
                version = actions.save_scorecard_version(scorecard, config, _user(request), note)
                messages.success(request, f"Saved version {version.number} of {scorecard.name}.")
                url = reverse("web:scorecard-diff", args=[scorecard.slug])
                previous = latest.number if latest else version.number
                return redirect(f"{url}?from={previous}&to={version.number}")
    context = {
        "scorecard": scorecard,
        "text": text,
        "note": note,
        "problems": problems,
        "preview_url": reverse("web:scorecard-preview", args=[scorecard.slug]),
    }
    return render(request, "web/scorecards/yaml.html", context, status=400 if problems else 200)
