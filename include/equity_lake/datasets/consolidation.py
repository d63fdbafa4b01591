"""Year-end consolidation: a closed year's tick objects folded into fewer (DESIGN section 3).

Two folds, one engine dataset (``ticks-history``), one kind of run:

- ``daily-ticks``: each security's monthly files of the year into its
  ``data/raw/ticks/daily/{security_id}/history.parquet``, merged with the history already
  there (a month's row wins over a history row of the same session: it is the later write).
  A chunk of securities is gated as one unit (the ``daily-ticks-history`` suite).
- ``minute-ticks``: each security's day objects of the year into one object per month,
  ``data/raw/ticks/minute/{security_id}/{YYYY}/{MM}/ticks.parquet`` (merged with a folded
  month already there). A year of minutes is large, so each security is its own unit (the
  ``minute-ticks-history`` suite): memory stays one security's year, and a security whose
  fold fails its gate is quarantined alone while the rest of the chunk folds.

A run covers one year and fans out over chunks of every security listed at any time in that
year (the master's periods: delisted and renamed securities included, whether or not the lake
has bars for them). Each unit is gated (exactly the union of the inputs, unique timestamps,
every bar a session of the year), each folded object replaced atomically, re-read and
compared with what was gated, and only then are the objects it folded deleted.

Readers merge folded objects with the finer ones by timestamp (the finer one wins), so a crash
at any point leaves every row readable exactly once; a re-run folds what is left and changes
nothing else. Before anything is read the year is recorded as consolidated
(``keys.CONSOLIDATED``): from then on an ingest of a session of that year merges into the
folded object instead of creating a finer one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk, ChunkRule, bounds
from equity_lake.engine.dataset import Kind, Partition, Plan, Run, Service, Unit, register
from equity_lake.lake import commits, keys
from equity_lake.lake.merge import merge_rows
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import DAILY_TICKS, MINUTE_TICKS, conform
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

DATASET = "ticks-history"
KEY_COLUMNS = ("timestamp",)  # each folded object holds one security
DEFAULT_CHUNK_SIZE = 200
CHUNKS = ChunkRule(min_size=1, max_size=5000, max_chunks=500)
#: the figures each partition's result and the run's summary report
FIGURES = ("folded", "rows_in", "rows_out", "objects_deleted", "bytes_before", "bytes_after")


@dataclass(frozen=True)
class Fold:
    """What one tick dataset's closed years fold into."""

    #: the tick dataset folded (its name in ``keys.CONSOLIDATED``, its commits)
    source: str
    #: what names its partitions ("daily-chunk-1-of-3")
    short: str
    #: the folded rows' schema and the suite that gates them
    kind: Kind
    #: a security's folded objects of a year, each with the objects it folds
    groups: Callable[[LakeStore, int, int], list[tuple[str, list[str]]]]
    #: a security's folded rows -> (folded object, its rows)
    targets: Callable[[int, pa.Table], Iterable[tuple[str, pa.Table]]]
    #: True: a chunk is one unit; False: each security is one (a year of minutes is large)
    whole_chunk: bool


def _daily_groups(store: LakeStore, sid: int, year: int) -> list[tuple[str, list[str]]]:
    months = [
        k for k in store.list(keys.daily_ticks_year(sid, year)) if k.endswith("/ticks.parquet")
    ]
    return [(keys.daily_ticks_history(sid), months)] if months else []


def _minute_groups(store: LakeStore, sid: int, year: int) -> list[tuple[str, list[str]]]:
    """The day objects of each month (``{MM}/{DD}/ticks.parquet``), by folded month."""
    prefix = keys.minute_ticks_year(sid, year)
    by_month: dict[str, list[str]] = {}
    for key in store.list(prefix):
        parts = key[len(prefix) :].split("/")
        if len(parts) == 3 and parts[2] == "ticks.parquet":
            month = keys.minute_ticks_month(sid, dt.date(year, int(parts[0]), 1))
            by_month.setdefault(month, []).append(key)
    return sorted(by_month.items())


