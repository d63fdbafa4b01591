"""Daily ticks: one trading day of raw daily bars, chunk by chunk, declared to the engine.

The universe of a day is every security the master lists as trading that day, ordered by
symbol; chunk ``i/n`` is the i-th of n contiguous slices of it, so an upstream planner and a
container running ``--chunk i/n`` agree on its members without passing symbol lists around.
A chunk is gated whole by the ``daily-ticks`` suite, then each security's rows are merged into
its monthly file.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake import symbols as symbology
from equity_lake.datasets import daily_context
from equity_lake.datasets.consolidation import consolidated
from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk, ChunkRule, bounds
from equity_lake.engine.dataset import Partition as PartitionSpec
from equity_lake.engine.dataset import Plan, Run, Service, Unit, register
from equity_lake.lake import keys
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster, trading_day
from equity_lake.sources.registry import check_coverage, daily_source, daily_source_services

DATASET = keys.DAILY_TICKS_DATASET
KEY_COLUMNS = ("timestamp",)
MAX_CHUNKS = 1000
DEFAULT_CHUNK_SIZE = 500
MIN_CHUNK_SIZE = 10
MAX_CHUNK_SIZE = 20000
#: share of the active universe a source that is not `complete` must deliver
MIN_ROW_SHARE = 0.9


@dataclass(frozen=True)
class ChunkPlan:
    """What the planner hands each mapped ingest task."""

    chunk: Chunk
    size: int
    first_symbol: str
    last_symbol: str

    @property
    def label(self) -> str:
        return f"{self.chunk}: {self.first_symbol}..{self.last_symbol} ({self.size})"

    def argv(
        self,
        day: dt.date,
        source: str,
        run_id: str,
        symbols: list[str] | None = None,
        end: dt.date | None = None,
        *,
        dataset: str = DATASET,
        options: Sequence[str] = (),
    ) -> list[str]:
        """The CLI command that ingests this chunk of ``dataset`` (any dataset chunked over
        the day's universe), whichever runtime runs it; ``options`` are the dataset's own."""
        days = ["--date", day.isoformat()]
        if end is not None:
            days = ["--start", day.isoformat(), "--end", end.isoformat()]
        argv = [
            "ingest",
            dataset,
            *days,
            "--chunk",
            str(self.chunk),
            "--source",
            source,
            "--run-id",
            run_id,
            *options,
        ]
        return argv + (["--symbols", ",".join(symbols)] if symbols else [])


def parse_symbols(text: str | None) -> list[str] | None:
    """``"AAPL, brk-b"`` -> the symbols as typed, each checked; None or "" means the whole
    universe is not asked for here: the CLI refuses an empty list itself."""
    if text is None:
        return None
    return [symbology.user_symbol(s) for s in text.split(",") if s.strip()] or None


def universe(master: SecurityMaster, day: dt.date, symbols: list[str] | None = None) -> pa.Table:
    """Securities trading on ``day`` (security_id, symbol), optionally only ``symbols``.

    A symbol as a user types it is found in any of its spellings (``BRK-B`` finds ``BRK.B``).
    """
    active = master.active_on(day)
    if not symbols:
        return active
    held = set(active.column("symbol").to_pylist())
    found, unknown = [], []
    for typed in symbols:
        match = next((s for s in symbology.user_forms(typed) if s in held), None)
        (found if match else unknown).append(match or typed)
    if unknown:
        raise ValueError(f"no security traded as {', '.join(unknown)} on {day}")
    mask = pc.is_in(active.column("symbol"), value_set=pa.array(found))
    return active.filter(mask)


#: the longest range one run backfills (a year: at most 13 monthly units per chunk task)
MAX_SPAN_DAYS = 366


def sessions(start: dt.date, end: dt.date | None = None) -> list[dt.date]:
    """The sessions a run covers: its day, or every session of its backfill range."""
    if end is None:
        return [trading_day(start)]
    if end < start:
        raise ValueError(f"the backfill ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise ValueError(
            f"a backfill covers at most {MAX_SPAN_DAYS} days ({start}..{end} is longer): "
            "split it into years"
        )
    days = calendar.sessions_between(start, end)
    if not days:
        raise ValueError(f"no NYSE session between {start} and {end}")
    return days


def span_universe(
    master: SecurityMaster, days: list[dt.date], symbols: list[str] | None = None
) -> tuple[pa.Table, dict[dt.date, pa.Table]]:
    """Securities trading on any of ``days`` (security_id, symbol as last traded), by
    symbol, and those that traded on each day (security_id, that day's symbol). One day
    gives exactly ``universe``."""
    if len(days) == 1:
        members = universe(master, days[0], symbols)
        return members, {days[0]: members}
    forms = {typed: symbology.user_forms(typed) for typed in symbols or []}
    spellings = pa.array(sorted({f for fs in forms.values() for f in fs}), pa.string())
    # the master's rows listed in the span (and spelled as asked): a backfill's year is then
    # a few hundred look-ups over a small table, not over every listing since 2009
    in_span = master.listed_between(days[0], days[-1])
    if symbols:
        in_span = in_span.filter(pc.is_in(in_span.column("symbol"), spellings))
    listed = SecurityMaster(in_span)
    # a typed symbol finds its first spelling held (as ``universe`` does): only a symbol with
    # several spellings can hold a second one that must be left out
    single = {fs[0] for fs in forms.values() if len(fs) == 1}
    several = [fs for fs in forms.values() if len(fs) > 1]
    by_day, last_symbol, seen = {}, {}, set()
    for day in days:
        active = listed.active_on(day)
        if symbols:
            held = set(active.column("symbol").to_pylist())
            seen |= held
            found = held & single
            for spelled in several:
                match = next((s for s in spelled if s in held), None)
                if match:
                    found.add(match)
            if found != held:
                active = active.filter(
                    pc.is_in(active.column("symbol"), pa.array(sorted(found), pa.string()))
                )
        ids = active.column("security_id").to_pylist()
        by_day[day] = active
        last_symbol.update(zip(ids, active.column("symbol").to_pylist(), strict=True))
    unknown = [typed for typed, fs in forms.items() if not seen.intersection(fs)]
    if unknown:
        raise ValueError(
            f"no security traded as {', '.join(sorted(unknown))} between {days[0]} and {days[-1]}"
        )
    order = sorted(last_symbol, key=lambda sid: (last_symbol[sid], sid))
    members = pa.table(
        {
            "security_id": pa.array(order, pa.int64()),
            "symbol": pa.array([last_symbol[sid] for sid in order], pa.string()),
        }
    )
    return members, by_day


def minimum(provider: Any, expected: int) -> int:
    """How many of ``expected`` securities' bars a source must deliver: all of them, or
    MIN_ROW_SHARE for one that is not complete (a few securities may not trade on a day)."""
    return expected if provider.complete else math.floor(expected * MIN_ROW_SHARE)


CHUNKS = ChunkRule(min_size=MIN_CHUNK_SIZE, max_size=MAX_CHUNK_SIZE, max_chunks=MAX_CHUNKS)


def chunk_count(n_securities: int, chunk_size: int) -> int:
    """How many chunks, never more than MAX_CHUNKS (the chunk grows instead); at least one."""
    return max(1, CHUNKS.count(n_securities, chunk_size))


def chunk_slice(table: pa.Table, chunk: Chunk) -> pa.Table:
    lo, hi = bounds(table.num_rows, chunk.index, chunk.count)
    return table.slice(lo, hi - lo)


def plan(
    store: LakeStore,
    day: dt.date,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    symbols: list[str] | None = None,
    end: dt.date | None = None,
) -> list[ChunkPlan]:
    """Split the day's universe (or, with ``end``, the backfill range's) into chunks for the
    mapped ingest tasks."""
    members, _ = span_universe(SecurityMaster.load(store), sessions(day, end), symbols)
    return chunk_plans(members, chunk_size)


def chunk_plans(members: pa.Table, chunk_size: int) -> list[ChunkPlan]:
    """``members`` (security_id, symbol, in order) cut into chunks of about ``chunk_size``."""
    n = chunk_count(members.num_rows, chunk_size)
    plans = []
    for i in range(1, n + 1):
        chunk = Chunk(i, n)
        part = chunk_slice(members, chunk).column("symbol")
        if len(part) == 0:
            continue
        plans.append(ChunkPlan(chunk, len(part), part[0].as_py(), part[-1].as_py()))
    return plans


@dataclass(frozen=True)
class Request:
    """What one ingest task asks for: a chunk of the (optionally filtered) universe."""

    source: str
    chunk: Chunk
    symbols: list[str] | None = None
    #: the last session of a backfill range (the run's day is its first); None: one day
    end: dt.date | None = None


class DailyTicks:
    """The daily-ticks dataset, as the engine sees it."""

    name = DATASET
    schema = DAILY_TICKS
    key_columns = KEY_COLUMNS
    entities = "securities"
    entity_label = "security"
    rows = "rows"
    run_day = "nyse_session"
    overlapping = True  # checked merges: catchup and backfills run days at once
    gate_batch = 1

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return daily_source_services(str(params.get("source", "sample")))  # type: ignore[return-value]

    def plan(self, store: LakeStore, run: Run) -> Plan:
        """The run's chunks: of its session, or (``backfill`` param) of a range of sessions,
        each chunk fetched and published a month at a time."""
        symbols = run.params.get("symbols") or None
        source = str(run.params.get("source", "sample"))
        services = self.services(run.params)
        chunk_size = int(run.params.get("chunk_size", DEFAULT_CHUNK_SIZE))
        start, end = backfill_range(run.params.get("backfill")) or (run.day, None)
        days = sessions(start, end)
        check_coverage(source, days[0], days[-1])
        master = SecurityMaster.load(store)
        members, by_day = span_universe(master, days, symbols)
        partitions = []
        for p in chunk_plans(members, chunk_size):
            chunk_ids = set(chunk_slice(members, p.chunk).column("security_id").to_pylist())
            partitions.append(
                PartitionSpec(
                    name=p.chunk.label,
                    label=p.label if end is None else f"{p.label} {start}..{end}",
                    argv=tuple(p.argv(days[0], source, run.run_id, symbols, end and days[-1])),
                    services=services,
                    expected=expected_securities(chunk_ids, by_day),
                    day=days[0],
                )
            )
        return Plan(partitions, {"backfill": f"{days[0]}..{days[-1]}"} if end else {})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        """One unit per calendar month of the run's sessions (one for a daily run): the
        chunk's bars of that month, gated together and merged into each monthly object once."""
        provider = daily_source(request.source)
        days = sessions(run.day, request.end)
        check_coverage(request.source, days[0], days[-1])
        members, by_day = span_universe(SecurityMaster.load(store), days, request.symbols)
        chunk = chunk_slice(members, request.chunk)
        ids = chunk.column("security_id").combine_chunks()
        symbol_of = dict(
            zip(
                chunk.column("security_id").to_pylist(),
                chunk.column("symbol").to_pylist(),
                strict=True,
            )
        )
        previous = None  # the run's bars of the month before: the next month's previous bars
        for month, month_days in itertools.groupby(days, key=lambda d: (d.year, d.month)):
            month_days = list(month_days)
            parts, expected, wanted, minimums = [], 0, set(), {}
            for day in month_days:
                # each security under the symbol it traded as that day (renames, reused tickers)
                today = by_day[day].filter(pc.is_in(by_day[day].column("security_id"), ids))
                expected += today.num_rows
                wanted.update(today.column("security_id").to_pylist())
                minimums[day.isoformat()] = minimum(provider, today.num_rows)
                parts.append(provider.daily_bars(day, today))
            bars = pa.concat_tables(parts).sort_by(
                [("security_id", "ascending"), ("timestamp", "ascending")]
            )
            delivered = set(bars.column("security_id").to_pylist())
            late = f" {month[0]:04d}-{month[1]:02d}" if request.end else ""
            missing.extend(f"{symbol_of[sid]}{late}" for sid in sorted(wanted - delivered))
            # each bar's previous bar, for the gate (this run's last month, else the lake)
            context = daily_context.build(store, bars, before=previous)
            yield Unit(
                name=request.chunk.label
                + (f"-{month[0]:04d}-{month[1]:02d}" if request.end else ""),
                table=bars,
                params={
                    "trading_date": month_days if request.end else run.day,
                    "expected_rows": expected,
                    "min_rows": minimum(provider, expected),
                    "min_rows_by_day": minimums,
                    **context.params,
                },
                context=context.table,
                prior=context.prior,
            )
            previous = bars  # a unit failing its gate ends the partition: this was published

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        """Each security's rows into its monthly file (a unit is one month, sorted by
        security_id), or into its history when that year has been consolidated: a late
        correction never leaves a monthly file beside the history."""
        closed = run.params.get("consolidated") or ()
        for sid, rows in slices(table, "security_id"):
            day = rows.column("timestamp")[0].as_py()
            if day.year in closed:
                yield keys.daily_ticks_history(sid), rows
            else:
                yield keys.daily_ticks_month(sid, day), rows

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.daily_ticks_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        return {}


DAILY = register(DailyTicks())


def ingest(
    store: LakeStore,
    day: dt.date,
    *,
    source: str = "sample",
    chunk: Chunk | None = None,
    symbols: list[str] | None = None,
    run_id: str,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Fetch, gate and publish one chunk of one day, or with ``end`` of every session from
    ``day`` to ``end`` (a backfill: a month at a time, each monthly object written once); its
    result (the CLI's JSON line)."""
    days = sessions(day, end)
    chunk = chunk or Chunk(1, 1)
    daily_source_services(source)  # an unknown source is bad input, before any work
    last = days[-1] if end is not None else None
    extra = {"chunk": str(chunk), "source": source}
    if last is not None:
        extra["end"] = last.isoformat()
    params = {"source": source, "consolidated": consolidated(store)}
    return runner.ingest(
        DAILY,
        store,
        Run(days[0], run_id, params),
        Request(source, chunk, symbols, last),
        partition=chunk.label,
        extra=extra,
    )


def backfill_range(text: object) -> tuple[dt.date, dt.date] | None:
    """The DAG's ``backfill`` param, ``YYYY-MM-DD..YYYY-MM-DD`` (empty: no backfill)."""
    if not text:
        return None
    first, sep, last = str(text).partition("..")
    try:
        if not sep:
            raise ValueError
        return dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
    except ValueError:
        raise ValueError(f"backfill {text!r} is not YYYY-MM-DD..YYYY-MM-DD") from None


def expected_securities(chunk_ids: set[int], by_day: Mapping[dt.date, pa.Table]) -> int:
    """What a chunk's commit must account for: each security once per month it traded in."""
    months: dict[tuple[int, int], set[int]] = {}
    for day, active in by_day.items():
        traded = set(active.column("security_id").to_pylist()) & chunk_ids
        months.setdefault((day.year, day.month), set()).update(traded)
    return sum(len(ids) for ids in months.values())
