"""Derived metrics: each company's TTM and metrics as known on each date, from the lake.

For every company of a chunk of CIKs (those given, else every company with facts in the lake)
the partition reads its stored facts and the daily bars of its securities (the master's
``cik``), computes its TTM rows (``fundamentals/ttm.py``), its fundamental metrics and its
market-value metrics per trading day (``fundamentals/metrics.py``), and writes them to
``data/derived/features/fundamental/{cik}/ttm.parquet`` and ``.../metrics.parquet``. Each is
gated on its own (the ``derived-ttm`` and ``derived-metrics`` suites) with the company as the
unit: a company that fails is quarantined alone, and its metrics are not written when its TTM
failed. Rows merge by (as_of_date, name, unit), so recomputing a company rewrites only what
changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk, ChunkRule, bounds
from equity_lake.engine.dataset import (
    Kind,
    Partition,
    Plan,
    Run,
    Service,
    Unit,
    date_range,
    range_argv,
    register,
)
from equity_lake.fundamentals import metrics, ttm
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import MasterError, SecurityMaster

DATASET = "derived-metrics"
KEY_COLUMNS = ("as_of_date", "metric", "unit")
TTM_KIND = Kind(ttm.TTM_SCHEMA, "derived-ttm", ("as_of_date", "concept", "unit"))
DEFAULT_CHUNK_SIZE = 50
CHUNKS = ChunkRule(min_size=1, max_size=5000, max_chunks=500)


@dataclass(frozen=True)
class Request:
    """One chunk of the run's companies (``ciks`` given, else all the lake holds)."""

    chunk: Chunk
    ciks: list[str] | None = None
    #: the trading days whose market-value metrics are recomputed (None: every day)
    start: dt.date | None = None
    end: dt.date | None = None


def stored_ciks(store: LakeStore) -> list[str]:
    """Every company with facts in the lake."""
    found = set()
    for key in store.list(keys.FUNDAMENTALS_PREFIX):
        parts = key[len(keys.FUNDAMENTALS_PREFIX) :].split("/")
        if len(parts) == 2 and parts[1] == "fundamental.parquet" and parts[0].isdigit():
            found.add(parts[0])
    return sorted(found)


def companies(store: LakeStore, ciks: list[str] | None) -> list[str]:
    return sorted({keys.cik(c) for c in ciks}) if ciks else stored_ciks(store)


class DerivedMetrics:
    """The derived-metrics dataset, as the engine sees it."""

    name = DATASET
    schema = metrics.METRICS_SCHEMA
    key_columns = KEY_COLUMNS
    entities = "companies"
    entity_label = "CIK"
    rows = "rows"
    run_day = "filing_day"
    overlapping = True  # merges are checked; a company's rows only ever grow
    gate_batch = 50  # a validation costs ~0.3 s: 50 companies share one

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return ()  # reads the lake only

    def plan(self, store: LakeStore, run: Run) -> Plan:
        """Chunks of the companies to recompute, each with the command that derives it."""
        ciks = companies(store, run.params.get("ciks") or None)
        start, end = date_range(run.params)
        size = int(run.params.get("chunk_size", DEFAULT_CHUNK_SIZE))
        count = CHUNKS.count(len(ciks), size)
        partitions = []
        for i in range(1, count + 1):
            chunk = Chunk(i, count)
            lo, hi = bounds(len(ciks), i, count)
            argv = ["derive", "metrics", "--date", run.day.isoformat(), "--chunk", str(chunk)]
            argv += ["--run-id", run.run_id]
            argv += ["--ciks", ",".join(run.params["ciks"])] if run.params.get("ciks") else []
            argv += range_argv(start, end)
            label = f"{chunk}: {ciks[lo]}..{ciks[hi - 1]} ({hi - lo})"
            partitions.append(Partition(chunk.label, label, tuple(argv), (), expected=hi - lo))
        notes = {"companies": len(ciks), "prices": f"{start or '...'}..{end or '...'}"}
        return Plan(partitions, notes)

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        """Per company: its TTM unit, then its metrics unit (skipped if the TTM is rejected)."""
        ciks = companies(store, request.ciks)
        lo, hi = bounds(len(ciks), request.chunk.index, request.chunk.count)
        try:
            master = SecurityMaster.load(store)
        except MasterError:
            master = None  # no prices to value the companies with: fundamental metrics only
        for cik in ciks[lo:hi]:
            facts = store.read_table(keys.fundamentals(cik))
            if facts is None:
                missing.append(cik)
                continue
            rows = ttm.ttm(cik, facts)
            yield Unit(f"cik-{cik}-ttm", rows, {"ciks": [cik]}, entity=cik, kind=TTM_KIND)
            found = metrics.fundamental_metrics(cik, rows)
            priced = None
            if master is not None:
                priced = prices(store, master, cik, request.start, request.end)
            if priced is not None and priced.num_rows:
                found = pa.concat_tables([found, metrics.market_metrics(cik, rows, priced)])
            yield Unit(f"cik-{cik}-metrics", found, {"ciks": [cik]}, entity=cik)

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        if table.num_rows == 0:
            return []
        cik = table.column("cik")[0].as_py()
        key = keys.ttm(cik) if "concept" in table.column_names else keys.derived_metrics(cik)
        return [(key, table)]

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.derived_metrics_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        return {}


