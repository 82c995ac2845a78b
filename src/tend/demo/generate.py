"""Generates the demo company: who signs up when, from where, with which plan, and their lives."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from faker import Faker

from tend.demo import catalog
from tend.demo.people import People
from tend.demo.records import DemoCompany, Row
from tend.demo.simulation import AccountSimulation, AccountState
from tend.demo.timeline import add_months, month_start

DEMO_PASSWORD = "tend-demo"
ADMIN_USERNAME = "admin"
TLD_BY_COUNTRY = {"GB": "co.uk", "DE": "de", "FR": "fr", "NL": "nl", "ES": "es", "TR": "com.tr"}
FAKER_LOCALE = {"GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "ES": "es_ES"}


@dataclass(frozen=True)
class DemoConfig:
    """How big the demo company is and which random world it lives in."""

    accounts: int = 500
    months: int = 24
    seed: int = 7
    end: datetime | None = None
    intensity: float = 0.5
    """How chatty the product's tracking is: scales the events per session."""

    def end_moment(self) -> datetime:
        if self.end is not None:
            return self.end
        now = datetime.now(UTC)
        return datetime(now.year, now.month, now.day, tzinfo=UTC)


Progress = Callable[[int], None]


def generate_company(config: DemoConfig, advance: Progress | None = None) -> DemoCompany:
    """Simulate every account; `advance(n)` is called as accounts are done (for progress bars)."""
    end = config.end_moment()
    start = add_months(month_start(end), -(config.months - 1))
    company = DemoCompany(seed=config.seed, start=start, end=end, intensity=config.intensity)
    rng = np.random.default_rng(config.seed)
    _team(company)
    _exchange_rates(company)
    _plans_and_surveys(company)
    people = People(company, rng, config.seed)
    builder = _AccountBuilder(company, rng, people, config.seed)
    for index, signed_up_at in enumerate(_sign_up_times(rng, start, end, config.accounts)):
        builder.build(index, signed_up_at)
        if advance is not None:
            advance(1)
    _finish_contacts(company, people, rng)
    _notes(company)
    return company


NOTE_BY_STAGE = {
    "at_risk": "Usage keeps falling and the last survey answers were negative. Book a usage "
    "review with the champion and check the open tickets.",
    "churned": "Cancelled. Exit reason in the last call: {reason}. Keep in touch with the "
    "champion; they may bring us to their next company.",
    "expansion": "Asked about more seats for a new team; send the volume pricing.",
}
EXIT_REASONS = (
    "too expensive for current usage",
    "moved to a competitor",
    "team downsized",
    "never finished the data integration",
    "performance problems",
)


def _notes(company: DemoCompany) -> None:
    """A CSM note on accounts at risk, churned or expanding, as a team would keep."""
    for index, account in enumerate(company.accounts):
        template = NOTE_BY_STAGE.get(account["lifecycle_stage"])
        if template is None or account["owner"] is None:
            continue
        reason = EXIT_REASONS[index % len(EXIT_REASONS)]
        company.notes.append(
            {
                "account": account["external_id"],
                "author": account["owner"],
                "body": template.format(reason=reason),
            }
        )


def _sign_up_times(
    rng: np.random.Generator, start: datetime, end: datetime, count: int
) -> list[datetime]:
    """Sign-ups grow about 6 % a month, like a young SaaS company's."""
    span_days = (end - start).days - 1
    growth = 0.06 / 30
    uniform = rng.random(count)
    days = np.log1p(uniform * math.expm1(growth * span_days)) / growth
    moments = [start + timedelta(days=float(d)) for d in np.sort(days)]
    return [m.replace(day=min(m.day, 28)) for m in moments]


def _team(company: DemoCompany) -> None:
    company.users.append(
        {"username": ADMIN_USERNAME, "first_name": "Ada", "last_name": "Admin", "role": "admin"}
    )
    username, first, last = catalog.MANAGER
    company.users.append(
        {"username": username, "first_name": first, "last_name": last, "role": "manager"}
    )
    for username, first, last, _ in catalog.CSMS:
        company.users.append(
            {"username": username, "first_name": first, "last_name": last, "role": "csm"}
        )


# Rates to USD at the start of the demo and their monthly drift: deterministic, plausible.
USD_RATES = {
    "EUR": (Decimal("1.0800"), Decimal("0.0040")),
    "GBP": (Decimal("1.2600"), Decimal("-0.0030")),
}


