"""The life of one demo account, month by month: trial, conversion, usage, tickets, surveys,
invoices, expansion, contraction, churn and win-back.

A latent health `h` drifts over time; usage, tickets, answers and payments follow it, and the
churn hazard is driven by what a CSM could observe (falling usage, detractor answers, unresolved
high-priority tickets, late payments), with noise. So scores and models have real signal to find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from tend.demo import catalog
from tend.demo.people import People
from tend.demo.records import AccountPlan, DemoCompany, Row, UsageStep
from tend.demo.timeline import add_months
from tend.demo.voice import SupportAndVoice

TRIAL_DAYS = {"smb": 14, "mid_market": 14, "enterprise": 30}
CHURN_BASE = {"smb": -3.7, "mid_market": -4.3, "enterprise": -4.9}
REACTIVATION_MONTHLY = 0.012


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class Observed:
    """What a CSM could see about an account, feeding its churn hazard."""

    active_users: list[int] = field(default_factory=list)
    detractor_steps: list[int] = field(default_factory=list)
    late_payment_steps: list[int] = field(default_factory=list)

    def usage_trend(self) -> float:
        """Relative change of active users against the mean of the three periods before."""
        if len(self.active_users) < 2:
            return 0.0
        before = self.active_users[-4:-1]
        mean_before = sum(before) / len(before)
        return (self.active_users[-1] - mean_before) / max(1.0, mean_before)


@dataclass
class AccountState:
    index: int
    external_id: str
    segment: str
    currency: str
    fit: float
    h: float
    drift: float
    finance_risk: float
    performance_factor: float
    seats: int
    tier: int
    interval: str
    discount: Decimal
    owner: str | None
    stage: str = "trial"


class AccountSimulation:
    """Simulates one account from sign-up to the end of the window, writing rows to `company`."""

    def __init__(
        self,
        company: DemoCompany,
        state: AccountState,
        rng: np.random.Generator,
        people: People,
        signed_up_at: datetime,
    ) -> None:
        self.company = company
        self.state = state
        self.rng = rng
        self.people = people
        self.voice = SupportAndVoice(company, rng, state.external_id, state.owner)
        self.signed_up_at = signed_up_at
        self.observed = Observed()
        self.plan = AccountPlan(
            index=state.index,
            external_id=state.external_id,
            feature_order=tuple(int(i) for i in self._feature_order()),
        )
        self.subscription_count = 0
        self.item_count = 0
        self.invoice_count = 0
        self.paid_intervals: list[tuple[datetime, datetime | None]] = []
        self.first_paid_at: datetime | None = None
        self.churned_at: datetime | None = None
        self.current_item: Row | None = None
        self.stage_recorded = False

    # -- the whole life -------------------------------------------------------------------------

    def run(self) -> None:
        end = self.company.end
        trial_end = self.signed_up_at + timedelta(days=TRIAL_DAYS[self.state.segment])
        self._set_stage("trial", self.signed_up_at, "Signed up for a trial")
        subscription = self._open_subscription(self.signed_up_at, trial_end)
        self._trial(self.signed_up_at, min(trial_end, end))
        if trial_end >= end:
            return
        converts = self.rng.random() < sigmoid(0.3 + 1.3 * self.state.fit)
        if not converts:
            subscription["status"] = "canceled"
            subscription["canceled_at"] = trial_end - timedelta(days=1)
            subscription["ended_at"] = trial_end
            self._end_item(trial_end)
            self._set_stage("trial_lost", trial_end, "Trial ended without converting")
            return
        subscription["status"] = "active"
        self.first_paid_at = trial_end
        self._paid_life(subscription, trial_end)

    def _paid_life(self, subscription: Row, paid_start: datetime) -> None:
        end = self.company.end
        step = 1
        self.paid_intervals.append((paid_start, None))
        self._set_stage("onboarding", paid_start, "Converted to paid")
        self.voice.onboarding(paid_start, self._decision_makers())
        while True:
            start = add_months(paid_start, step - 1)
            if start >= end:
                return
            stop = add_months(paid_start, step)
            self._evolve_health(step)
            self._bill(subscription, start, step)
            users = self._usage(start, min(stop, end))
            self._voice_of_customer(start, min(stop, end), step, users)
            if stop > end:
                self._finish_open_period(subscription)
                return
            if self._decides_to_churn(step):
                self._churn(subscription, stop)
                self._maybe_win_back(stop)
                return
            self._change_plan(stop, step, users)
            self._update_stage(stop, step)
            step += 1

    # -- trial ----------------------------------------------------------------------------------

    def _trial(self, start: datetime, stop: datetime) -> None:
        users = self.people.ensure_users(self.state.index, min(self.state.seats, 4), start)
        share = sigmoid(0.5 + self.state.fit)
        active = tuple(u for u in users if self.rng.random() < share) or users[:1]
        self.plan.steps.append(self._usage_step(start, stop, active, trial=True))
        self.people.mark_seen(self.state.index, active, stop)

    # -- each paid period -----------------------------------------------------------------------

    def _evolve_health(self, step: int) -> None:
        state = self.state
        shock = 0.0
        roll = self.rng.random()
        if roll < 0.03:
            shock = -1.3
            self.people.champion_leaves(state.index, self._now_for(step))
        elif roll < 0.05:
            shock = 0.8
        state.h += state.drift + float(self.rng.normal(0, 0.28)) + shock
        state.h += 0.06 * (state.fit - state.h)

    def _now_for(self, step: int) -> datetime:
        assert self.first_paid_at is not None
        return add_months(self.first_paid_at, step - 1)

    def _usage(self, start: datetime, stop: datetime) -> tuple[str, ...]:
        state = self.state
        users = self.people.ensure_users(state.index, state.seats, start)
        share = sigmoid(0.4 + 1.1 * state.h)
        count = int(self.rng.binomial(len(users), share))
        if count == 0 and state.h > -2.5:
            count = 1
        order = self.rng.permutation(len(users))[:count]
        active = tuple(users[int(i)] for i in sorted(order))
        self.observed.active_users.append(len(active))
        self.plan.steps.append(self._usage_step(start, stop, active))
        self.people.mark_seen(state.index, active, stop)
        return active

    def _usage_step(
        self, start: datetime, stop: datetime, active: tuple[str, ...], trial: bool = False
    ) -> UsageStep:
        h = self.state.h if not trial else self.state.fit
        return UsageStep(
            start=start,
            end=stop,
            active_users=active,
            days_per_user=float(np.clip(2.0 + 10.0 * sigmoid(1.2 * h), 1.0, 20.0)),
            events_per_session=2.0 + 4.0 * sigmoid(h),
            features_used=int(np.clip(round(4 + 12 * sigmoid(h + 0.3)), 3, len(catalog.FEATURES))),
            error_rate=0.01 + 0.06 * sigmoid(-1.5 * h) * self.state.performance_factor,
            load_time_median_ms=550.0 * self.state.performance_factor * (1.3 - 0.3 * sigmoid(h)),
        )

    def _voice_of_customer(
        self, start: datetime, stop: datetime, step: int, users: tuple[str, ...]
    ) -> None:
        h = self.state.h
        respondents = users + self._decision_makers()
        open_high = self.voice.tickets(start, stop, h, self.state.segment, respondents)
        self.voice.record_open_high(step, open_high)
        if step % 6 == 2:
            detractor = self.voice.nps_round(start, stop, h, respondents)
            if detractor:
                self.observed.detractor_steps.append(step)
        self.voice.touchpoints(
            start, stop, step, h, self.state.segment, self.state.interval, self.state.stage
        )

    def _bill(self, subscription: Row, start: datetime, step: int) -> None:
        months = 12 if self.state.interval == "year" else 1
        if (step - 1) % months != 0:
            return
        self._invoice(subscription, start, add_months(start, months), self._period_amount(), step)

    def _invoice(
        self, subscription: Row, start: datetime, stop: datetime, amount: Decimal, step: int
    ) -> None:
        state = self.state
        self.invoice_count += 1
        net_days = 14 if state.segment == "smb" else 30
        due = start + timedelta(days=net_days)
        late_p = 0.05 + 0.45 * sigmoid(-1.5 * state.h) * state.finance_risk
        if self.rng.random() < late_p:
            paid = due + timedelta(days=float(self.rng.lognormal(math.log(12), 0.8)))
            if paid > due + timedelta(days=7):
                self.observed.late_payment_steps.append(step)
        else:
            paid = start + timedelta(days=float(self.rng.uniform(0, net_days)))
        is_paid = paid <= self.company.end
        self.company.invoices.append(
            {
                "external_id": f"in_{state.external_id}_{self.invoice_count:03d}",
                "number": f"INV-{state.index + 1:05d}-{self.invoice_count:03d}",
                "account": state.external_id,
                "subscription": subscription["external_id"],
                "status": "paid" if is_paid else "open",
                "currency": state.currency,
                "amount_due": amount,
                "amount_paid": amount if is_paid else Decimal("0.00"),
                "period_start": start,
                "period_end": stop,
                "issued_at": start,
                "due_at": due,
                "paid_at": paid if is_paid else None,
            }
        )

    def _decides_to_churn(self, step: int) -> bool:
        state = self.state
        observed = self.observed
        detractor = any(step - s < 6 for s in observed.detractor_steps)
        late = sum(1 for s in observed.late_payment_steps if step - s < 6)
        open_high = self.voice.open_high_recent(step)
        logit = (
            CHURN_BASE[state.segment]
            - 2.2 * float(np.clip(observed.usage_trend(), -1.0, 1.0))
            + 1.1 * detractor
            + 0.7 * min(open_high, 2)
            + 0.6 * min(late, 3)
            - 0.5 * state.h
            + float(self.rng.normal(0, 0.4))
        )
        monthly = sigmoid(logit)
        if state.interval == "year":
            if step % 12 != 0:
                return False
            return bool(self.rng.random() < 1 - (1 - monthly) ** 12)
        return bool(self.rng.random() < monthly)

    def _churn(self, subscription: Row, at: datetime) -> None:
        subscription["status"] = "canceled"
        subscription["canceled_at"] = at - timedelta(days=float(self.rng.uniform(1, 20)))
        subscription["ended_at"] = at
        subscription["current_period_end"] = at
        self._end_item(at)
        start, _ = self.paid_intervals[-1]
        self.paid_intervals[-1] = (start, at)
        self.churned_at = at
        self._set_stage("churned", at, "Subscription cancelled")
        self.people.account_churned(self.state.index, at)
        for invoice in self.company.invoices[-2:]:
            if invoice["account"] == self.state.external_id and invoice["status"] == "open":
                invoice["status"] = "uncollectible"

    def _maybe_win_back(self, churned_at: datetime) -> None:
        months_left = (self.company.end - churned_at).days // 30
        for month in range(1, months_left):
            if self.rng.random() < REACTIVATION_MONTHLY:
                restart = add_months(churned_at, month)
                state = self.state
                state.seats = max(3, int(state.seats * 0.8))
                state.h = 0.5 * state.fit + float(self.rng.normal(0.3, 0.4))
                state.interval = "month"
                self.churned_at = None
                subscription = self._open_subscription(restart, None)
                subscription["status"] = "active"
                self._set_stage("won_back", restart, "Came back after churning")
                self._paid_life_again(subscription, restart)
                return

    def _paid_life_again(self, subscription: Row, restart: datetime) -> None:
        self.voice.won_back(restart)
        self._paid_life(subscription, restart)

    def _finish_open_period(self, subscription: Row) -> None:
        if any(
            inv["status"] == "open" and inv["due_at"] < self.company.end - timedelta(days=10)
            for inv in self.company.invoices[-2:]
            if inv["account"] == self.state.external_id
        ):
            subscription["status"] = "past_due"

    # -- plan changes ---------------------------------------------------------------------------

    def _change_plan(self, at: datetime, step: int, users: tuple[str, ...]) -> None:
        state = self.state
        annual_renewal = state.interval == "year" and step % 12 == 0
        can_shrink = state.interval == "month" or annual_renewal
        active = len(users)
        seats, tier = state.seats, state.tier
        if active >= 0.8 * seats and state.h > -0.2 and self.rng.random() < 0.4:
            seats = seats + max(1, math.ceil(seats * float(self.rng.uniform(0.1, 0.4))))
        elif can_shrink and active < 0.45 * seats and self.rng.random() < 0.3:
            seats = max(2, math.ceil(active * 1.25))
        if state.h > 0.9 and tier < 4 and self.rng.random() < 0.05:
            tier += 1
        elif can_shrink and state.h < -1.2 and tier > 1 and self.rng.random() < 0.08:
            tier -= 1
        if (seats, tier) == (state.seats, state.tier):
            return
        grew = seats * self._price(tier) > state.seats * self._price(state.tier)
        if grew and state.interval == "year" and not annual_renewal:
            months_left = 12 - (step % 12)
            extra = (seats * self._price(tier) - state.seats * self._price(state.tier)) / 12
            self._invoice(
                self.company.subscriptions[-1],
                at,
                add_months(at, months_left),
                (extra * months_left).quantize(Decimal("0.01")),
                step,
            )
        state.seats, state.tier = seats, tier
        self._end_item(at)
        self._start_item(self.company.subscriptions[-1], at)
        if grew:
            self._set_stage("expansion", at, "Added seats or upgraded")

    def _update_stage(self, at: datetime, step: int) -> None:
        state = self.state
        recent_detractor = any(step - s < 3 for s in self.observed.detractor_steps)
        if state.h < -0.9 or (recent_detractor and self.observed.usage_trend() < -0.2):
            self._set_stage("at_risk", at, "Usage and sentiment falling")
        elif state.interval == "year" and step % 12 >= 10:
            self._set_stage("renewal", at, "Annual renewal due within 60 days")
        elif step >= 3 and state.stage in {"onboarding", "expansion", "at_risk", "won_back"}:
            self._set_stage("adoption", at, "Settled into regular use")
        elif state.stage == "renewal" and step % 12 < 10:
            self._set_stage("adoption", at, "Renewed")

    # -- rows -----------------------------------------------------------------------------------

    def _price(self, tier: int) -> Decimal:
        return catalog.PLANS[tier - 1].monthly_seat_price

    def _period_amount(self) -> Decimal:
        """What one billing period costs: the current item's unit amount x seats, less discount."""
        state = self.state
        gross = catalog.PLANS[state.tier - 1].unit_amount(state.interval) * state.seats
        return (gross * (1 - state.discount / 100)).quantize(Decimal("0.01"))

    def _open_subscription(self, start: datetime, trial_end: datetime | None) -> Row:
        self.subscription_count += 1
        subscription: Row = {
            "external_id": f"sub_{self.state.external_id}_{self.subscription_count}",
            "account": self.state.external_id,
            "status": "trialing" if trial_end else "active",
            "currency": self.state.currency,
            "started_at": start,
            "trial_ends_at": trial_end,
            "current_period_end": None,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
        }
        self.company.subscriptions.append(subscription)
        self._start_item(subscription, start)
        return subscription

    def _start_item(self, subscription: Row, at: datetime) -> None:
        state = self.state
        spec = catalog.PLANS[state.tier - 1]
        self.item_count += 1
        self.current_item = {
            "external_id": f"si_{state.external_id}_{self.item_count:02d}",
            "subscription": subscription["external_id"],
            "plan": spec.external_id(state.interval),
            "unit_amount": spec.unit_amount(state.interval),
            "quantity": state.seats,
            "interval": state.interval,
            "discount_percent": state.discount,
            "started_at": at,
            "ended_at": None,
        }
        self.company.subscription_items.append(self.current_item)

    def _end_item(self, at: datetime) -> None:
        if self.current_item is not None and self.current_item["ended_at"] is None:
            self.current_item["ended_at"] = at

    def _set_stage(self, stage: str, at: datetime, reason: str) -> None:
        if self.stage_recorded and stage == self.state.stage:
            return
        self.company.stage_changes.append(
            {
                "account": self.state.external_id,
                "from_stage": self.state.stage if self.stage_recorded else "",
                "to_stage": stage,
                "changed_at": at,
                "reason": reason,
            }
        )
        self.state.stage = stage
        self.stage_recorded = True

    def _decision_makers(self) -> tuple[str, ...]:
        return self.people.decision_makers(self.state.index)

    def _feature_order(self) -> np.ndarray:
        core = [i for i, f in enumerate(catalog.FEATURES) if f[2]]
        rest = [i for i, f in enumerate(catalog.FEATURES) if not f[2]]
        return np.array(core + [rest[int(i)] for i in self.rng.permutation(len(rest))])