DERIVED = register(DerivedMetrics())


def prices(
    store: LakeStore,
    master: SecurityMaster,
    cik: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pa.Table | None:
    """The committed raw daily bars (security_id, timestamp, close) of the company's
    securities (the master's ``cik``) from ``start`` to ``end`` (None: every day the lake
    holds), reading only the months in that range; None if it has none."""
    table = master.table
    sids = sorted(
        set(table.filter(pc.equal(table.column("cik"), cik)).column("security_id").to_pylist())
    )
    if not sids:
        return None
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET)
    wanted = [
        k for sid in sids for k in store.list(keys.daily_ticks_of(sid)) if _month_in(k, start, end)
    ]

    def one(key: str) -> pa.Table | None:
        found = commits.read_committed(store, key, hidden, DAILY_TICKS)
        return None if found is None else found.select(["security_id", "timestamp", "close"])

    parts = [t for t in read_all(one, wanted) if t is not None and t.num_rows]
    if not parts:
        return None
    # one price a day: a company with several share classes is valued by its first security
    bars = pa.concat_tables(parts)
    if start or end:
        stamp = bars.column("timestamp")
        inside = pc.and_(
            pc.greater_equal(stamp, pa.scalar(start or dt.date.min, pa.date32())),
            pc.less_equal(stamp, pa.scalar(end or dt.date.max, pa.date32())),
        )
        bars = bars.filter(inside)
    bars = bars.sort_by([("timestamp", "ascending"), ("security_id", "ascending")])
    stamps = bars.column("timestamp").to_pylist()
    first = [i for i, day in enumerate(stamps) if i == 0 or stamps[i - 1] != day]
    return bars.take(pa.array(first, pa.int64()))


def _month_in(key: str, start: dt.date | None, end: dt.date | None) -> bool:
    """Whether a daily-ticks object may hold a day of ``start..end`` (a monthly file by its
    month; anything else, a closed-years history, always)."""
    parts = key.split("/")
    if not (start or end) or len(parts) < 3 or not (parts[-3] + parts[-2]).isdigit():
        return True
    month = (int(parts[-3]), int(parts[-2]))
    return (start is None or month >= (start.year, start.month)) and (
        end is None or month <= (end.year, end.month)
    )


def derive(
    store: LakeStore,
    day: dt.date,
    *,
    chunk: Chunk | None = None,
    ciks: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    run_id: str,
) -> dict[str, Any]:
    """Derive one chunk of companies (market-value metrics of the days ``start..end`` only,
    when given); its result (the CLI's JSON line)."""
    chunk = chunk or Chunk(1, 1)
    return runner.ingest(
        DERIVED,
        store,
        Run(day, run_id, {"ciks": ciks, "start": start, "end": end}),
        Request(chunk, ciks, start, end),
        partition=chunk.label,
        extra={"chunk": str(chunk)},
    )
