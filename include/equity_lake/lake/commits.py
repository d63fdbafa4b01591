"""Commit records: a partition's rows count only once its publish committed.

A unit whose rows fan out to many objects (a chunk of daily bars: one monthly file per
security) cannot be replaced in one atomic step, so its publish is bracketed:

1. an *intent* (``keys.commit_intent``) names the objects about to be written and which rows
   (the key column's range, e.g. the trading days of the unit);
2. the objects are merged one by one;
3. the partition's *commit record* (``keys.commit_record``) names every object with the
   rows it received and their checksum, and the intents are removed.

A publish killed between 1 and 3 leaves its intent behind: the library's readers hide those
rows of those objects (the previous committed state) until the retry commits them. The record
step and summaries count commit records, so they report what the lake holds, not what a task
believed it wrote. A unit written as one object (a company's facts) needs no intent: its one
write is atomic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.lake import keys
from equity_lake.lake.schemas import conform
from equity_lake.lake.store import LakeStore, read_all


def rows_checksum(table: pa.Table) -> str:
    """sha256 of ``table``'s rows in Arrow IPC form: equal for equal rows however they were
    sliced or read, so a verifier can re-read an object and compare."""
    # one freshly concatenated array per column: a slice of a batch and the same rows read
    # back from Parquet then serialise to the same bytes
    columns = [
        pa.concat_arrays(c.chunks) if c.num_chunks else pa.array([], c.type) for c in table.columns
    ]
    canonical = pa.table(columns, schema=table.schema.remove_metadata())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        writer.write_table(canonical)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


@dataclass(frozen=True)
class Intent:
    """A publish in progress (or crashed): rows of ``column`` in [first, last] of ``objects``."""

    key: str
    dataset: str
    day: str
    partition: str
    run_id: str
    column: str
    first: str
    last: str
    objects: tuple[str, ...]
    #: when it was written (ISO, UTC)
    at: str = ""


def row_range(table: pa.Table, column: str) -> tuple[str, str] | None:
    """The first and last value of ``column`` as ISO text; None when it is not a date or
    timestamp (the rows of such a unit are not told apart by range) or the table is empty."""
    kind = table.schema.field(column).type
    if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)) or table.num_rows == 0:
        return None
    bounds = pc.min_max(table.column(column))
    return bounds["min"].as_py().isoformat(), bounds["max"].as_py().isoformat()


def rows_per_day(table: pa.Table, column: str) -> dict[str, int]:
    """ISO day -> rows of that day, when ``column`` is a date (else empty): what summaries
    count per session, whether a run wrote one day or a backfill range."""
    if not pa.types.is_date(table.schema.field(column).type) or table.num_rows == 0:
        return {}
    counts = pc.value_counts(table.column(column))
    return {
        v.as_py().isoformat(): c.as_py()
        for v, c in zip(counts.field("values"), counts.field("counts"), strict=True)
        if v.is_valid
    }


def begin(
    store: LakeStore,
    *,
    dataset: str,
    day: dt.date,
    partition: str,
    unit: str,
    run_id: str,
    column: str,
    table: pa.Table,
    objects: Sequence[str],
) -> str:
    """Declare that ``objects`` are about to receive ``table``'s rows; returns the intent key.

    ``column`` must be a date or timestamp: it is how a reader tells these rows apart."""
    span = row_range(table, column)
    if span is None:
        raise ValueError(f"{dataset}: rows spread over many objects need a date key, not {column}")
    first, last = span
    key = keys.commit_intent(dataset, day, run_id, partition, unit)
    store.write_json(
        key,
        {
            "dataset": dataset,
            "day": day.isoformat(),
            "partition": partition,
            "run_id": run_id,
            "column": column,
            "first": first,
            "last": last,
            "objects": list(objects),
            "at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    return key


def commit(
    store: LakeStore,
    *,
    dataset: str,
    day: dt.date,
    run_id: str,
    partition: str,
    record: Mapping[str, Any],
) -> None:
    """Write the partition's commit record, then drop this run's intents for it: from now on
    its rows count."""
    store.write_json(keys.commit_record(dataset, day, run_id, partition), dict(record))
    prefix = keys.commit_intent(dataset, day, run_id, partition, "x").rsplit("/", 1)[0]
    for key in store.list(prefix):
        store.delete(key)


def committed(
    store: LakeStore, dataset: str, day: dt.date, run_id: str | None = None
) -> list[dict[str, Any]]:
    """The commit records of ``day`` (of one run, or of every run), oldest run first."""
    prefix = keys.commits_day(dataset, day)
    if run_id is not None:
        prefix = keys.commit_record(dataset, day, run_id, "x").rsplit("/", 1)[0]
    records = [store.read_json(key) for key in store.list(prefix)]
    return sorted((r for r in records if isinstance(r, dict)), key=lambda r: r.get("at", ""))


def span(store: LakeStore, dataset: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the rows the dataset's commits hold; None when it has none.

    Records sit under their run's (or backfill range's first) day, so the first day is the
    earliest folder; a range reaches past its folder, so the last is the latest ``last`` of
    the records filed in the year before the latest folder (a range spans at most 366 days).
    """
    prefix = keys.commits_day(dataset, dt.date(2000, 1, 1)).rsplit("/", 1)[0] + "/"
    by_day: dict[dt.date, list[str]] = {}
    for key in store.list(prefix):
        try:
            day = dt.date.fromisoformat(key[len(prefix) :].split("/", 1)[0])
        except ValueError:
            continue  # intents of publishes in progress
        by_day.setdefault(day, []).append(key)
    if not by_day:
        return None
    latest = max(by_day)
    recent = [k for d, ks in by_day.items() if d >= latest - dt.timedelta(days=366) for k in ks]
    ends = [latest]
    for record in read_all(store.read_json, recent):
        if isinstance(record, dict) and record.get("last"):
            ends.append(dt.date.fromisoformat(str(record["last"])[:10]))
    return min(by_day), max(ends)


