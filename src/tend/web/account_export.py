"""The accounts table as CSV: the same search, filters and sort as the page, every matching
account, streamed row by row so memory stays flat whatever the number of accounts."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from tend.health.account_queries import current_days
from tend.web.account_table import AccountFilters, csv_value, export_rows
from tend.web.permissions import signed_in

EXPORT_CHUNK = 2_000
HEADER = [
    "external_id",
    "name",
    "health_band",
    "health_score",
    "health_change_7d",
    "mrr",
    "mrr_currency",
    "renewal_date",
    "owner",
    "stage",
    "last_touch",
    "nps_latest",
    "segment",
]


class _Line:
    """A file-like object whose `write` hands back the line csv.writer wrote."""

    def write(self, value: str) -> str:
        return value


def export_lines(filters: AccountFilters) -> Iterator[str]:
    """The header, then one CSV line per matching account, in the table's order."""
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    rows = export_rows(filters, current_days(), timezone.now())
    for account in rows.iterator(chunk_size=EXPORT_CHUNK):
        owner = account.owner.display_name if account.owner else ""
        segment = (account.traits or {}).get("segment") if isinstance(account.traits, dict) else ""
        values = [
            account.external_id,
            account.name,
            account.health_band or "",  # type: ignore[attr-defined]
            account.health_score,  # type: ignore[attr-defined]
            account.health_change,  # type: ignore[attr-defined]
            account.mrr,  # type: ignore[attr-defined]
            "" if account.mrr_currency is None else account.mrr_currency,  # type: ignore[attr-defined]
            account.renewal_at,  # type: ignore[attr-defined]
            owner,
            account.get_lifecycle_stage_display(),
            account.last_touch_at,  # type: ignore[attr-defined]
            account.nps,  # type: ignore[attr-defined]
            segment,
        ]
        yield writer.writerow([csv_value(value) for value in values])


@signed_in
def account_export(request: HttpRequest) -> HttpResponse:
    """GET /accounts.csv?<the table's query string>: a download of the filtered, sorted table."""
    filters = AccountFilters.from_query(request.GET)
    stamp = timezone.now().strftime("%Y-%m-%d")
    response = StreamingHttpResponse(export_lines(filters), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="accounts-{stamp}.csv"'
    return response  # type: ignore[return-value]  # streamed: the decorators only pass it on