def _history_target(sid: int, rows: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    yield keys.daily_ticks_history(sid), rows


def _month_targets(sid: int, rows: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    """A security's minutes by the month of their session."""
    first = pc.cast(
        pc.floor_temporal(calendar.session_dates(rows.column("timestamp")), unit="month"),
        pa.date32(),
    )
    for month in sorted(set(first.to_pylist())):
        yield keys.minute_ticks_month(sid, month), rows.filter(pc.equal(first, month))


FOLDS = {
    fold.source: fold
    for fold in (
        Fold(
            keys.DAILY_TICKS_DATASET,
            "daily",
            Kind(DAILY_TICKS, "daily-ticks-history", KEY_COLUMNS),
            _daily_groups,
            _history_target,
            whole_chunk=True,
        ),
        Fold(
            keys.MINUTE_TICKS_DATASET,
            "minute",
            Kind(MINUTE_TICKS, "minute-ticks-history", KEY_COLUMNS),
            _minute_groups,
            _month_targets,
            whole_chunk=False,
        ),
    )
}


@dataclass(frozen=True)
class Request:
    """One chunk of the year's securities in one fold, and the partition's figures (filled as
    it runs)."""

    year: int
    chunk: Chunk
    fold: Fold
    #: the chunk's securities
    securities: list[int]
    figures: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))