def holdings(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """object -> rows the day's commits put there (a later commit of an object wins): what
    the lake holds of that day, whichever runs wrote it."""
    out: dict[str, int] = {}
    for record in records:
        for key, written in (record.get("objects") or {}).items():
            out[key] = int(written["rows"])
    return out


def held_per_day(records: Sequence[Mapping[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """(rows, entities) the lake holds per day from ``records``, as ``runs.summarize`` counts
    rows: a day's one-day commits count the union of the objects they wrote (a re-run adds
    nothing), a backfill range, which knows rows per day but not per object, gives at least
    its own count. Entities: the union of the ones stored when units are gated per entity (a
    company has a TTM and a metrics object), else of the objects (a security has one object
    per day or month, a universe one)."""
    single: dict[str, list[Mapping[str, Any]]] = {}
    ranged: dict[tuple[str, str], int] = {}
    for record in sorted(records, key=lambda r: str(r.get("at", ""))):
        for day, count in (record.get("per_day") or {}).items():
            if record.get("first") == record.get("last") == day or len(record["per_day"]) == 1:
                single.setdefault(day, []).append(record)
            else:
                run = str(record.get("run_id"))
                ranged[(day, run)] = ranged.get((day, run), 0) + int(count)
    rows = {day: sum(holdings(rs).values()) for day, rs in single.items()}
    entities = {day: _entities(rs) for day, rs in single.items()}
    for (day, _), count in ranged.items():
        rows[day] = max(rows.get(day, 0), count)
    return rows, entities


def _entities(records: Sequence[Mapping[str, Any]]) -> int:
    stored = {e for r in records for e in r.get("stored") or ()}
    return len(stored) if stored else len(holdings(records))


def pending(store: LakeStore, dataset: str) -> list[Intent]:
    """Publishes that started and have not committed (live ones, and crashed ones).

    An intent whose commit record of the same run exists is done (the commit was written and
    the task died before removing the intent): it hides nothing.
    """
    found = []
    for key in store.list(keys.pending_prefix(dataset)):
        data = store.read_json(key)
        if not isinstance(data, dict):
            continue
        day = dt.date.fromisoformat(data["day"])
        if store.exists(keys.commit_record(dataset, day, data["run_id"], data["partition"])):
            continue
        found.append(
            Intent(
                key=key,
                dataset=dataset,
                day=data["day"],
                partition=data["partition"],
                run_id=data["run_id"],
                column=data["column"],
                first=data["first"],
                last=data["last"],
                objects=tuple(data["objects"]),
                at=str(data.get("at", "")),
            )
        )
    return found


@dataclass(frozen=True)
class Mask:
    """An uncommitted publish over one object, and the checksums of what commits of the same
    range put there (rows that still match one of them are committed rows, and stay)."""

    intent: Intent
    committed: frozenset[str]


Masks = dict[str, list[Mask]]


def masks(store: LakeStore, dataset: str) -> Masks:
    """object key -> the uncommitted publishes that touched it (usually none at all)."""
    out: Masks = {}
    for intent in pending(store, dataset):
        sums: dict[str, set[str]] = {}
        for record in committed(store, dataset, dt.date.fromisoformat(intent.day)):
            if (record.get("first"), record.get("last")) != (intent.first, intent.last):
                continue
            for key, written in (record.get("objects") or {}).items():
                sums.setdefault(key, set()).add(str(written["sha256"]))
        for key in intent.objects:
            out.setdefault(key, []).append(Mask(intent, frozenset(sums.get(key, ()))))
    return out


def hide_uncommitted(table: pa.Table, key: str, hidden: Masks) -> pa.Table:
    """``table`` (read from ``key``) without the rows an uncommitted publish wrote into it.

    The rows in the publish's range stay when they are exactly what a commit of that range
    put there (the crashed publish had not reached this object, or wrote the same rows);
    otherwise they are hidden until a commit covers them (a crashed re-publish of a committed
    day hides that day of the objects it changed: never a mix of two runs)."""
    for mask in hidden.get(key, ()):
        intent = mask.intent
        values = table.column(intent.column)
        kind = values.type
        first = pa.scalar(_typed(intent.first, kind), kind)
        last = pa.scalar(_typed(intent.last, kind), kind)
        inside = pc.and_(pc.greater_equal(values, first), pc.less_equal(values, last))
        if mask.committed and rows_checksum(table.filter(inside)) in mask.committed:
            continue
        table = table.filter(pc.invert(inside))
    return table


def read_committed(
    store: LakeStore, key: str, hidden: Masks, schema: pa.Schema | None = None
) -> pa.Table | None:
    """The object at ``key`` as readers see it (conformed to ``schema`` when given), without
    the rows of an uncommitted publish; None when there is no such object."""
    table = store.read_table(key)
    if table is None:
        return None
    if schema is not None:
        table = conform(table, schema, key)
    return hide_uncommitted(table, key, hidden)


def _typed(text: str, kind: pa.DataType) -> object:
    if pa.types.is_date(kind):
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def supersede(store: LakeStore, dataset: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Release what crashed publishes hide where a later run's commits (``records``) rewrote
    it: the same objects, within the range those commits wrote, by intents written before
    that run started publishing (a run publishing beside it keeps its intents). An intent
    left with no object is removed. Returns the intents removed or narrowed."""
    covered = holdings(records)
    spans = [(r["first"], r["last"]) for r in records if r.get("first")]
    started = min((str(r.get("started", "")) for r in records), default="")
    if not spans or not started:
        return []
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    released = []
    for intent in pending(store, dataset):
        if not (first <= intent.first and intent.last <= last and intent.at < started):
            continue
        left = [key for key in intent.objects if key not in covered]
        if len(left) == len(intent.objects):
            continue
        data = store.read_json(intent.key)
        if left and isinstance(data, dict):
            store.write_json(intent.key, {**data, "objects": left})
        else:
            store.delete(intent.key)
        released.append(intent.key)
    return released


def verify(store: LakeStore, record: Mapping[str, Any], column: str) -> list[str]:
    """Problems found re-reading a commit's objects: rows of its range that are missing or
    differ from what was committed (empty: the lake holds exactly what was committed)."""
    problems = []
    for key, expected in (record.get("objects") or {}).items():
        table = store.read_table(key)
        if table is None:
            problems.append(f"{key}: missing")
            continue
        values = table.column(column)
        kind = values.type
        first = pa.scalar(_typed(record["first"], kind), kind)
        last = pa.scalar(_typed(record["last"], kind), kind)
        rows = table.filter(pc.and_(pc.greater_equal(values, first), pc.less_equal(values, last)))
        if rows.num_rows != expected["rows"]:
            problems.append(f"{key}: {rows.num_rows} rows, not the {expected['rows']} committed")
        elif rows_checksum(rows) != expected["sha256"]:
            problems.append(
                f"{key}: {rows.num_rows} rows differ from the {expected['rows']} committed"
            )
    return problems