def _exchange_rates(company: DemoCompany) -> None:
    """One rate per month and currency pair to USD, swinging gently around its start value."""
    month, index = company.start, 0
    while month <= company.end:
        for currency, (start_rate, drift) in USD_RATES.items():
            swing = drift * Decimal(((index + 3) % 7) - 3)
            company.exchange_rates.append(
                {
                    "currency": currency,
                    "to_currency": "USD",
                    "valid_from": month.date(),
                    "rate": (start_rate + swing).quantize(Decimal("0.0001")),
                }
            )
        month, index = add_months(month, 1), index + 1


def _plans_and_surveys(company: DemoCompany) -> None:
    for spec in catalog.PLANS:
        for interval in ("month", "year"):
            company.plans.append(
                {
                    "external_id": spec.external_id(interval),
                    "name": f"{spec.name} ({'annual' if interval == 'year' else 'monthly'})",
                    "product": "Tend Analytics",
                    "tier": spec.tier,
                    "interval": interval,
                    "unit_amount": spec.unit_amount(interval),
                }
            )
    company.surveys.extend(
        [
            {
                "external_id": "nps",
                "name": "Relationship NPS",
                "kind": "nps",
                "scale_min": 0,
                "scale_max": 10,
                "question": "How likely are you to recommend us to a friend or colleague?",
            },
            {
                "external_id": "csat",
                "name": "Support CSAT",
                "kind": "csat",
                "scale_min": 1,
                "scale_max": 5,
                "question": "How satisfied were you with the help you got?",
            },
            {
                "external_id": "ces",
                "name": "Onboarding effort",
                "kind": "ces",
                "scale_min": 1,
                "scale_max": 7,
                "question": "How easy was it to get set up?",
            },
        ]
    )


