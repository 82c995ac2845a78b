"""Health across the portfolio, for the home page: how many accounts sit in each band on the
latest scored day, and which accounts are at risk. Reads only the latest version of each active
scorecard (the scores shown today): two queries find it (`current_health`), one per panel
reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, OuterRef, Q, Subquery

from tend.health.models import HealthSnapshot, ScorecardVersion
from tend.health.scorecard_yaml import validate_scorecard


@dataclass(frozen=True)
class BandLevel:
    """A band as a scorecard defines it: its name, colour and rank (0 = worst)."""

    name: str
    colour: str
    rank: int


@dataclass(frozen=True)
class BandCount:
    level: BandLevel
    count: int


def current_versions() -> list[ScorecardVersion]:
    """The latest version of every active scorecard, in one query."""
    newest = (
        ScorecardVersion.objects.filter(scorecard=OuterRef("scorecard"))
        .order_by("-number")
        .values("number")[:1]
    )
    return list(
        ScorecardVersion.objects.filter(scorecard__active=True, number=Subquery(newest))
        .select_related("scorecard")
        .order_by("scorecard__name")
    )


def band_levels(versions: list[ScorecardVersion]) -> dict[str, BandLevel]:
    """Band name → level over `versions`; the default scorecard's wins a name clash."""
    levels: dict[str, BandLevel] = {}
    for version in sorted(versions, key=lambda v: not v.scorecard.is_default):
        config = validate_scorecard(version.config)
        for rank, band in enumerate(config.bands.levels):
            levels.setdefault(band.name, BandLevel(band.name, band.colour, rank))
    return levels


@dataclass(frozen=True)
class CurrentHealth:
    """What "today's health" means: the latest scored day under the current versions."""

    day: date | None
    versions: list[ScorecardVersion]
    levels: dict[str, BandLevel]

    def snapshots(self, accounts: Q | None = None) -> Q:
        rows = Q(version__in=self.versions, day=self.day)
        return rows & accounts if accounts is not None else rows

    def level(self, band: str) -> BandLevel:
        return self.levels.get(band, BandLevel(band, "grey", len(self.levels)))


def current_health() -> CurrentHealth:
    """The current versions and their latest scored day: two queries."""
    versions = current_versions()
    day = HealthSnapshot.objects.filter(version__in=versions).aggregate(day=Max("day"))["day"]
    return CurrentHealth(day if isinstance(day, date) else None, versions, band_levels(versions))


def _by_rank(counts: list[BandCount]) -> list[BandCount]:
    return sorted(counts, key=lambda item: (item.level.rank, item.level.name))


def band_distribution(current: CurrentHealth, accounts: Q | None = None) -> list[BandCount]:
    """Accounts per band on the latest scored day, worst band first (unscored accounts are not
    counted). `accounts` narrows with a filter on `account__…` fields."""
    if current.day is None:
        return []
    counts = (
        HealthSnapshot.objects.filter(current.snapshots(accounts))
        .exclude(band="")
        .values("band")
        .annotate(n=Count("pk"))
    )
    return _by_rank([BandCount(current.level(row["band"]), row["n"]) for row in counts])


def at_risk(
    current: CurrentHealth, accounts: Q | None = None, limit: int = 8
) -> list[tuple[HealthSnapshot, BandLevel]]:
    """The lowest-scored accounts outside their scorecard's top band on the latest scored day,
    with their account, owner and band level."""
    if current.day is None or not current.levels:
        return []
    top = max(level.rank for level in current.levels.values())
    below_top = [name for name, level in current.levels.items() if level.rank < top]
    snapshots = (
        HealthSnapshot.objects.filter(current.snapshots(accounts), band__in=below_top)
        .select_related("account__owner")
        .order_by("score", "account__name")[:limit]
    )
    return [(snapshot, current.level(snapshot.band)) for snapshot in snapshots]


def band_mix_by_owner(current: CurrentHealth) -> dict[int | None, list[BandCount]]:
    """Each CSM's accounts per band on the latest scored day (None: accounts no one owns),
    worst band first; one query. Grouped by band first, so that SQLite reads the day's
    snapshots from their covering index and looks up each one's account, rather than probing
    the snapshot index once per account."""
    if current.day is None:
        return {}
    counts = (
        HealthSnapshot.objects.filter(current.snapshots())
        .exclude(band="")
        .order_by()
        .values("band", "account__owner_id")
        .annotate(n=Count("pk"))
    )
    mix: dict[int | None, list[BandCount]] = {}
    for row in counts:
        mix.setdefault(row["account__owner_id"], []).append(
            BandCount(current.level(row["band"]), row["n"])
        )
    return {owner: _by_rank(bands) for owner, bands in mix.items()}
