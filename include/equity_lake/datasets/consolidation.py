"""Year-end consolidation: a closed year's monthly daily-ticks files folded into each
security's ``data/raw/ticks/daily/{security_id}/history.parquet`` (DESIGN section 3).

A run covers one year and fans out over chunks of every security listed at any time in that
year (the master's periods: delisted and renamed securities included, whether or not the lake
has bars for them). For each security of a chunk it merges the stored history with the year's
monthly files (a month's row wins over a history row of the same session: it is the later
write), the chunk is gated as one unit (the ``daily-ticks-history`` suite: exactly the union
of the inputs, unique sessions, none after the year), each history is replaced atomically,
re-read and compared with what was gated, and only then are that security's monthly files
deleted.

Readers merge history with monthly files by session, so a crash at any point leaves every row
readable exactly once: before the publish from the monthly files, between publish and delete
from both (the same row), after from history; a re-run folds what is left and changes nothing
else. Before anything is read the year is recorded as consolidated (``keys.CONSOLIDATED``):
from then on a daily-ticks ingest of a session of that year merges into ``history.parquet``
instead of creating a monthly file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk, ChunkRule, bounds
from equity_lake.engine.dataset import Partition, Plan, Run, Service, Unit, register
from equity_lake.lake import commits, keys
from equity_lake.lake.merge import merge_rows
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import DAILY_TICKS, conform
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

DATASET = "daily-ticks-history"
#: the tick datasets a consolidation folds (minute ticks: not yet, see the README)
FOLDS = (keys.DAILY_TICKS_DATASET,)
KEY_COLUMNS = ("timestamp",)  # each object holds one security
DEFAULT_CHUNK_SIZE = 200
CHUNKS = ChunkRule(min_size=1, max_size=5000, max_chunks=500)
#: the figures each partition's result and the run's summary report
FIGURES = ("folded", "rows_in", "rows_out", "objects_deleted", "bytes_before", "bytes_after")


@dataclass(frozen=True)
class Request:
    """One chunk of the year's securities, and the partition's figures (filled as it runs)."""

    year: int
    chunk: Chunk
    figures: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))


class Consolidation:
    """Year-end consolidation of daily ticks, as the engine sees it."""

    name = DATASET
    schema = DAILY_TICKS
    key_columns = KEY_COLUMNS
    entities = "securities"
    entity_label = "security"
    rows = "rows"
    run_day = "year_end"
    overlapping = False  # two runs folding the same files at once would race on the deletes
    gate_batch = 1

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return ()  # reads the lake only

    def plan(self, store: LakeStore, run: Run) -> Plan:
        """Chunks of every security listed in the year, each with its command."""
        year = year_of(run)
        check_dataset(run.params.get("dataset"))
        sids = securities(SecurityMaster.load(store), year)
        size = int(run.params.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        count = CHUNKS.count(len(sids), size)
        partitions = []
        for i in range(1, count + 1):
            chunk = Chunk(i, count)
            lo, hi = bounds(len(sids), i, count)
            argv = ["consolidate", "--year", str(year), "--chunk", str(chunk)]
            argv += ["--run-id", run.run_id]
            label = f"{year} {chunk}: {sids[lo]}..{sids[hi - 1]} ({hi - lo})"
            partitions.append(Partition(chunk.label, label, tuple(argv)))
        return Plan(partitions, {"year": year, "securities": len(sids)})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        """The chunk's folded histories as one unit; once published, verified, then the
        monthly files deleted."""
        mark_consolidated(store, keys.DAILY_TICKS_DATASET, request.year)
        sids = securities(SecurityMaster.load(store), request.year)
        lo, hi = bounds(len(sids), request.chunk.index, request.chunk.count)
        found = [f for f in read_all(lambda s: _inputs(store, s, request.year), sids[lo:hi]) if f]
        busy = _publishing(store, [k for f in found for k in f.months])
        if busy:
            raise RuntimeError(
                f"a daily-ticks publish of {len(busy)} of these monthly files has not committed "
                f"(e.g. {store.uri(busy[0])}): let it finish, or `equity-lake repair` it, "
                f"then consolidate again"
            )
        figures = request.figures
        if not found:
            return
        merged = pa.concat_tables(f.merged for f in found)
        figures["rows_in"] += sum(f.rows_in for f in found)
        figures["bytes_before"] += sum(f.bytes for f in found)
        expected = sum(f.expected for f in found)

        def verify_then_delete() -> None:
            for folded in found:
                _verify_then_delete(store, folded, figures)

        yield Unit(
            f"year-{request.year}-{request.chunk.label}",
            merged,
            {"year": request.year, "expected_rows": expected},
            context=_provenance(found),
            whole=True,
            then=verify_then_delete,
        )

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        for sid, rows in slices(table, "security_id"):
            yield keys.daily_ticks_history(sid), rows

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.consolidation_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        """The run's figures, summed over its partitions' commit records."""
        records = commits.committed(store, DATASET, run.day, run.run_id)
        return {name: sum(int(r.get(name, 0)) for r in records) for name in FIGURES}


CONSOLIDATION = register(Consolidation())


@dataclass
class _Folded:
    """One security's inputs and their merge."""

    sid: int
    months: list[str]
    merged: pa.Table
    rows_in: int
    expected: int
    bytes: int
    #: per merged row: whether it equals the row of that session in an input (month first)
    from_inputs: pa.Array


