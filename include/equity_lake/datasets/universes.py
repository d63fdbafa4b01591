"""Universes: dated membership for survivorship-free research, ``data/universe/{name}.parquet``.

One partition per universe (``universes.NAMES``). ``all_common`` is rebuilt from the security
master each run. ``top3000`` is rebuilt from its stored periods and the reconstitutions the run
recomputes: those whose lookback sessions hold a day of the run's range (``start``/``end``,
which the DAG fills from the daily-ticks Asset events), else those of the lake's latest
sessions; the first run (nothing stored yet) recomputes every month the lake holds. A
reconstitution is computed only once its whole lookback has been ingested (its previous
session is in the lake). Every other month keeps the picks the stored periods record, so
recomputing one month moves no other. The object is the universe's whole content: it is
replaced, not merged (``Unit.whole``), gated by the ``universes`` suite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from equity_lake import calendar, universes
from equity_lake.engine import runner
from equity_lake.engine.dataset import (
    Partition,
    Plan,
    Run,
    Service,
    Unit,
    date_range,
    range_argv,
    register,
)
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

DATASET = "universes"
KEY_COLUMNS = ("security_id", "start")
BAR_COLUMNS = ["security_id", "timestamp", "close", "volume"]


@dataclass(frozen=True)
class Request:
    """One universe, and the range of daily-ticks days whose reconstitutions it recomputes."""

    name: str
    start: dt.date | None = None
    end: dt.date | None = None


class Universes:
    """The universes dataset, as the engine sees it."""

    name = DATASET
    schema = universes.UNIVERSE_SCHEMA
    key_columns = KEY_COLUMNS
    entities = "universes"
    entity_label = "universe"
    rows = "periods"
    run_day = "filing_day"
    overlapping = True  # each run rebuilds a universe whole from the lake
    gate_batch = 1

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return ()  # reads the lake only

    def plan(self, store: LakeStore, run: Run) -> Plan:
        start, end = date_range(run.params)
        span = f" {start or '...'}..{end or '...'}" if start or end else ""
        partitions = []
        for name in universes.NAMES:
            argv = ["derive", "universe", name, "--date", run.day.isoformat()]
            argv += ["--run-id", run.run_id, *range_argv(start, end)]
            partitions.append(Partition(name, f"{name}{span}", tuple(argv), (), expected=1))
        return Plan(partitions, {})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        common = universes.all_common(SecurityMaster.load(store).table)
        if request.name == "all_common":
            table = common
        else:
            table = top_periods(store, request, common)
        yield Unit(request.name, table, {"universe": request.name}, whole=True)

    def targets(self, run: Run, table: pa.Table) -> list[tuple[str, pa.Table]]:
        # one universe per partition: its name is the ingest's run parameter
        return [(keys.universe(run.params["universe"]), table)]

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.universe_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        return {}


UNIVERSES = register(Universes())


def top_periods(store: LakeStore, request: Request, common: pa.Table) -> pa.Table:
    """The top-N universe's periods: its stored picks, with the reconstitutions of the
    request's range (see the module docstring) recomputed from the committed daily bars."""
    size = universes.size_of(request.name)
    held = commits.span(store, keys.DAILY_TICKS_DATASET)
    if held is None:
        return universes.UNIVERSE_SCHEMA.empty_table()
    first_day, last_day = held
    stored = store.read_table(keys.universe(request.name))
    if stored is not None:
        stored = stored.cast(universes.UNIVERSE_SCHEMA)
    if stored is None or stored.num_rows == 0:
        start, end = first_day, last_day  # the first run: every month the lake holds
    elif request.start is None and request.end is None:
        start, end = universes.lookback_sessions(last_day)[0], last_day
    else:
        start, end = request.start or first_day, request.end or last_day
    recompute = reconstitutions(start, end, last_day)
    chosen = dict(zip(recompute, ranked(store, common, recompute, size), strict=True))
    if stored is not None and stored.num_rows:
        first = min(stored.column("start").to_pylist())
        for day in universes.reconstitution_days(first, last_day):
            if day not in chosen and calendar.previous_session(day) <= last_day:
                ids = universes.members(stored, day).column("security_id").to_pylist()
                chosen[day] = set(ids)
    days = sorted(chosen)
    return universes.periods(common, days, [chosen[d] for d in days])


def reconstitutions(start: dt.date, end: dt.date, last: dt.date) -> list[dt.date]:
    """The reconstitution days whose lookback holds a session of ``start..end`` and whose
    whole lookback is in the lake (its previous session is on or before ``last``)."""
    found = []
    horizon = min(end + dt.timedelta(days=62), calendar.LAST_SESSION)
    for day in universes.reconstitution_days(start, horizon):
        window = universes.lookback_sessions(day)
        if not window or calendar.previous_session(day) > last:
            continue
        if window[0] <= end and window[-1] >= start:
            found.append(day)
    return found


def ranked(store: LakeStore, common: pa.Table, days: list[dt.date], size: int) -> list[set[int]]:
    """Each reconstitution's picks, from the committed bars of its lookback months: each
    (security, month) object is read once, a month dropped once no later day needs it."""
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET)
    cache: dict[tuple[int, int], pa.Table] = {}
    found = []
    for day in days:
        window = universes.lookback_sessions(day)
        months = sorted({(d.year, d.month) for d in window})
        for month in [m for m in cache if m not in months]:
            del cache[month]
        sids = universes.members(common, day).column("security_id").to_pylist()
        for year, month in months:
            if (year, month) not in cache:
                cache[(year, month)] = month_bars(store, sids, dt.date(year, month, 1), hidden)
        bars = pa.concat_tables(cache[m] for m in months)
        found.append(universes.picks(common, bars, day, size))
    return found


def month_bars(
    store: LakeStore, sids: list[int], month: dt.date, hidden: commits.Masks
) -> pa.Table:
    """The committed daily bars (BAR_COLUMNS) of ``sids`` in ``month``'s monthly files."""

    def one(sid: int) -> pa.Table | None:
        found = commits.read_committed(
            store, keys.daily_ticks_month(sid, month), hidden, DAILY_TICKS
        )
        return None if found is None else found.select(BAR_COLUMNS)

    parts = [t for t in read_all(one, sids) if t is not None and t.num_rows]
    empty = DAILY_TICKS.empty_table().select(BAR_COLUMNS)
    return pa.concat_tables([empty, *parts])


def derive(
    store: LakeStore,
    name: str,
    day: dt.date,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    run_id: str,
) -> dict[str, Any]:
    """Rebuild one universe; its result (the CLI's JSON line)."""
    if name not in universes.NAMES:
        raise ValueError(f"unknown universe {name!r}; known: {', '.join(universes.NAMES)}")
    return runner.ingest(
        UNIVERSES,
        store,
        Run(day, run_id, {"universe": name, "start": start, "end": end}),
        Request(name, start, end),
        partition=name,
    )
