"""Daily ticks: one trading day of raw daily bars, chunk by chunk.

The universe of a day is every security the master lists as trading that day, ordered by
symbol; chunk ``i/n`` is the i-th of n contiguous slices of it, so an upstream planner and a
container running ``--chunk i/n`` agree on its members without passing symbol lists around.
"""

from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from equity_lake.engine import wap
from equity_lake.lake import keys
from equity_lake.lake.partition import runs
from equity_lake.lake.schemas import DAILY_TICKS, conform
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster, trading_day
from equity_lake.sources.registry import daily_source

DATASET = "daily-ticks"
KEY_COLUMNS = ("timestamp",)
MAX_CHUNKS = 1000
DEFAULT_CHUNK_SIZE = 500
MIN_CHUNK_SIZE = 10
MAX_CHUNK_SIZE = 20000
#: share of the active universe a source that is not `complete` must deliver
MIN_ROW_SHARE = 0.9
PUBLISH_THREADS = 16


@dataclass(frozen=True)
class Chunk:
    """The i-th (1-based) of n slices of a day's universe."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Chunk:
        try:
            i, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"chunk {text!r} must look like I/N, e.g. 3/12") from None
        if not 1 <= i <= n <= MAX_CHUNKS:
            raise ValueError(f"chunk {text!r} needs 1 <= I <= N <= {MAX_CHUNKS}")
        return cls(i, n)

    @property
    def label(self) -> str:
        return f"chunk-{self.index:04d}-of-{self.count:04d}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class ChunkPlan:
    """What the planner hands each mapped ingest task."""

    chunk: str
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
            self.chunk,
            "--source",
            source,
            "--run-id",
            run_id,
        ]
        return argv + (["--symbols", ",".join(symbols)] if symbols else [])


@dataclass(frozen=True)
class ChunkResult:
    day: str
    chunk: str
    source: str
    securities: int
    rows: int
    files_written: int
    files_unchanged: int


def parse_symbols(text: str | None) -> list[str] | None:
    """``"AAPL, msft"`` -> ``["AAPL", "MSFT"]``, each validated; empty means the whole universe."""
    if text is None:
        return None
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    return [keys.symbol(s) for s in symbols] or None


def universe(master: SecurityMaster, day: dt.date, symbols: list[str] | None = None) -> pa.Table:
    """Securities trading on ``day`` (security_id, symbol), optionally only ``symbols``."""
    active = master.active_on(day)
    if not symbols:
        return active
    held = set(active.column("symbol").to_pylist())
    unknown = [s for s in symbols if s not in held]
    if unknown:
        raise ValueError(f"no security traded as {', '.join(unknown)} on {day}")
    mask = pa.compute.is_in(active.column("symbol"), value_set=pa.array(symbols))
    return active.filter(mask)


def chunk_count(n_securities: int, chunk_size: int) -> int:
    """How many chunks, never more than MAX_CHUNKS (the chunk grows instead)."""
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk_size {chunk_size} must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}"
        )
    return max(1, min(MAX_CHUNKS, math.ceil(n_securities / chunk_size)))


def chunk_slice(table: pa.Table, chunk: Chunk) -> pa.Table:
    bounds = np.linspace(0, table.num_rows, chunk.count + 1).round().astype(int)
    lo, hi = int(bounds[chunk.index - 1]), int(bounds[chunk.index])
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
        plans.append(ChunkPlan(str(chunk), len(part), part[0].as_py(), part[-1].as_py()))
    return plans


def ingest(
    store: LakeStore,
    day: dt.date,
    *,
    source: str = "sample",
    chunk: Chunk | None = None,
    symbols: list[str] | None = None,
    run_id: str,
) -> ChunkResult:
    """Fetch, normalise, audit and publish one chunk of one day."""
    day = trading_day(day)
    provider = daily_source(source)
    chunk = chunk or Chunk(1, 1)
    members = chunk_slice(universe(SecurityMaster.load(store), day, symbols), chunk)
    bars = conform(provider.daily_bars(day, members), DAILY_TICKS, f"{source} daily bars")
    bars = bars.sort_by([("security_id", "ascending")])
    expected = members.num_rows
    audited = wap.audit(
        store,
        dataset=DATASET,
        batch_key=keys.daily_ticks_batch(day, chunk.label),
        table=bars,
        params={
            "trading_date": day,
            "expected_rows": expected,
            "min_rows": expected if provider.complete else math.floor(expected * MIN_ROW_SHARE),
        },
        run_id=run_id,
        day=day,
        partition=chunk.label,
    )
    groups = runs(bars.column("security_id").to_numpy())  # bars are sorted by security_id
    written = publish(store, day, bars, groups)
    store.delete(audited.staged_key)
    return ChunkResult(
        day=day.isoformat(),
        chunk=str(chunk),
        source=source,
        securities=len(groups),
        rows=bars.num_rows,
        files_written=written,
        files_unchanged=len(groups) - written,
    )


def publish(
    store: LakeStore, day: dt.date, bars: pa.Table, groups: list[tuple[int, int, int]]
) -> int:
    """Merge each security's rows (``groups``: its slice of ``bars``) into its monthly file;
    returns how many files changed."""

    def one(run: tuple[int, int, int]) -> bool:
        sid, lo, hi = run
        return wap.publish_merge(
            store, keys.daily_ticks_month(sid, day), bars.slice(lo, hi - lo), KEY_COLUMNS
        )

    with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
        return sum(pool.map(one, groups))


def result_dict(result: ChunkResult) -> dict[str, object]:
    return asdict(result)
