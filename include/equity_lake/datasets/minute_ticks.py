"""Minute ticks: one session of one-minute bars, chunk by chunk, declared to the engine.

The universe and its chunks are the daily-ticks ones (the securities the master lists as
trading that day, by symbol), so ``--chunk 3/12`` names the same securities for both datasets.
A chunk's session is gated whole by the ``minute-ticks`` suite with, beside each bar, where it
falls in the session and whether its security's minutes agree with the daily bar already in
the lake; then each security's bars go to their own object,
``data/raw/ticks/minute/{security_id}/{YYYY}/{MM}/{DD}/ticks.parquet``.

Sessions: ``regular`` (the exchange calendar's open to close, half days included) or
``extended`` (04:00 New York to four hours after the close) where the source has them; the
DAG param ``session`` chooses, else the ``EQUITY_LAKE_MINUTE_SESSION`` setting.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.datasets import daily_ticks
from equity_lake.datasets.consolidation import consolidated
from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk
from equity_lake.engine.dataset import Partition, Plan, Run, Service, Unit, register
from equity_lake.lake import commits, keys
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import DAILY_TICKS, MINUTE_TICKS, conform
from equity_lake.lake.store import ABSENT, LakeStore, read_all
from equity_lake.master import SecurityMaster, trading_day
from equity_lake.quality.context import MINUTE_CONTEXT
from equity_lake.sources.registry import (
    MINUTE_SOURCES,
    check_coverage,
    minute_source,
    minute_source_services,
)

DATASET = keys.MINUTE_TICKS_DATASET
KEY_COLUMNS = ("timestamp",)
#: a mapped task holds about chunk x 390 bars (x 960 with extended hours) several times over
DEFAULT_CHUNK_SIZE = 500
SESSION_SETTING = "EQUITY_LAKE_MINUTE_SESSION"
DEFAULT_SESSION = "regular"


def session_of(value: object = None, env: Mapping[str, str] | None = None) -> str:
    """The session a run covers: ``value`` (the DAG param or CLI option), else the
    ``EQUITY_LAKE_MINUTE_SESSION`` setting, else regular; anything else is bad input."""
    env = os.environ if env is None else env
    text = str(value or env.get(SESSION_SETTING, "").strip() or DEFAULT_SESSION).lower()
    if text not in calendar.SESSION_KINDS:
        origin = "session" if value else SESSION_SETTING
        raise ValueError(f"{origin}={text!r} is not one of {', '.join(calendar.SESSION_KINDS)}")
    return text


@dataclass(frozen=True)
class Request:
    """What one ingest task asks for: a chunk of the day's universe, in one session."""

    source: str
    chunk: Chunk
    session: str = DEFAULT_SESSION
    symbols: list[str] | None = None


class MinuteTicks:
    """The minute-ticks dataset, as the engine sees it."""

    name = DATASET
    schema = MINUTE_TICKS
    key_columns = KEY_COLUMNS
    entities = "securities"
    entity_label = "security"
    rows = "rows"
    run_day = "nyse_session"
    overlapping = True  # one object per security and day: runs of different days never meet
    gate_batch = 1

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return minute_source_services(str(params.get("source", "sample")))  # type: ignore[return-value]

    def plan(self, store: LakeStore, run: Run) -> Plan:
        """The day's chunks, each with the CLI command that ingests it in the run's session."""
        source = str(run.params.get("source", "sample"))
        session = session_of(run.params.get("session"))
        symbols = run.params.get("symbols") or None
        chunk_size = int(run.params.get("chunk_size", DEFAULT_CHUNK_SIZE))
        day = trading_day(run.day)
        check_coverage(source, day, day, MINUTE_SOURCES)
        members = daily_ticks.universe(SecurityMaster.load(store), day, symbols)
        services = self.services(run.params)
        partitions = [
            Partition(
                name=p.chunk.label,
                label=f"{p.label} {session}",
                argv=tuple(
                    p.argv(
                        day,
                        source,
                        run.run_id,
                        symbols,
                        dataset=DATASET,
                        options=("--session", session),
                    )
                ),
                services=services,
                expected=p.size,
            )
            for p in daily_ticks.chunk_plans(members, chunk_size)
        ]
        return Plan(partitions, {"session": session})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        """One unit: the chunk's bars of the session, with the gate's context beside them."""
        provider = minute_source(request.source)
        day = trading_day(run.day)
        check_coverage(request.source, day, day, MINUTE_SOURCES)
        members = daily_ticks.universe(SecurityMaster.load(store), day, request.symbols)
        chunk = daily_ticks.chunk_slice(members, request.chunk)
        bars = conform(
            provider.minute_bars(day, chunk, request.session),
            MINUTE_TICKS,
            f"{DATASET} {request.source}",
        ).sort_by([("security_id", "ascending"), ("timestamp", "ascending")])
        delivered = set(bars.column("security_id").to_pylist())
        symbol_of = dict(
            zip(
                chunk.column("security_id").to_pylist(),
                chunk.column("symbol").to_pylist(),
                strict=True,
            )
        )
        missing.extend(symbol_of[sid] for sid in sorted(set(symbol_of) - delivered))
        expected = chunk.num_rows
        yield Unit(
            name=request.chunk.label,
            table=bars,
            params={
                "trading_date": day,
                "session": request.session,
                "session_minutes": calendar.session_minutes(day, request.session),
                "expected_securities": expected,
                "min_securities": daily_ticks.minimum(provider, expected),
                "daily_agreement": "error" if provider.consistent_with_daily else "warning",
            },
            context=context(store, bars, day, request.session),
            # one object per security and day: most do not exist yet, and a conditional
            # create finds out (re-reading and merging only those that do) without a GET each
            prior={}
            if folded(run, day)
            else {keys.minute_ticks_day(sid, day): (None, ABSENT) for sid in delivered},
        )

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        """Each security's bars into its object of the day (the unit is sorted by security),
        or into its folded month when that year has been consolidated: a late correction
        never leaves a day object beside the month."""
        day = trading_day(run.day)
        key = keys.minute_ticks_month if folded(run, day) else keys.minute_ticks_day
        for sid, rows in slices(table, "security_id"):
            yield key(sid, day), rows

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.minute_ticks_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        return {"session": notes["session"]} if notes.get("session") else {}