def _inputs(store: LakeStore, sid: int, year: int) -> _Folded | None:
    """The security's history and monthly files of ``year`` merged; None without a month."""
    months = [
        k for k in store.list(keys.daily_ticks_year(sid, year)) if k.endswith("/ticks.parquet")
    ]
    if not months:
        return None
    size, parts = 0, []
    for key in [keys.daily_ticks_history(sid), *months]:
        data = store.read_bytes(key)
        if data is None:
            parts.append(None)
            continue
        size += len(data)
        parts.append(conform(store.stored_table(key, data), DAILY_TICKS, store.uri(key)))
    history, monthly = parts[0], pa.concat_tables([p for p in parts[1:] if p is not None])
    merged = merge_rows(history, monthly, ["timestamp"])
    inputs = monthly if history is None else pa.concat_tables([history, monthly])
    expected = len(pc.unique(inputs.column("timestamp")))
    return _Folded(
        sid, months, merged, inputs.num_rows, expected, size, _equal_to(merged, history, monthly)
    )


def _equal_to(merged: pa.Table, history: pa.Table | None, monthly: pa.Table) -> pa.Array:
    """For each merged row, whether it is the input's row of its session (a month's row
    wins over history's), built apart from the merge: the gate's proof nothing was invented
    or altered."""
    kept = []
    if history is not None:
        stamps = monthly.column("timestamp")
        kept.append(history.filter(pc.invert(pc.is_in(history.column("timestamp"), stamps))))
    expected = pa.concat_tables([*kept, monthly]).sort_by("timestamp")
    if expected.num_rows != merged.num_rows:
        return pa.array([False] * merged.num_rows)
    merged = merged.sort_by("timestamp")
    same = pa.array([True] * merged.num_rows)
    for name in DAILY_TICKS.names:
        a, b = merged.column(name), expected.column(name)
        equal = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        same = pc.and_(same, pc.or_(equal, both_null))
    return same.combine_chunks() if isinstance(same, pa.ChunkedArray) else same


def _provenance(found: list[_Folded]) -> pa.Table:
    return pa.table({"from_inputs": pa.concat_arrays([f.from_inputs for f in found])})


def _publishing(store: LakeStore, objects: list[str]) -> list[str]:
    """Those of ``objects`` that an uncommitted daily-ticks publish is writing."""
    wanted = set(objects)
    intents = commits.pending(store, keys.DAILY_TICKS_DATASET)
    return sorted(k for intent in intents for k in intent.objects if k in wanted)


def _verify_then_delete(store: LakeStore, folded: _Folded, figures: dict[str, int]) -> None:
    """Re-read the published history; only when it holds exactly what was gated, delete the
    monthly files it folded."""
    key = keys.daily_ticks_history(folded.sid)
    data = store.read_bytes(key)
    stored = None if data is None else conform(store.stored_table(key, data), DAILY_TICKS, key)
    if stored is None or not stored.sort_by("timestamp").equals(folded.merged.sort_by("timestamp")):
        raise RuntimeError(f"{store.uri(key)} does not hold the rows just published: months kept")
    for month in folded.months:
        store.delete(month)
    figures["folded"] += 1
    figures["rows_out"] += stored.num_rows
    figures["objects_deleted"] += len(folded.months)
    figures["bytes_after"] += len(data)


def securities(master: SecurityMaster, year: int) -> list[int]:
    """Every security listed on any day of ``year`` (delisted and renamed ones included)."""
    table = master.table
    first, last = (
        pa.scalar(dt.date(year, 1, 1), pa.date32()),
        pa.scalar(dt.date(year, 12, 31), pa.date32()),
    )
    inside = pc.and_(
        pc.less_equal(table.column("start_date"), last),
        pc.fill_null(pc.greater_equal(table.column("end_date"), first), True),
    )
    return sorted(set(table.filter(inside).column("security_id").to_pylist()))


def year_of(run: Run) -> int:
    """The run's ``year`` param, else the year its day closes (the DAG's run day is Dec 31)."""
    year = run.params.get("year") or run.day.year
    year = int(year)
    if year >= dt.date.today().year:
        raise ValueError(f"year {year} is not closed yet: only a past year can be consolidated")
    return keys.year(year)


def check_dataset(name: str | None) -> None:
    if name not in (None, "", *FOLDS):
        raise ValueError(f"dataset {name!r} cannot be consolidated; known: {', '.join(FOLDS)}")


def consolidated(store: LakeStore, dataset: str = keys.DAILY_TICKS_DATASET) -> frozenset[int]:
    """The years of ``dataset`` a consolidation has started or finished."""
    state = store.read_json(keys.CONSOLIDATED) or {}
    return frozenset(int(y) for y in (state.get(dataset) or []) if isinstance(state, dict))


def mark_consolidated(store: LakeStore, dataset: str, year: int) -> None:
    """Record ``year`` as consolidated (a checked write: concurrent markers both land)."""
    for _ in range(20):
        data, version = store.read_versioned(keys.CONSOLIDATED)
        state = json.loads(data) if data else {}
        years = set(state.get(dataset) or [])
        if year in years:
            return
        state[dataset] = sorted(years | {year})
        text = json.dumps(state, indent=1, sort_keys=True).encode()
        if store.write_if(keys.CONSOLIDATED, text, version):
            return
    raise RuntimeError(f"{store.uri(keys.CONSOLIDATED)}: could not record {year} (contended)")


def consolidate(
    store: LakeStore, year: int, *, chunk: Chunk | None = None, run_id: str
) -> dict[str, Any]:
    """Fold one chunk of the year's securities; its result (the CLI's JSON line)."""
    chunk = chunk or Chunk(1, 1)
    day = dt.date(keys.year(year), 12, 31)
    run = Run(day, run_id, {"year": year})
    year = year_of(run)
    request = Request(year, chunk)
    request.figures.update(chunk=str(chunk), year=year)
    return runner.ingest(
        CONSOLIDATION,
        store,
        run,
        request,
        partition=chunk.label,
        extra=request.figures,
    )
