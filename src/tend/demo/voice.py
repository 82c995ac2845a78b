"""Support tickets, survey answers and touchpoints of one demo account, driven by its health."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from tend.demo import catalog
from tend.demo.records import DemoCompany

TICKETS_PER_MONTH = {"smb": 0.35, "mid_market": 0.9, "enterprise": 2.2}
HIGH_PRIORITIES = ("high", "urgent")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class SupportAndVoice:
    """Writes an account's tickets, NPS/CSAT/CES answers and touchpoints into the company."""

    def __init__(
        self, company: DemoCompany, rng: np.random.Generator, account: str, owner: str | None
    ) -> None:
        self.company = company
        self.rng = rng
        self.account = account
        self.owner = owner
        self.count = 0
        self.open_high_by_step: dict[int, int] = {}

    # -- tickets --------------------------------------------------------------------------------

    def tickets(
        self, start: datetime, stop: datetime, h: float, segment: str, people: tuple[str, ...]
    ) -> int:
        """Open this period's tickets; returns how many high-priority ones are still unresolved
        two weeks after they were opened (or at the end of the period)."""
        struggling = _sigmoid(-1.3 * h)
        expected = TICKETS_PER_MONTH[segment] * (0.5 + 1.2 * struggling)
        topics = list(catalog.TICKET_TOPICS)
        weights = np.array(
            [good * (1 - struggling) + bad * struggling for good, bad, _ in self._topic_specs()]
        )
        open_high = 0
        for _ in range(int(self.rng.poisson(expected))):
            opened = self._moment(start, stop)
            topic = topics[int(self.rng.choice(len(topics), p=weights / weights.sum()))]
            high = self.rng.random() < 0.08 + 0.3 * _sigmoid(-2 * h)
            priority = (
                ("urgent" if self.rng.random() < 0.3 else "high")
                if high
                else ("normal" if self.rng.random() < 0.7 else "low")
            )
            first_response = opened + timedelta(
                hours=float(self.rng.lognormal(math.log(1.0 if high else 4.0), 0.7))
            )
            hours = float(self.rng.lognormal(math.log(18 * (1 + 2 * struggling)), 0.9))
            if high and self.rng.random() < 0.35 * struggling:
                hours *= 12
            resolved = opened + timedelta(hours=hours)
            replies = int(self.rng.geometric(0.55)) + (1 if hours > 48 else 0)
            reopened = int(self.rng.random() < 0.05 + 0.12 * struggling)
            is_resolved = resolved <= self.company.end
            if high and (not is_resolved or hours > 24 * 14):
                open_high += 1
            self.count += 1
            csat = None
            if is_resolved and self.rng.random() < 0.5:
                csat = int(np.clip(round(4.6 - 0.02 * hours - 1.2 * struggling), 1, 5))
                csat = int(np.clip(csat + self.rng.integers(-1, 2), 1, 5))
            subjects = catalog.TICKET_TOPICS[topic][2]
            self.company.tickets.append(
                {
                    "external_id": f"tk_{self.account}_{self.count:04d}",
                    "account": self.account,
                    "contact": people[int(self.rng.integers(len(people)))] if people else None,
                    "subject": subjects[int(self.rng.integers(len(subjects)))],
                    "topic": topic,
                    "priority": priority,
                    "channel": ("email", "chat", "web", "phone")[int(self.rng.integers(4))],
                    "status": "solved" if is_resolved else "open",
                    "opened_at": opened,
                    "first_response_at": first_response
                    if first_response <= self.company.end
                    else None,
                    "resolved_at": resolved if is_resolved else None,
                    "agent_replies": replies,
                    "reopened_count": reopened,
                    "escalated": bool(high and hours > 72),
                    "csat": csat,
                }
            )
            if csat is not None:
                self._answer("csat", self._contact_of_last_ticket(), resolved, csat)
        return open_high

    def record_open_high(self, step: int, count: int) -> None:
        self.open_high_by_step[step] = count

    def open_high_recent(self, step: int) -> int:
        return sum(self.open_high_by_step.get(s, 0) for s in range(step - 2, step + 1))

    def _topic_specs(self) -> list[tuple[float, float, tuple[str, ...]]]:
        return list(catalog.TICKET_TOPICS.values())

    def _contact_of_last_ticket(self) -> str | None:
        contact = self.company.tickets[-1]["contact"]
        return str(contact) if contact else None

    # -- surveys --------------------------------------------------------------------------------

    def nps_round(self, start: datetime, stop: datetime, h: float, people: tuple[str, ...]) -> bool:
        """A relationship NPS survey; returns whether anyone answered as a detractor."""
        detractor = False
        asked = people[:6]
        for contact in asked:
            if self.rng.random() > 0.35:
                continue
            score = int(np.clip(round(7.3 + 1.9 * h + float(self.rng.normal(0, 1.4))), 0, 10))
            detractor |= score <= 6
            self._answer("nps", contact, self._moment(start, stop), score)
        return detractor

    def onboarding(self, paid_start: datetime, deciders: tuple[str, ...]) -> None:
        """Kickoff meeting and, a few weeks later, a CES question about getting set up."""
        self._touch("kickoff", paid_start + timedelta(days=2), deciders, 4 + self.rng.random())
        if self.rng.random() < 0.5:
            self._touch("training", paid_start + timedelta(days=9), deciders, None)
        if self.rng.random() < 0.6 and deciders:
            moment = paid_start + timedelta(days=30)
            fit = float(self.rng.normal(5.0, 1.3))
            self._answer("ces", deciders[0], moment, int(np.clip(round(fit), 1, 7)))

    def won_back(self, restart: datetime) -> None:
        self._touch("kickoff", restart + timedelta(days=1), (), None)

    def _answer(self, kind: str, contact: str | None, moment: datetime, score: int) -> None:
        if moment > self.company.end:
            return
        self.count += 1
        self.company.survey_responses.append(
            {
                "external_id": f"r_{self.account}_{self.count:04d}",
                "survey": kind,
                "contact": contact,
                "account": self.account,
                "score": score,
                "comment": self._comment(kind, score),
                "answered_at": moment,
                "channel": "in_app" if self.rng.random() < 0.4 else "email",
            }
        )

    def _comment(self, kind: str, score: int) -> str:
        if self.rng.random() < 0.35:
            return ""
        if kind == "nps":
            bucket = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            options = catalog.VERBATIMS[bucket]
        elif kind == "csat":
            options = catalog.CSAT_COMMENTS["good" if score >= 4 else "bad"]
        else:
            options = catalog.CES_COMMENTS["easy" if score >= 5 else "hard"]
        return options[int(self.rng.integers(len(options)))]

    # -- touchpoints ----------------------------------------------------------------------------

    def touchpoints(
        self,
        start: datetime,
        stop: datetime,
        step: int,
        h: float,
        segment: str,
        interval: str,
        stage: str,
    ) -> None:
        """CSM outreach: check-ins, QBRs, renewal calls, rescue calls; customers write in too."""
        people = ()
        high_touch = segment != "smb"
        if self.rng.random() < (0.55 if high_touch else 0.12):
            self._touch("check_in", self._moment(start, stop), people, None)
        qbr_every = {"enterprise": 3, "mid_market": 6}.get(segment)
        if qbr_every is not None and step % qbr_every == 0:
            self._touch("qbr", self._moment(start, stop), people, 3 + 2 * _sigmoid(h))
        if interval == "year" and step % 12 == 11:
            self._touch("renewal", self._moment(start, stop), people, 3 + 2 * _sigmoid(h))
        if stage == "at_risk" and self.rng.random() < (0.7 if high_touch else 0.25):
            self._touch("rescue", self._moment(start, stop), people, 2 + 2 * _sigmoid(h))
        for _ in range(int(self.rng.poisson(0.35))):
            self._touch("inbound", self._moment(start, stop), people, None)
        if self.rng.random() < 0.2:
            self._touch("chat", self._moment(start, stop), people, 3 + 2 * _sigmoid(h))

    def _touch(
        self, purpose: str, moment: datetime, people: tuple[str, ...], satisfaction: float | None
    ) -> None:
        if moment > self.company.end:
            return
        kind, subject = catalog.TOUCHPOINT_SUBJECTS[purpose]
        inbound = purpose in {"inbound", "chat"}
        self.count += 1
        self.company.touchpoints.append(
            {
                "external_id": f"tp_{self.account}_{self.count:04d}",
                "account": self.account,
                "contact": people[0] if people else None,
                "csm": None if inbound and self.rng.random() < 0.5 else self.owner,
                "kind": kind,
                "direction": "inbound" if inbound else "outbound",
                "occurred_at": moment,
                "subject": subject,
                "duration_minutes": 30 if kind in {"meeting", "call", "webinar"} else None,
                "satisfaction": (
                    int(np.clip(round(satisfaction), 1, 5))
                    if satisfaction is not None and self.rng.random() < 0.6
                    else None
                ),
            }
        )

    def _moment(self, start: datetime, stop: datetime) -> datetime:
        span = max((stop - start).total_seconds(), 3600.0)
        return start + timedelta(seconds=float(self.rng.uniform(0, span)))