class Consolidation:
    """Year-end consolidation of the tick datasets, as the engine sees it."""

    name = DATASET
    schema = DAILY_TICKS  # every unit declares its fold's kind
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
        """Chunks of every security listed in the year, per fold asked for, each with its
        command; the minute fold only when the lake holds minutes of the year."""
        year = year_of(run)
        sids = securities(SecurityMaster.load(store), year)
        size = int(run.params.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        count = CHUNKS.count(len(sids), size)
        partitions, skipped = [], []
        for fold in folds(run.params.get("dataset")):
            if not _holds(store, fold, year):
                skipped.append(fold.source)
                continue
            for i in range(1, count + 1):
                chunk = Chunk(i, count)
                lo, hi = bounds(len(sids), i, count)
                argv = ["consolidate", "--year", str(year), "--dataset", fold.source]
                argv += ["--chunk", str(chunk), "--run-id", run.run_id]
                label = f"{fold.short} {year} {chunk}: {sids[lo]}..{sids[hi - 1]} ({hi - lo})"
                partitions.append(Partition(partition_name(fold, chunk), label, tuple(argv)))
        return Plan(partitions, {"year": year, "securities": len(sids), "nothing_in": skipped})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        """The chunk's folded objects, as one unit or one per security; each, once published,
        verified, then the objects it folded deleted."""
        fold, year = request.fold, request.year
        mark_consolidated(store, fold.source, year)
        chunk = request.securities
        busy = {k for intent in commits.pending(store, fold.source) for k in intent.objects}
        if fold.whole_chunk:
            found = [f for f in read_all(lambda s: _inputs(store, fold, s, year), chunk) if f]
            if found:
                name = f"year-{year}-{request.chunk.label}"
                yield _unit(store, fold, found, request, busy, name, entity=None)
            return
        for sid in chunk:
            folded = _inputs(store, fold, sid, year, parallel=True)
            if folded is not None:
                name = f"{fold.short}-{year}-{sid}"
                yield _unit(store, fold, [folded], request, busy, name, entity=str(sid))

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        fold = FOLDS[str(run.params.get("dataset") or keys.DAILY_TICKS_DATASET)]
        for sid, rows in slices(table, "security_id"):
            yield from fold.targets(sid, rows)

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.consolidation_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        """The run's figures, summed over its partitions' commit records."""
        records = commits.committed(store, DATASET, run.day, run.run_id)
        return {name: sum(int(r.get(name, 0)) for r in records) for name in FIGURES}


CONSOLIDATION = register(Consolidation())


def partition_name(fold: Fold, chunk: Chunk) -> str:
    return f"{fold.short}-{chunk.label}"


def _holds(store: LakeStore, fold: Fold, year: int) -> bool:
    """Whether the fold's dataset has committed rows in ``year`` (daily: always planned, so a
    year's delisted securities are never skipped by a wrong guess; minutes: a lake without
    minutes of the year gets no tasks)."""
    if fold.whole_chunk:
        return True
    span = commits.span(store, fold.source)
    return span is not None and span[0].year <= year <= span[1].year


@dataclass
class _Folded:
    """One security's folded objects: their inputs and their merges."""

    sid: int
    #: (folded object, objects it folds, its merged rows), one per folded object
    groups: list[tuple[str, list[str], pa.Table]]
    rows_in: int
    expected: int
    bytes: int
    #: per merged row: whether it equals the row of that time in an input (finer ones first)
    from_inputs: pa.Array

    @property
    def merged(self) -> pa.Table:
        return pa.concat_tables(rows for _, _, rows in self.groups)

    @property
    def folded(self) -> list[str]:
        return [k for _, sources, _ in self.groups for k in sources]


def _inputs(
    store: LakeStore, fold: Fold, sid: int, year: int, *, parallel: bool = False
) -> _Folded | None:
    """The security's folded objects of ``year`` merged with what they fold; None when there
    is nothing to fold. ``parallel``: read a group's objects concurrently (the caller is not
    already reading securities concurrently)."""
    schema = fold.kind.schema
    groups, flags, size, rows_in, stamps = [], [], 0, 0, []
    for target, sources in fold.groups(store, sid, year):
        keys_ = [target, *sources]
        read = read_all if parallel else lambda f, items: [f(i) for i in items]
        datas = read(store.read_bytes, keys_)
        parts = []
        for key, data in zip(keys_, datas, strict=True):
            if data is None:
                parts.append(None)
                continue
            size += len(data)
            parts.append(conform(store.stored_table(key, data), schema, store.uri(key)))
        base = parts[0]
        new = pa.concat_tables([p for p in parts[1:] if p is not None])
        merged = merge_rows(base, new, ["timestamp"]).sort_by("timestamp")
        inputs = new if base is None else pa.concat_tables([base, new])
        rows_in += inputs.num_rows
        stamps.append(pc.unique(inputs.column("timestamp")))
        flags.append(_equal_to(merged, base, new, schema))
        groups.append((target, sources, merged))
    if not groups:
        return None
    expected = len(pc.unique(pa.chunked_array(stamps)))
    return _Folded(sid, groups, rows_in, expected, size, pa.concat_arrays(flags))


def _unit(
    store: LakeStore,
    fold: Fold,
    found: list[_Folded],
    request: Request,
    busy: set[str],
    name: str,
    *,
    entity: str | None,
) -> Unit:
    """The gate's unit for ``found``: their merged rows and provenance; once published,
    each security's objects are verified, then what they folded deleted. ``busy``: objects
    an uncommitted publish of the folded dataset is writing (folding them would publish rows
    readers must not see yet)."""
    publishing = sorted(k for f in found for k in f.folded if k in busy)
    if publishing:
        raise RuntimeError(
            f"a {fold.source} publish of {len(publishing)} of these objects has not committed "
            f"(e.g. {store.uri(publishing[0])}): let it finish, or `equity-lake repair` it, "
            f"then consolidate again"
        )
    figures = request.figures
    merged = pa.concat_tables(f.merged for f in found)
    figures["rows_in"] += sum(f.rows_in for f in found)
    figures["bytes_before"] += sum(f.bytes for f in found)
    context = {"from_inputs": pa.concat_arrays([f.from_inputs for f in found])}
    if not fold.whole_chunk:  # minutes: the session of each bar
        context["session"] = calendar.session_dates(merged.column("timestamp"))

    def verify_then_delete() -> None:
        for folded in found:
            _verify_then_delete(store, fold, folded, figures)

    return Unit(
        name,
        merged,
        {"year": request.year, "expected_rows": sum(f.expected for f in found)},
        entity=entity,
        context=pa.table(context),
        kind=fold.kind,
        whole=True,
        then=verify_then_delete,
    )


def _equal_to(
    merged: pa.Table, base: pa.Table | None, new: pa.Table, schema: pa.Schema
) -> pa.Array:
    """For each merged row (in timestamp order), whether it is the input's row of its time
    (a finer object's row wins over the folded object's), built apart from the merge: the
    gate's proof nothing was invented or altered."""
    kept = []
    if base is not None:
        stamps = new.column("timestamp")
        kept.append(base.filter(pc.invert(pc.is_in(base.column("timestamp"), stamps))))
    expected = pa.concat_tables([*kept, new]).sort_by("timestamp")
    if expected.num_rows != merged.num_rows:
        return pa.array([False] * merged.num_rows)
    same = pa.array([True] * merged.num_rows)
    for name in schema.names:
        a, b = merged.column(name), expected.column(name)
        equal = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        same = pc.and_(same, pc.or_(equal, both_null))
    return same.combine_chunks() if isinstance(same, pa.ChunkedArray) else same


def _verify_then_delete(
    store: LakeStore, fold: Fold, folded: _Folded, figures: dict[str, int]
) -> None:
    """Re-read each published object; only when every one holds exactly what was gated,
    delete the objects they folded."""
    sizes = 0
    for target, _, merged in folded.groups:
        data = store.read_bytes(target)
        stored = None
        if data is not None:
            stored = conform(store.stored_table(target, data), fold.kind.schema, target)
        if stored is None or not stored.sort_by("timestamp").equals(merged):
            raise RuntimeError(
                f"{store.uri(target)} does not hold the rows just published: inputs kept"
            )
        sizes += len(data)
    for key in folded.folded:
        store.delete(key)
    figures["folded"] += 1
    figures["rows_out"] += sum(rows.num_rows for _, _, rows in folded.groups)
    figures["objects_deleted"] += len(folded.folded)
    figures["bytes_after"] += sizes


def securities(master: SecurityMaster, year: int) -> list[int]:
    """Every security listed on any day of ``year`` (delisted and renamed ones included)."""
    listed = master.listed_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return sorted(set(listed.column("security_id").to_pylist()))


def year_of(run: Run) -> int:
    """The run's ``year`` param, else the year its day closes (the DAG's run day is Dec 31)."""
    year = run.params.get("year") or run.day.year
    year = int(year)
    if year >= dt.date.today().year:
        raise ValueError(f"year {year} is not closed yet: only a past year can be consolidated")
    return keys.year(year)


def folds(name: str | None) -> list[Fold]:
    """The folds a ``dataset`` param asks for: one tick dataset, or every one ("all" or
    empty); anything else is bad input."""
    if name in (None, "", "all"):
        return list(FOLDS.values())
    if name not in FOLDS:
        known = ", ".join(["all", *FOLDS])
        raise ValueError(f"dataset {name!r} cannot be consolidated; known: {known}")
    return [FOLDS[name]]


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
    store: LakeStore,
    year: int,
    *,
    dataset: str = keys.DAILY_TICKS_DATASET,
    chunk: Chunk | None = None,
    run_id: str,
) -> dict[str, Any]:
    """Fold one chunk of the year's securities of one tick dataset; its result (the CLI's
    JSON line)."""
    chosen = folds(dataset)
    if len(chosen) != 1:
        raise ValueError(f"a chunk folds one dataset, not {dataset!r}: {', '.join(FOLDS)}")
    (fold,) = chosen
    chunk = chunk or Chunk(1, 1)
    day = dt.date(keys.year(year), 12, 31)
    run = Run(day, run_id, {"year": year, "dataset": fold.source})
    year = year_of(run)
    sids = securities(SecurityMaster.load(store), year)
    lo, hi = bounds(len(sids), chunk.index, chunk.count)
    request = Request(year, chunk, fold, sids[lo:hi])
    request.figures.update(chunk=str(chunk), year=year, dataset=fold.source)
    return runner.ingest(
        CONSOLIDATION,
        store,
        run,
        request,
        partition=partition_name(fold, chunk),
        extra=request.figures,
        total=hi - lo,
    )
