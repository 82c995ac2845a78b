"""The demo company's fixed vocabulary: plans, features, industries, ticket topics and verbatims."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PlanSpec:
    """A tier sold monthly and yearly; the yearly price is ten months of the monthly one."""

    tier: int
    key: str
    name: str
    monthly_seat_price: Decimal

    def external_id(self, interval: str) -> str:
        return f"{self.key}_{'annual' if interval == 'year' else 'monthly'}"

    def unit_amount(self, interval: str) -> Decimal:
        return self.monthly_seat_price * (10 if interval == "year" else 1)


PLANS = (
    PlanSpec(1, "starter", "Starter", Decimal("15")),
    PlanSpec(2, "growth", "Growth", Decimal("30")),
    PlanSpec(3, "business", "Business", Decimal("50")),
    PlanSpec(4, "enterprise", "Enterprise", Decimal("75")),
)

SEGMENTS = {
    # name: (share of accounts, employee lognormal mean, seats range, usual tiers, annual share)
    "smb": (0.60, 3.4, (3, 12), (1, 2), 0.25),
    "mid_market": (0.30, 5.2, (12, 50), (2, 3), 0.55),
    "enterprise": (0.10, 7.2, (50, 180), (3, 4), 0.90),
}

INDUSTRIES = (
    "Software",
    "Financial services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Logistics",
    "Marketing agency",
    "Real estate",
    "Non-profit",
)

COUNTRIES = {
    # country: (weight, currency)
    "US": (0.38, "USD"),
    "CA": (0.05, "USD"),
    "GB": (0.12, "GBP"),
    "DE": (0.10, "EUR"),
    "FR": (0.07, "EUR"),
    "NL": (0.05, "EUR"),
    "ES": (0.04, "EUR"),
    "TR": (0.05, "USD"),
    "AE": (0.04, "USD"),
    "AU": (0.05, "USD"),
    "BR": (0.05, "USD"),
}

ACQUISITION_SOURCES = {
    "organic": 0.38,
    "paid": 0.22,
    "outbound": 0.17,
    "partner": 0.08,
    "event": 0.05,
}
REFERRAL_SHARE = 0.10

FEATURES = (
    # (event name, page path, core feature?)
    ("Dashboard Viewed", "/dashboards", True),
    ("Report Created", "/reports/new", True),
    ("Query Run", "/explore", True),
    ("Filter Applied", "/explore", True),
    ("Report Shared", "/reports", False),
    ("Report Scheduled", "/reports/schedule", False),
    ("Export Downloaded", "/exports", False),
    ("Data Source Connected", "/sources", False),
    ("Alert Created", "/alerts", False),
    ("Comment Added", "/reports", False),
    ("Template Used", "/templates", False),
    ("Integration Enabled", "/integrations", False),
    ("User Invited", "/settings/team", False),
    ("Automation Run", "/automations", False),
    ("Goal Set", "/goals", False),
    ("Forecast Viewed", "/forecasts", False),
    ("API Key Created", "/settings/api", False),
    ("Workspace Created", "/workspaces", False),
)
OUTCOME_EVENTS = ("Report Shared", "Automation Run")
LOGIN_EVENT = "Logged In"
ERROR_EVENT = "Error Shown"
ERROR_CODES = ("E_TIMEOUT", "E_QUERY_FAILED", "E_SYNC_FAILED", "E_EXPORT_FAILED", "E_500")

TICKET_TOPICS = {
    # topic: (weight when healthy, weight when struggling, subjects)
    "how_to": (0.35, 0.15, ("How do I schedule a report?", "Sharing a dashboard with a client")),
    "bug": (0.15, 0.30, ("Charts not loading", "Export to CSV fails", "Filters reset on reload")),
    "integration": (0.15, 0.15, ("Salesforce sync stopped", "Webhook not firing")),
    "performance": (0.05, 0.15, ("Dashboards are very slow", "Queries time out")),
    "billing": (0.10, 0.10, ("Update our billing address", "Charged twice this month")),
    "feature_request": (0.15, 0.08, ("Can we get SSO?", "Please add a Gantt view")),
    "access": (0.05, 0.07, ("Locked out after password reset", "Add a new admin")),
}

TITLES_CHAMPION = ("Head of Operations", "Analytics Lead", "RevOps Manager", "Director of BI")
TITLES_DECISION = ("VP Operations", "CFO", "COO", "VP Finance", "CEO")
TITLES_USER = (
    "Analyst",
    "Account Manager",
    "Sales Rep",
    "Data Engineer",
    "Marketing Manager",
    "Project Manager",
    "Consultant",
    "Finance Associate",
    "Support Lead",
)

CSMS = (
    # username, first, last, segment focus
    ("maria", "Maria", "Keller", "enterprise"),
    ("deniz", "Deniz", "Aksoy", "mid_market"),
    ("sara", "Sara", "Rahimi", "mid_market"),
    ("tom", "Tom", "Becker", "enterprise"),
    ("lina", "Lina", "Haddad", "smb"),
)
MANAGER = ("jordan", "Jordan", "Reyes")

VERBATIMS = {
    "promoter": (
        "Our team lives in the dashboards now.",
        "Scheduled reports save us hours every week.",
        "Support is fast and actually helpful.",
        "Onboarding was painless, we were live in a day.",
        "Best reporting tool we have used.",
        "The automations paid for the licence in a month.",
    ),
    "passive": (
        "Good product, a bit pricey for what we use.",
        "Works well, exports could be faster.",
        "Fine overall, missing a few integrations.",
        "Solid, but the learning curve for new hires is steep.",
        "",
    ),
    "detractor": (
        "Dashboards are too slow to be usable.",
        "Too many bugs since the last release.",
        "Our Salesforce sync breaks every week.",
        "Hard to learn, most of the team gave up.",
        "Too expensive for the value we get.",
        "Support took days to answer a critical issue.",
        "We still have no SSO, security will not sign off.",
    ),
}
CSAT_COMMENTS = {
    "good": ("Quick and clear answer, thanks!", "Solved on the first reply.", ""),
    "bad": ("Took far too long.", "The fix did not work.", "Had to explain the issue three times."),
}
CES_COMMENTS = {
    "easy": ("Setup was straightforward.", ""),
    "hard": ("Connecting our data took weeks.", "Needed many calls to get going."),
}

TOUCHPOINT_SUBJECTS = {
    "kickoff": ("meeting", "Kickoff and onboarding plan"),
    "training": ("webinar", "Admin training webinar"),
    "check_in": ("email", "Checking in: how is it going?"),
    "qbr": ("meeting", "Quarterly business review"),
    "renewal": ("call", "Renewal conversation"),
    "rescue": ("call", "Usage review: getting you back on track"),
    "inbound": ("email", "Question about our plan"),
    "chat": ("chat", "Live chat"),
}
