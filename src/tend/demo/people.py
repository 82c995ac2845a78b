"""The people of the demo company's customers: champions, decision makers and users.

Champions sometimes leave; some reappear at a new company later (a warm lead, seed 004).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from faker import Faker

from tend.demo import catalog
from tend.demo.records import DemoCompany, Row

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "tr_TR", "es_ES", "nl_NL")
NAME_POOL_SIZE = 400


@dataclass(frozen=True)
class ChampionMove:
    """A champion who left an account and may turn up at a new company."""

    left_at: datetime
    contact: Row


class People:
    """Creates contacts for accounts and remembers each account's users and decision makers."""

    def __init__(self, company: DemoCompany, rng: np.random.Generator, seed: int) -> None:
        self.company = company
        self.rng = rng
        fake = Faker(list(LOCALES))
        fake.seed_instance(seed)
        self.first_names = [fake.first_name() for _ in range(NAME_POOL_SIZE)]
        self.last_names = [fake.last_name() for _ in range(NAME_POOL_SIZE)]
        self.users: dict[int, list[Row]] = {}
        self.deciders: dict[int, tuple[str, ...]] = {}
        self.domains: dict[int, str] = {}
        self.external_ids: dict[int, str] = {}
        self.pending_moves: list[ChampionMove] = []
        self.contact_count = 0

    def add_account(
        self, index: int, external_id: str, domain: str, at: datetime, champion_from: Row | None
    ) -> Row | None:
        """Create the buying team; `champion_from` is a champion who moved here from elsewhere."""
        self.domains[index] = domain
        self.external_ids[index] = external_id
        self.users[index] = []
        champion = self._contact(index, at, self._pick(catalog.TITLES_CHAMPION))
        champion["is_champion"] = True
        if champion_from is not None:
            champion["name"] = champion_from["name"]
            champion["email"] = self._email(champion_from["name"], domain)
            champion["traits"] = {
                "previous_contact_external_id": champion_from["external_id"],
                "previous_account_external_id": champion_from["account"],
            }
        self.users[index].append(champion)
        decider = self._contact(index, at, self._pick(catalog.TITLES_DECISION))
        decider["is_decision_maker"] = True
        self.deciders[index] = (decider["external_id"],)
        return champion

    def ensure_users(self, index: int, count: int, at: datetime) -> tuple[str, ...]:
        """The account's first `count` product users, creating new ones as seats grow."""
        users = self.users[index]
        while len(users) < count:
            users.append(self._contact(index, at, self._pick(catalog.TITLES_USER)))
        return tuple(user["external_id"] for user in users[:count] if not user.get("left"))

    def mark_seen(self, index: int, active: tuple[str, ...], at: datetime) -> None:
        active_ids = set(active)
        for user in self.users[index]:
            if user["external_id"] in active_ids:
                user["last_seen_at"] = at

    def decision_makers(self, index: int) -> tuple[str, ...]:
        return self.deciders.get(index, ())

    def champion_leaves(self, index: int, at: datetime) -> None:
        """The champion quits; another user takes the role; the leaver may reappear elsewhere."""
        users = self.users[index]
        champion = next((u for u in users if u["is_champion"] and not u.get("left")), None)
        if champion is None:
            return
        champion["is_champion"] = False
        champion["left"] = True
        champion["traits"] = {**champion["traits"], "left_company_at": at.isoformat()}
        successor = next((u for u in users if not u.get("left")), None)
        if successor is not None:
            successor["is_champion"] = True
        if self.rng.random() < 0.5:
            self.pending_moves.append(ChampionMove(at, champion))

    def account_churned(self, index: int, at: datetime) -> None:
        champion = next((u for u in self.users[index] if u["is_champion"]), None)
        if champion is not None and self.rng.random() < 0.3:
            self.pending_moves.append(ChampionMove(at, champion))

    def take_moved_champion(self, before: datetime) -> Row | None:
        """A champion who left somewhere before `before`, now showing up at a new company."""
        ready = [i for i, move in enumerate(self.pending_moves) if move.left_at < before]
        if not ready:
            return None
        move = self.pending_moves.pop(ready[int(self.rng.integers(len(ready)))])
        return move.contact

    def _contact(self, index: int, at: datetime, title: str) -> Row:
        self.contact_count += 1
        name = f"{self._pick(self.first_names)} {self._pick(self.last_names)}"
        contact: Row = {
            "external_id": f"u_{self.contact_count:07d}",
            "email": self._email(name, self.domains[index], self.contact_count),
            "name": name,
            "title": title,
            "account": self.external_ids[index],
            "is_champion": False,
            "is_decision_maker": False,
            "traits": {},
            "first_seen_at": at,
            "last_seen_at": None,
        }
        self.company.contacts.append(contact)
        return contact

    def _email(self, name: str, domain: str, unique: int | None = None) -> str:
        plain = unicodedata.normalize("NFKD", name.replace("\u0131", "i")).encode("ascii", "ignore")
        ascii_local = ".".join(p.lower() for p in plain.decode().split() if p.isalpha()) or "user"
        suffix = f"{unique}" if unique is not None else ""
        return f"{ascii_local}{suffix}@{domain}"

    def _pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]
