"""Forms of the account pages: the score override and a saved view of the accounts table.
They validate input; writes go through the actions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from tend.health.scorecard import SCALE_MAX, SCALE_MIN

DEFAULT_OVERRIDE_DAYS = 30
OVERRIDE_KINDS = (("score", "A score"), ("band", "A band"))


class OverrideForm(forms.Form):
    """A CSM's judgement: a score (0-100) or a band, why, and until which day (inclusive)."""

    kind = forms.ChoiceField(
        label="Override with", choices=OVERRIDE_KINDS, initial="score", widget=forms.RadioSelect
    )
    score = forms.FloatField(
        label="Score (0 to 100)", required=False, min_value=SCALE_MIN, max_value=SCALE_MAX
    )
    band = forms.ChoiceField(label="Band", required=False)
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))
    expires_on = forms.DateField(
        label="Until (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, bands: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        band = self.fields["band"]
        assert isinstance(band, forms.ChoiceField)
        band.choices = [("", "—"), *[(name, name) for name in bands]]
        self.fields["expires_on"].initial = timezone.localdate() + timedelta(
            days=DEFAULT_OVERRIDE_DAYS
        )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the score should differ.")
        return reason

    def clean_expires_on(self) -> date:
        day: date = self.cleaned_data["expires_on"]
        if day < datetime.now(UTC).date():
            raise forms.ValidationError("The last day must be today or later.")
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == "score" and cleaned.get("score") is None:
            self.add_error("score", "Give the score to show.")
        if kind == "band" and not cleaned.get("band"):
            self.add_error("band", "Choose the band to show.")
        return cleaned

    @property
    def expires_at(self) -> datetime:
        """The end of the last day (UTC): the override applies through that day."""
        return datetime.combine(self.cleaned_data["expires_on"], time(23, 59, 59), tzinfo=UTC)


class SavedViewForm(forms.Form):
    """A name for the accounts table's current filters and sort (its query string)."""

    name = forms.CharField(label="View name", max_length=80)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