MINUTES = register(MinuteTicks())


def folded(run: Run, day: dt.date) -> bool:
    """Whether ``day``'s year of minutes has been consolidated (its bars go to months)."""
    return day.year in (run.params.get("consolidated") or ())


def ingest(
    store: LakeStore,
    day: dt.date,
    *,
    source: str = "sample",
    chunk: Chunk | None = None,
    session: str | None = None,
    symbols: list[str] | None = None,
    run_id: str,
) -> dict[str, Any]:
    """Fetch, gate and publish one chunk of one session's minute bars; its result (the CLI's
    JSON line)."""
    chunk = chunk or Chunk(1, 1)
    chosen = session_of(session)
    minute_source_services(source)  # an unknown source is bad input, before any work
    return runner.ingest(
        MINUTES,
        store,
        Run(
            trading_day(day),
            run_id,
            {"source": source, "session": chosen, "consolidated": consolidated(store, DATASET)},
        ),
        Request(source, chunk, chosen, symbols),
        partition=chunk.label,
        extra={"chunk": str(chunk), "source": source, "session": chosen},
    )


# --- the gate's context -----------------------------------------------------------------------
def context(store: LakeStore | None, bars: pa.Table, day: dt.date, session: str) -> pa.Table:
    """MINUTE_CONTEXT for ``bars`` (any order), row for row: each bar's minute in the
    session, its security's bar count, and how its security's regular-session minutes disagree
    with the day's daily bar in the lake (null: they agree, or the lake has no daily bar for
    it; ``store`` None: no lake to compare with)."""
    start, _ = calendar.session_bounds(day, session)
    stamps = pc.cast(bars.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False)
    minute = (stamps - int(start.timestamp()) * 1_000_000) / 60_000_000.0
    sid = pc.fill_null(bars.column("security_id"), -1).to_numpy(zero_copy_only=False)
    ids, row_of, counts = np.unique(sid, return_inverse=True, return_counts=True)
    texts = np.full(len(ids), None, dtype=object)
    if store is not None and bars.num_rows:
        daily = daily_bars(store, [int(i) for i in ids if i != -1], day)
        found = disagreements(session_rows(bars, day), daily)
        texts[:] = [found.get(int(i)) for i in ids]
    return pa.table(
        [
            pa.array(minute, pa.float64()),
            pa.array(counts[row_of], pa.int64()),
            pa.array(texts[row_of], pa.string()),
        ],
        schema=MINUTE_CONTEXT,
    )


def session_rows(bars: pa.Table, day: dt.date) -> pa.Table:
    """The bars of ``day``'s regular session (the daily bar's span)."""
    start, end = calendar.session_bounds(day, "regular")
    stamps = bars.column("timestamp")
    inside = pc.and_(
        pc.greater_equal(stamps, pa.scalar(start, stamps.type)),
        pc.less(stamps, pa.scalar(end, stamps.type)),
    )
    return bars.filter(inside)


def daily_bars(store: LakeStore, security_ids: list[int], day: dt.date) -> pa.Table:
    """The committed daily bars of ``security_ids`` on ``day`` (monthly objects, else the
    closed years' history), for those that have one."""
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET)

    def one(sid: int) -> pa.Table | None:
        for key in (keys.daily_ticks_month(sid, day), keys.daily_ticks_history(sid)):
            table = commits.read_committed(store, key, hidden, DAILY_TICKS)
            if table is not None:
                return table.filter(pc.equal(table.column("timestamp"), pa.scalar(day)))
        return None

    parts = [t for t in read_all(one, security_ids) if t is not None and t.num_rows]
    return pa.concat_tables(parts) if parts else DAILY_TICKS.empty_table()


#: the aggregates a security's minutes must share with its daily bar
_AGGREGATES = (
    ("open", "first"),
    ("close", "last"),
    ("high", "max"),
    ("low", "min"),
    ("volume", "sum"),
)


def disagreements(minutes: pa.Table, daily: pa.Table) -> dict[int, str]:
    """security_id -> what differs between its minutes (one session, time-ordered) and its
    daily bar, e.g. ``"high 101.5 != daily 101.2; volume 900 != daily 1000"``; a security
    with a daily bar and no minute at all is not judged here (the coverage check is)."""
    if not minutes.num_rows or not daily.num_rows:
        return {}
    grouped = minutes.group_by("security_id", use_threads=False).aggregate(
        [(column, how) for column, how in _AGGREGATES]
    )
    by_id = {sid: i for i, sid in enumerate(grouped.column("security_id").to_pylist())}
    columns = {c: grouped.column(f"{c}_{how}").to_pylist() for c, how in _AGGREGATES}
    out: dict[int, str] = {}
    daily_values = {c: daily.column(c).to_pylist() for c, _ in _AGGREGATES}
    for j, sid in enumerate(daily.column("security_id").to_pylist()):
        i = by_id.get(sid)
        if i is None:
            continue
        wrong = [
            f"{c} {columns[c][i]} != daily {daily_values[c][j]}"
            for c, _ in _AGGREGATES
            if not _same(columns[c][i], daily_values[c][j])
        ]
        if wrong:
            out[sid] = "; ".join(wrong)
    return out


def _same(a: float | int | None, b: float | int | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
