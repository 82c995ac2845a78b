"""`usage_daily` and `performance_daily` in one streaming pass over an `events.parquet` laid out
as the demo generator writes it: each account's events contiguous and ordered by user, time and
event name (tend.demo.parquet.EVENT_ORDER). No sort and no window: sessions are breaks between
neighbouring rows, and (account, user, day) groups are runs of rows.

The rules are those of tend.metrics.parquet_events (and of the usage rollups): only track, page
and screen events of a known account count; usage only those of an identified user with a name;
a session ends after 30 minutes without events or at midnight UTC, counts on the row of the event
that opened it and lasts at least one minute; the p95 load time is interpolated as DuckDB's
`quantile_cont`. Row groups are read one at a time (the next one while this one is aggregated;
dictionary-encoded strings become integer codes); an account that runs over the end of a row
group is carried into the next one.

The same pass also yields the usage rollups' first two tables (tend.metrics.usage_rollups:
`user_days`, with each user's previous and next active day, and `name_days`) keyed by those
integer codes, with the tables that map codes to accounts and event names: the rollups then
start from them instead of grouping `usage_daily`.

`aggregate_sorted_events` returns None as soon as the file breaks the layout (an account or a
user seen again after another, time going backwards): the caller then falls back to the SQL
formulation, which needs no order.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tend.metrics.array_groups import Codes, Groups, Output, changes, first_index, p95
from tend.metrics.parquet_events import (
    MINIMUM_SESSION_MS,
    MS_PER_DAY,
    QUALIFYING_TYPES,
    SESSION_GAP_MS,
    Progress,
)

COLUMNS = ("account_id", "user_id", "name", "type", "timestamp", "load_time_ms", "error_code")
STRINGS = ("account_id", "user_id", "name", "type")
DICTIONARIES = (*STRINGS, "error_code")
"""Read dictionary-encoded: strings become codes; of error codes only presence counts, and
decoding them as indices skips building a string per event."""
UNIT_MS = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1000), "ns": (1, 1_000_000)}
"""Per timestamp unit: (multiply, floor-divide) to get epoch milliseconds."""
MS_PER_MINUTE = 60_000.0


class OutOfOrder(Exception):
    """The file is not in the layout this reader needs."""


@dataclass
class Chunk:
    """Events of whole accounts as arrays: codes (-1: null), epoch ms and day, load times and
    flags."""

    account: np.ndarray
    user: np.ndarray
    name: np.ndarray
    qualifies: np.ndarray
    ms: np.ndarray
    day: np.ndarray
    load_ms: np.ndarray
    timed: np.ndarray
    error: np.ndarray

    def __len__(self) -> int:
        return len(self.account)

    def take(self, rows: np.ndarray | slice) -> Chunk:
        return Chunk(*(getattr(self, f.name)[rows] for f in fields(Chunk)))

    @staticmethod
    def joined(first: Chunk, second: Chunk) -> Chunk:
        return Chunk(
            *(
                np.concatenate([getattr(first, f.name), getattr(second, f.name)])
                for f in fields(Chunk)
            )
        )


class SortedEventsReader:
    """Streams the file's row groups and aggregates them; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.file = pq.ParquetFile(path, read_dictionary=list(DICTIONARIES))
        self.accounts, self.users, self.names, self.types = Codes(), Codes(), Codes(), Codes()
        code = pa.int32()
        self.usage = Output(
            pa.schema(
                [
                    ("account", code),
                    ("user", code),
                    ("day", pa.date32()),
                    ("event_name", code),
                    ("events", pa.int64()),
                    ("sessions", pa.int64()),
                    ("active_minutes", pa.float64()),
                ]
            )
        )
        self.performance = Output(
            pa.schema(
                [
                    ("account", code),
                    ("day", pa.date32()),
                    ("events", pa.int64()),
                    ("errors", pa.int64()),
                    ("page_loads", pa.int64()),
                    ("load_time_p95_ms", pa.float64()),
                ]
            )
        )
        self.user_days = Output(
            pa.schema(
                [
                    ("account", code),
                    ("user", code),
                    ("day", pa.date32()),
                    ("events", pa.int64()),
                    ("sessions", pa.int64()),
                    ("active_minutes", pa.float64()),
                    ("previous_day", pa.date32()),
                    ("next_day", pa.date32()),
                ]
            )
        )
        self.name_days = Output(
            pa.schema(
                [
                    ("account", code),
                    ("event_name", code),
                    ("day", pa.date32()),
                    ("events", pa.int64()),
                ]
            )
        )
        self.seen_accounts: set[int] = set()

    def chunks(self) -> Iterator[Chunk]:
        """Row groups as chunks of whole accounts: the last account of a group waits for the
        rest of its rows in the next group."""
        carried: Chunk | None = None
        count = self.file.num_row_groups
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self.file.read_row_group, 0, COLUMNS) if count else None
            for group in range(count):
                assert pending is not None
                table = pending.result()
                if group + 1 < count:
                    pending = pool.submit(self.file.read_row_group, group + 1, COLUMNS)
                chunk = self.decode(table)
                if carried is not None:
                    # The carried account's rest, if any, is at the start of this group.
                    rest = _first_row_not_of(chunk.account, _last_known(carried.account))
                    carried = Chunk.joined(carried, chunk.take(slice(0, rest)))
                    if rest == len(chunk):
                        continue
                    yield carried
                    chunk = chunk.take(slice(rest, None))
                last = _last_known(chunk.account)
                cut_at = 0 if last is None else _after_last_row_not_of(chunk.account, last)
                yield chunk.take(slice(0, cut_at))
                carried = chunk.take(slice(cut_at, None))
        if carried is not None and len(carried):
            yield carried

    def decode(self, table: pa.Table) -> Chunk:
        types = self.types.encode(table["type"])
        qualifying = np.zeros(len(self.types.values) + 1, dtype=bool)
        for kind in QUALIFYING_TYPES:
            if kind in self.types.index:
                qualifying[self.types.index[kind]] = True
        account = self.accounts.encode(table["account_id"])
        user = self.users.encode(table["user_id"])
        empty_user = self.users.index.get("")
        if empty_user is not None:
            user[user == empty_user] = -1
        stamps = table["timestamp"]
        multiply, divide = UNIT_MS[stamps.type.unit]
        ms = _numbers(pc.cast(stamps, pa.int64()), 0)
        if (multiply, divide) != (1, 1):
            ms = ms * multiply // divide
        load = table["load_time_ms"]
        if not pa.types.is_float32(load.type):
            load = pc.cast(load, pa.float64())
        return Chunk(
            account=account,
            user=user,
            name=self.names.encode(table["name"]),
            qualifies=qualifying[types] & (account >= 0) & _valid(stamps),
            ms=ms,
            day=(ms // MS_PER_DAY).astype(np.int32),
            load_ms=_numbers(load, 0.0),
            timed=_valid(load),
            error=_valid(table["error_code"]),
        )

    def run(self) -> None:
        for chunk in self.chunks():
            events = chunk if chunk.qualifies.all() else chunk.take(chunk.qualifies)
            if len(events) == 0:
                continue
            account_changes = changes(events.account)
            accounts = events.account[account_changes]
            listed = set(accounts.tolist())
            if len(listed) < len(accounts) or not listed.isdisjoint(self.seen_accounts):
                raise OutOfOrder("an account's events are not contiguous")
            self.seen_accounts |= listed
            local = np.cumsum(account_changes, dtype=np.int64) - 1
            self.add_performance(events, local, accounts)
            identified = (events.user >= 0) & (events.name >= 0)
            if identified.all():
                self.add_usage(events, local, len(accounts))
            elif identified.any():
                self.add_usage(events.take(identified), local[identified], len(accounts))

    def add_performance(self, events: Chunk, local: np.ndarray, accounts: np.ndarray) -> None:
        """Events, errors, timed page loads and their p95 per account-day."""
        first_day = int(events.day.min())
        days = int(events.day.max()) - first_day + 1
        groups = Groups(local * days + (events.day - first_day), len(accounts) * days)
        timed = events.timed
        loads = groups.count(timed)
        self.performance.add(
            account=accounts[groups.keys // days],
            day=groups.keys % days + first_day,
            events=groups.count(),
            errors=groups.count(events.error),
            page_loads=loads,
            load_time_p95_ms=pa.array(
                p95(groups.index[timed], events.load_ms[timed], len(groups.keys)),
                mask=loads == 0,
            ),
        )

    def add_usage(self, events: Chunk, local: np.ndarray, accounts: int) -> None:
        """Events, sessions and active minutes per (account, user, day, name), per user-day and
        events per (account, day, name)."""
        user_changes = changes(events.account) | changes(events.user)
        starts = np.flatnonzero(user_changes)
        pairs = (events.account[starts].astype(np.int64) << 32) | events.user[starts]
        if len(np.unique(pairs)) < len(pairs):
            raise OutOfOrder("a user's events are not contiguous")
        gap = np.diff(events.ms, prepend=events.ms[0])
        if (gap[~user_changes] < 0).any():
            raise OutOfOrder("a user's events are not in time order")
        self.check_ties(events.name, (gap == 0) & ~user_changes)
        day_changes = user_changes | changes(events.day)
        opens = day_changes | (gap > SESSION_GAP_MS)
        session_starts = np.flatnonzero(opens)
        session_ends = np.append(session_starts[1:], len(events)) - 1
        length = np.maximum(events.ms[session_ends] - events.ms[session_starts], MINIMUM_SESSION_MS)
        user_day = np.cumsum(day_changes, dtype=np.int64) - 1
        first_rows = np.flatnonzero(day_changes)
        width = len(self.names.values)
        groups = Groups(user_day * width + events.name, len(first_rows) * width)
        opened = groups.index[session_starts]
        of_day = first_rows[groups.keys // width]
        names = (groups.keys % width).astype(np.int32)
        counts = groups.count()
        self.usage.add(
            account=events.account[of_day],
            user=events.user[of_day],
            day=events.day[of_day],
            event_name=names,
            events=counts,
            sessions=np.bincount(opened, minlength=len(groups.keys)),
            active_minutes=np.bincount(opened, weights=length, minlength=len(groups.keys))
            / MS_PER_MINUTE,
        )
        day_sessions = user_day[session_starts]
        days_of_users = events.day[first_rows]
        new_user = user_changes[first_rows]
        last_of_user = np.append(new_user[1:], True)
        self.user_days.add(
            account=events.account[first_rows],
            user=events.user[first_rows],
            day=days_of_users,
            previous_day=_dates(np.roll(days_of_users, 1), new_user),
            next_day=_dates(np.roll(days_of_users, -1), last_of_user),
            events=np.bincount(user_day, minlength=len(first_rows)),
            sessions=np.bincount(day_sessions, minlength=len(first_rows)),
            active_minutes=np.bincount(day_sessions, weights=length, minlength=len(first_rows))
            / MS_PER_MINUTE,
        )
        day = events.day[of_day]
        first_day = int(day.min())
        days = int(day.max()) - first_day + 1
        account_day = local[of_day] * days + (day - first_day)
        by_name = Groups(account_day * width + names, accounts * days * width)
        account_days = by_name.keys // width
        self.name_days.add(
            account=events.account[of_day][first_index(by_name)],
            event_name=(by_name.keys % width).astype(np.int32),
            day=account_days % days + first_day,
            events=np.bincount(by_name.index, weights=counts, minlength=len(by_name.keys)).astype(
                np.int64
            ),
        )

    def check_ties(self, names: np.ndarray, ties: np.ndarray) -> None:
        """Events of one user at the same instant must be in event-name order (text order)."""
        later = np.flatnonzero(ties)
        if len(later) == 0:
            return
        rank = self.names.ranks()
        if (rank[names[later]] < rank[names[later - 1]]).any():
            raise OutOfOrder("events at the same instant are not in name order")

    def tables(self) -> dict[str, pa.Table]:
        """Every table by name; accounts, users and event names as integer codes, with
        `account_codes` and `name_codes` (and `user_codes`) to map them back."""
        return {
            "usage_daily": self.usage.table(),
            "performance_daily": self.performance.table(),
            "user_days": self.user_days.table(),
            "name_days": self.name_days.table(),
            "account_codes": self.accounts.table("account"),
            "user_codes": self.users.table("user"),
            "name_codes": self.names.table("event_name"),
        }


def _dates(days: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Epoch days as dates, null where `missing`."""
    return pa.array(days.astype(np.int32), mask=missing).view(pa.date32())


def _valid(column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    return pc.is_valid(column).to_numpy(zero_copy_only=False)


def _numbers(column: pa.ChunkedArray, fill: float) -> np.ndarray:
    if column.null_count:
        column = column.fill_null(fill)
    return column.to_numpy()


def _last_known(accounts: np.ndarray) -> int | None:
    """The last known account of the rows (None if no row has one)."""
    for end in range(len(accounts), 0, -65536):
        block = accounts[max(0, end - 65536) : end]
        known = np.flatnonzero(block >= 0)
        if len(known):
            return int(block[known[-1]])
    return None


def _first_row_not_of(accounts: np.ndarray, account: int | None) -> int:
    """The first row of a known account other than `account` (the length if none)."""
    for start in range(0, len(accounts), 65536):
        block = accounts[start : start + 65536]
        other = np.flatnonzero((block >= 0) & (block != account))
        if len(other):
            return start + int(other[0])
    return len(accounts)


def _after_last_row_not_of(accounts: np.ndarray, account: int) -> int:
    """The row after the last row of a known account other than `account` (0 if none)."""
    for end in range(len(accounts), 0, -65536):
        start = max(0, end - 65536)
        block = accounts[start:end]
        other = np.flatnonzero((block >= 0) & (block != account))
        if len(other):
            return start + int(other[-1]) + 1
    return 0


def aggregate_sorted_events(
    path: Path, progress: Progress, accounts: pa.Array | None = None
) -> dict[str, pa.Table] | None:
    """Every table of `SortedEventsReader.tables`, or None when the file is not in the layout.
    `accounts` get codes up front, so that `account_codes` covers them even without events."""
    reader = SortedEventsReader(path)
    if accounts is not None:
        reader.accounts.of(accounts)
    try:
        reader.run()
    except OutOfOrder:
        return None
    progress("usage_daily")
    progress("performance_daily")
    return reader.tables()
