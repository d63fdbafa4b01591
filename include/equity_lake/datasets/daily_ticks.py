"""Daily ticks: one trading day of raw daily bars, chunk by chunk, declared to the engine.

The universe of a day is every security the master lists as trading that day, ordered by
symbol; chunk ``i/n`` is the i-th of n contiguous slices of it, so an upstream planner and a
container running ``--chunk i/n`` agree on its members without passing symbol lists around.
A chunk is gated whole by the ``daily-ticks`` suite, then each security's rows are merged into
its monthly file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from equity_lake import symbols as symbology
from equity_lake.datasets import daily_context
from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk, ChunkRule, bounds
from equity_lake.engine.dataset import Partition as PartitionSpec
from equity_lake.engine.dataset import Plan, Run, Service, Unit, register
from equity_lake.lake import keys
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster, trading_day
from equity_lake.sources.registry import daily_source, daily_source_services

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
        self, day: dt.date, source: str, run_id: str, symbols: list[str] | None = None
    ) -> list[str]:
        """The CLI command that ingests this chunk, whichever runtime runs it."""
        argv = [
            "ingest",
            "daily-ticks",
            "--date",
            day.isoformat(),
            "--chunk",
            str(self.chunk),
            "--source",
            source,
            "--run-id",
            run_id,
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
    mask = pa.compute.is_in(active.column("symbol"), value_set=pa.array(found))
    return active.filter(mask)


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
) -> list[ChunkPlan]:
    """Split the day's universe into chunks for the mapped ingest tasks."""
    members = universe(SecurityMaster.load(store), trading_day(day), symbols)
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

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return daily_source_services(str(params.get("source", "sample")))  # type: ignore[return-value]

    def plan(self, store: LakeStore, run: Run) -> Plan:
        symbols = run.params.get("symbols") or None
        source = str(run.params.get("source", "sample"))
        services = self.services(run.params)
        chunk_size = int(run.params.get("chunk_size", DEFAULT_CHUNK_SIZE))
        partitions = [
            PartitionSpec(
                name=p.chunk.label,
                label=p.label,
                argv=tuple(p.argv(run.day, source, run.run_id, symbols)),
                services=services,
                expected=p.size,
            )
            for p in plan(store, run.day, chunk_size, symbols)
        ]
        return Plan(partitions)

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        provider = daily_source(request.source)
        members = chunk_slice(
            universe(SecurityMaster.load(store), run.day, request.symbols), request.chunk
        )
        bars = provider.daily_bars(run.day, members).sort_by([("security_id", "ascending")])
        expected = members.num_rows
        context = daily_context.build(store, bars)  # each bar's previous bar, for the gate
        yield Unit(
            name=request.chunk.label,
            table=bars,
            params={
                "trading_date": run.day,
                "expected_rows": expected,
                "min_rows": expected if provider.complete else math.floor(expected * MIN_ROW_SHARE),
                **context.params,
            },
            context=context.table,
            prior=context.prior,
        )

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        """Each security's rows into its monthly file (the unit is sorted by security_id)."""
        for sid, rows in slices(table, "security_id"):
            yield keys.daily_ticks_month(sid, run.day), rows

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
) -> dict[str, Any]:
    """Fetch, gate and publish one chunk of one day; its result (the CLI's JSON line)."""
    day = trading_day(day)
    chunk = chunk or Chunk(1, 1)
    daily_source_services(source)  # an unknown source is bad input, before any work
    return runner.ingest(
        DAILY,
        store,
        Run(day, run_id, {"source": source}),
        Request(source, chunk, symbols),
        partition=chunk.label,
        extra={"chunk": str(chunk), "source": source},
    )
