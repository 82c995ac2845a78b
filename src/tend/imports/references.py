"""Turn the external ids an import row refers to into primary keys, one query per chunk."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from tend.billing.models import Subscription
from tend.core.models import User
from tend.customers.models import Account, Contact
from tend.imports.entities import EntitySpec
from tend.surveys import actions as survey_actions
from tend.surveys.models import Survey, SurveyKind

if TYPE_CHECKING:
    from tend.imports.runner import _Checked


class ReferenceResolver:
    """Resolves `refers_to` fields of checked rows in place, adding errors for unknown ids.

    `ids_in_file` holds external ids the file itself defines: references to them (an account's
    parent further down) are resolved after the rows are written, inside the same transaction.
    """

    def __init__(self, spec: EntitySpec, ids_in_file: set[str]) -> None:
        self.spec = spec
        self.ids_in_file = ids_in_file
        self.surveys: dict[str, Survey] = {}

    def resolve(self, checked: list[_Checked]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for item in checked:
            for name, field_spec in self.spec.fields.items():
                if field_spec.refers_to and item.values.get(name) is not None:
                    wanted[field_spec.refers_to].add(str(item.values[name]))
        found = {kind: self._lookup(kind, ids) for kind, ids in wanted.items()}
        for item in checked:
            self._apply(item, found)

    def _apply(self, item: _Checked, found: dict[str, dict[str, Any]]) -> None:
        from tend.imports.runner import RowError

        for name, field_spec in self.spec.fields.items():
            kind = field_spec.refers_to
            if kind is None or item.values.get(name) is None:
                continue
            value = str(item.values.pop(name))
            target = found[kind].get(value)
            if target is None and kind == "account" and value in self.ids_in_file:
                item.values[f"{name}_id"] = _Deferred(value)
                continue
            if target is None:
                item.errors.append(RowError(item.source.number, name, _unknown(kind, value)))
                continue
            item.values[f"{name}_id"] = target.pk
            if kind == "survey":
                self._check_scale(item, target)
        self._settle_deferred(item)

    def _settle_deferred(self, item: _Checked) -> None:
        """A reference to an account defined in the same file: written before its referrer
        when earlier in the file, else looked up again now (rows are written chunk by chunk)."""
        deferred = {k: v for k, v in item.values.items() if isinstance(v, _Deferred)}
        if not deferred:
            return
        pks = dict(
            Account.objects.filter(
                external_id__in=[d.external_id for d in deferred.values()]
            ).values_list("external_id", "pk")
        )
        for key, reference in deferred.items():
            pk = pks.get(reference.external_id)
            if pk is None:
                item.values.pop(key)
                item.pending_links.append((key, reference.external_id))
            else:
                item.values[key] = pk

    def _check_scale(self, item: _Checked, survey: Survey) -> None:
        from tend.imports.runner import RowError

        score = item.values.get("score")
        if score is not None and not survey.scale_min <= score <= survey.scale_max:
            item.errors.append(
                RowError(
                    item.source.number,
                    "score",
                    f"{score} is outside the {survey.name} scale "
                    f"{survey.scale_min}-{survey.scale_max}",
                )
            )

    def _lookup(self, kind: str, ids: set[str]) -> dict[str, Any]:
        if kind in {"account", "contact", "subscription"}:
            models: dict[str, type[Account | Contact | Subscription]] = {
                "account": Account,
                "contact": Contact,
                "subscription": Subscription,
            }
            manager: Any = models[kind]._default_manager
            pairs = manager.filter(external_id__in=ids).values_list("external_id", "pk")
            return {external_id: _Found(pk) for external_id, pk in pairs}
        if kind == "team":
            users = User.objects.filter(Q(username__in=ids) | Q(email__in=ids))
            return {key: user for user in users for key in (user.username, user.email) if key}
        return {value: survey for value in ids if (survey := self._survey(value)) is not None}

    def _survey(self, value: str) -> Survey | None:
        if value not in self.surveys:
            survey = Survey.objects.filter(external_id=value).first()
            if survey is None and value in SurveyKind.values:
                survey = survey_actions.ensure_standard_survey(value)
            if survey is not None:
                self.surveys[value] = survey
        return self.surveys.get(value)


class _Found:
    """A referenced row known only by its primary key (cheaper than loading the model)."""

    def __init__(self, pk: int) -> None:
        self.pk = pk


class _Deferred:
    def __init__(self, external_id: str) -> None:
        self.external_id = external_id


def _unknown(kind: str, value: str) -> str:
    if kind == "team":
        return f"no team member with username or email {value!r}"
    if kind == "survey":
        return f"no survey {value!r} (use a survey id or nps, csat, ces)"
    return f"no {kind} with external id {value!r}"