class _AccountBuilder:
    """Draws each account's profile and origin, then runs its simulation."""

    def __init__(
        self, company: DemoCompany, rng: np.random.Generator, people: People, seed: int
    ) -> None:
        self.company = company
        self.rng = rng
        self.people = people
        self.seed = seed
        self.fake = Faker(["en_US", *FAKER_LOCALE.values()])
        self.fake.seed_instance(seed)
        self.names: set[str] = set()
        self.promoters: list[tuple[datetime, str, str | None]] = []
        self.paid: dict[str, list[tuple[datetime, datetime | None]]] = {}
        self.enterprise_accounts: list[str] = []
        self.csm_cursor: dict[str, int] = {}

    def build(self, index: int, signed_up_at: datetime) -> None:
        rng = np.random.default_rng([self.seed, index])
        segment = self._choice(rng, catalog.SEGMENTS, [v[0] for v in catalog.SEGMENTS.values()])
        _, employees_mu, (low, high), tiers, annual_share = catalog.SEGMENTS[segment]
        country = self._choice(rng, catalog.COUNTRIES, [v[0] for v in catalog.COUNTRIES.values()])
        external_id = f"acc_{index + 1:05d}"
        name = self._company_name(country)
        domain = self._domain(name, country)
        source, referrer, moved_champion, fit_bonus = self._origin(signed_up_at)
        state = AccountState(
            index=index,
            external_id=external_id,
            segment=segment,
            currency=catalog.COUNTRIES[country][1],
            fit=float(rng.normal(0.1, 1.0)) + fit_bonus,
            h=0.0,
            drift=float(rng.normal(-0.015, 0.07)),
            finance_risk=float(rng.uniform(0.3, 1.8)),
            performance_factor=1.9 if rng.random() < 0.1 else 1.0,
            seats=int(rng.integers(low, high + 1)),
            tier=int(tiers[int(rng.integers(len(tiers)))]),
            interval="year" if rng.random() < annual_share else "month",
            discount=Decimal(int(rng.choice([10, 15, 20])))
            if segment != "smb" and rng.random() < 0.2
            else Decimal(0),
            owner=self._owner(segment),
        )
        state.h = state.fit
        self.people.add_account(index, external_id, domain, signed_up_at, moved_champion)
        simulation = AccountSimulation(self.company, state, rng, self.people, signed_up_at)
        responses_before = len(self.company.survey_responses)
        simulation.run()
        self.company.usage_plans.append(simulation.plan)
        self.company.accounts.append(
            {
                "external_id": external_id,
                "name": name,
                "domain": domain,
                "parent": self._parent(rng, segment),
                "owner": state.owner,
                "industry": catalog.INDUSTRIES[int(rng.integers(len(catalog.INDUSTRIES)))],
                "country": country,
                "employee_count": max(state.seats + 2, int(rng.lognormal(employees_mu, 0.6))),
                "seats": state.seats,
                "lifecycle_stage": state.stage,
                "acquisition_source": source,
                "referred_by": referrer[0] if referrer else None,
                "referred_by_contact": referrer[1] if referrer else None,
                "traits": {"segment": segment, "billing": state.interval},
                "signed_up_at": signed_up_at,
                "first_paid_at": simulation.first_paid_at,
                "churned_at": simulation.churned_at,
            }
        )
        if segment == "enterprise":
            self.enterprise_accounts.append(external_id)
        self.paid[external_id] = simulation.paid_intervals
        for response in self.company.survey_responses[responses_before:]:
            if response["survey"] == "nps" and response["score"] >= 9:
                self.promoters.append((response["answered_at"], external_id, response["contact"]))

    def _origin(self, at: datetime) -> tuple[str, tuple[str, str | None] | None, Row | None, float]:
        """Where the account came from: a referral from a promoter, a returning champion, or a
        marketing/sales channel. Referred accounts and champions' new companies fit better."""
        roll = self.rng.random()
        if roll < catalog.REFERRAL_SHARE:
            referrer = self._referrer(at)
            if referrer is not None:
                return "referral", referrer, None, 0.4
        elif roll < catalog.REFERRAL_SHARE + 0.06:
            champion = self.people.take_moved_champion(at)
            if champion is not None:
                return "champion", (champion["account"], champion["external_id"]), champion, 0.5
        sources = list(catalog.ACQUISITION_SOURCES)
        weights = np.array(list(catalog.ACQUISITION_SOURCES.values()))
        return sources[int(self.rng.choice(len(sources), p=weights / weights.sum()))], None, None, 0

    def _referrer(self, at: datetime) -> tuple[str, str | None] | None:
        candidates = [
            (account, contact)
            for answered, account, contact in self.promoters
            if at - timedelta(days=365) <= answered < at and self._paying(account, at)
        ]
        if not candidates:
            return None
        return candidates[int(self.rng.integers(len(candidates)))]

    def _paying(self, account: str, at: datetime) -> bool:
        return any(s <= at and (e is None or at < e) for s, e in self.paid.get(account, []))

    def _owner(self, segment: str) -> str | None:
        owners = [u for u, _, _, focus in catalog.CSMS if focus == segment]
        cursor = self.csm_cursor.get(segment, 0)
        self.csm_cursor[segment] = cursor + 1
        return owners[cursor % len(owners)]

    def _parent(self, rng: np.random.Generator, segment: str) -> str | None:
        if segment != "enterprise" and self.enterprise_accounts and rng.random() < 0.03:
            return self.enterprise_accounts[int(rng.integers(len(self.enterprise_accounts)))]
        return None

    def _company_name(self, country: str) -> str:
        faker = self.fake[FAKER_LOCALE.get(country, "en_US")]
        name = faker.company()
        while name in self.names:
            name = (
                f"{faker.company()} {faker.city_suffix() if hasattr(faker, 'city_suffix') else ''}"
            )
            name = name.strip()
        self.names.add(name)
        return name

    def _domain(self, name: str, country: str) -> str:
        plain = unicodedata.normalize("NFKD", name.lower().replace("\u0131", "i"))
        slug = re.sub(r"[^a-z0-9]+", "-", plain.encode("ascii", "ignore").decode())
        return f"{slug.strip('-')[:40] or 'company'}.{TLD_BY_COUNTRY.get(country, 'com')}"

    @staticmethod
    def _choice(
        rng: np.random.Generator, options: Mapping[str, object], weights: list[float]
    ) -> str:
        probabilities = np.array(weights) / sum(weights)
        return list(options)[int(rng.choice(len(probabilities), p=probabilities))]


def _finish_contacts(company: DemoCompany, people: People, rng: np.random.Generator) -> None:
    """Lifecycle groups (visitor/lead/user/customer), and some newsletter leads with no account."""
    stage_of = {account["external_id"]: account for account in company.accounts}
    for contact in company.contacts:
        account = stage_of.get(contact["account"] or "")
        used_product = contact["last_seen_at"] is not None
        if account and account["first_paid_at"] and not account["churned_at"] and used_product:
            contact["lifecycle_group"] = "customer"
        elif used_product:
            contact["lifecycle_group"] = "user"
        else:
            contact["lifecycle_group"] = "lead"
        if contact.pop("left", False):
            contact["account"] = None
    for _ in range(max(3, len(company.accounts) // 25)):
        people.contact_count += 1
        first = people.first_names[int(rng.integers(len(people.first_names)))]
        moment = company.start + timedelta(
            days=float(rng.uniform(0, (company.end - company.start).days))
        )
        company.contacts.append(
            {
                "external_id": f"u_{people.contact_count:07d}",
                "email": f"{first.lower()}.{people.contact_count}@mail.example",
                "name": first,
                "title": "",
                "account": None,
                "is_champion": False,
                "is_decision_maker": False,
                "traits": {"source": "newsletter"},
                "first_seen_at": moment,
                "last_seen_at": None,
                "lifecycle_group": "lead",
            }
        )
