"""The one runner: ingest and record for any registered dataset (it plans itself).

``ingest`` does fetch -> conform -> audit -> publish for each unit of one partition, commits
the partition (``lake/commits.py``) and returns its result as one JSON-ready dict (what the CLI
prints as its last line and what a task pushes as its XCom, whichever runtime ran it).
``record`` turns a run's commit records into the run's summary: which planned partitions did
not commit whole, which entities were rejected, and what the lake now holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from equity_lake.engine import wap
from equity_lake.engine.dataset import Dataset, Run, Unit
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import conform
from equity_lake.lake.store import LakeStore

log = logging.getLogger(__name__)
#: a partition running longer than this says how far it got, at most this often
PROGRESS_SECONDS = 30.0


class EntitiesRejected(wap.QualityGateFailed):
    """Some entities of a partition failed the gate (each quarantined); the others published."""

    def __init__(self, dataset: Dataset, result: PartitionResult, problems: list[str]) -> None:
        self.result = result
        published = result.entities
        rejected = len(result.rejected)
        reasons = [
            f"{dataset.entity_label} {entity}: {why}"
            for entity, why in sorted(result.rejected.items())
        ]
        super().__init__(
            f"{rejected} of {rejected + published} {dataset.entities} failed the {dataset.name} "
            f"gate and were quarantined ({published} published): "
            + " | ".join([*reasons, *problems])
        )


@dataclass
class PartitionResult:
    """What one partition published, in the dataset's words (see ``as_dict``)."""

    dataset: str
    day: str
    partition: str
    entities: int = 0
    rows: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    missing: list[str] = field(default_factory=list)
    #: entity -> failed expectations of severity warning (kept and published)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    #: entity -> why it was rejected (quarantined)
    rejected: dict[str, str] = field(default_factory=dict)
    #: the entities published (units gated per entity only: e.g. CIKs)
    stored: list[str] = field(default_factory=list)
    #: entities the source had nothing for as of the run's day (an empty unit): accounted for
    empty: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, dataset: Dataset) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "day": self.day,
            "partition": self.partition,
            dataset.entities: self.entities,
            dataset.rows: self.rows,
            "files_written": self.files_written,
            "files_unchanged": self.files_unchanged,
            "missing": self.missing,
            "warnings": self.warnings,
            "rejected": self.rejected,
            **({"stored": self.stored} if self.stored else {}),
            **({"empty": self.empty} if self.empty else {}),
            **self.extra,
        }


def ingest(
    dataset: Dataset,
    store: LakeStore,
    run: Run,
    request: Any,
    *,
    partition: str,
    extra: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    """Fetch, conform, audit and publish every unit of one partition, then commit it; its
    result as a dict. A long partition logs its progress (entities done of ``total`` when
    known, rows, elapsed) every PROGRESS_SECONDS.

    A unit whose dataset reports rejections by entity is quarantined alone and the partition
    fails afterwards (``EntitiesRejected``) naming each, its published part committed as
    incomplete; any other gate failure fails at once and publishes nothing of that unit.
    ``problems`` collects what ``fetch`` could not read.
    """
    result = PartitionResult(dataset.name, run.day.isoformat(), partition, extra=extra or {})
    problems = problems if problems is not None else []
    objects: dict[str, dict[str, Any]] = {}
    span: list[str] = []
    per_day: dict[str, int] = {}
    started = dt.datetime.now(dt.UTC).isoformat()
    progress = _Progress(dataset, partition, total)

    def commit(complete: bool) -> dict[str, Any]:
        summary = result.as_dict(dataset)
        commits.commit(
            store,
            dataset=dataset.name,
            day=run.day,
            run_id=run.run_id,
            partition=partition,
            record={
                **summary,
                "run_id": run.run_id,
                "started": started,
                "at": dt.datetime.now(dt.UTC).isoformat(),
                "complete": complete,
                "problems": list(problems),
                "column": dataset.key_columns[0],
                "first": min(span, default=None),
                "last": max(span, default=None),
                "objects": objects,
                "per_day": per_day,
            },
        )
        return summary

    def publish(unit: Unit, table: pa.Table, key_columns: tuple[str, ...]) -> None:
        """Publish a unit that passed its gate into its target objects, and count it."""
        targets = list(dataset.targets(run, table))
        if len(targets) > 1:  # many objects: not atomic, so declared before the first write
            commits.begin(
                store,
                dataset=dataset.name,
                day=run.day,
                partition=partition,
                unit=unit.name,
                run_id=run.run_id,
                column=key_columns[0],
                table=table,
                objects=[key for key, _ in targets],
            )
        written = wap.publish_targets(store, targets, key_columns, unit.prior, whole=unit.whole)
        if unit.then is not None:
            unit.then()
        for key, rows in targets:
            objects[key] = {"rows": rows.num_rows, "sha256": commits.rows_checksum(rows)}
        span.extend(commits.row_range(table, key_columns[0]) or ())
        # rows per session: by the date key column, else (minutes, facts) all the run's day
        by_day = commits.rows_per_day(table, key_columns[0])
        for day, count in (by_day or {run.day.isoformat(): table.num_rows}).items():
            per_day[day] = per_day.get(day, 0) + count
        if unit.entity is None:
            result.entities += len(targets)
        elif unit.entity not in result.stored:  # an entity of several units counts once
            result.stored.append(unit.entity)
            result.entities += 1
            if unit.entity in result.empty:  # an earlier unit of it had no rows
                result.empty.remove(unit.entity)
        result.rows += table.num_rows
        result.files_written += written
        result.files_unchanged += len(targets) - written
        progress.tick(result)

    def gate(units: list[_Conformed]) -> None:
        """Audit units of one suite together, then publish each; alone when there is one, or
        when together they fail (which one failed is then found, and quarantined alone)."""
        units = [u for u in units if u.unit.entity is None or u.unit.entity not in result.rejected]
        params = _merged_params([u.unit.params for u in units]) if len(units) > 1 else None
        if params is not None:
            name = f"{units[0].unit.name}-to-{units[-1].unit.name}"
            try:
                audited = wap.audit(
                    store,
                    dataset=units[0].suite,
                    batch_key=dataset.batch_key(run, name),
                    table=pa.concat_tables(u.unit.gated(u.table) for u in units),
                    params=params,
                    run_id=run.run_id,
                    day=run.day,
                    partition=name,
                    quarantine=False,
                )
            except wap.QualityGateFailed:
                params = None
            else:
                for u in units:
                    publish(u.unit, u.table, u.key_columns)
                store.delete(audited.staged_key)
                if audited.warnings:
                    result.warnings[name] = list(audited.warnings)
                return
        for u in units:
            if u.unit.entity is not None and u.unit.entity in result.rejected:
                continue  # an entity's later units build on the one its gate rejected
            try:
                audited = wap.audit(
                    store,
                    dataset=u.suite,
                    batch_key=dataset.batch_key(run, u.unit.name),
                    table=u.unit.gated(u.table),
                    params=u.unit.params,
                    run_id=run.run_id,
                    day=run.day,
                    partition=u.unit.name,
                )
            except wap.QualityGateFailed as exc:
                if u.unit.entity is None:
                    if objects:  # earlier units (a range's months) are published: commit them
                        problems.append(f"{u.unit.name} failed its gate: {exc}")
                        commit(complete=False)
                    raise
                result.rejected[u.unit.entity] = str(exc)
                if u.unit.entity in result.stored:  # an earlier unit of it published
                    result.stored.remove(u.unit.entity)
                    result.entities -= 1
                continue
            publish(u.unit, u.table, u.key_columns)
            store.delete(audited.staged_key)
            if audited.warnings:
                result.warnings[u.unit.entity or u.unit.name] = list(audited.warnings)

    def flush() -> None:
        """Gate the waiting entity units, a suite at a time in the order the suites came (a
        company's TTM before its metrics: a rejected TTM skips its metrics)."""
        for suite in dict.fromkeys(u.suite for u in waiting):
            gate([u for u in waiting if u.suite == suite])
        waiting.clear()

    waiting: list[_Conformed] = []
    for unit in dataset.fetch(store, run, request, result.missing):
        if unit.entity is not None and unit.entity in result.rejected:
            continue  # an entity's later units build on the one its gate rejected
        schema, suite, key_columns = _shape(dataset, unit)
        table = conform(unit.table, schema, f"{suite} {unit.name}")
        if unit.entity is not None and table.num_rows == 0:
            if unit.entity not in result.empty and unit.entity not in result.stored:
                result.empty.append(unit.entity)
            continue
        conformed = _Conformed(unit, table, suite, key_columns)
        if unit.entity is None:
            flush()
            gate([conformed])
            continue
        waiting.append(conformed)
        if len({u.unit.entity for u in waiting}) > dataset.gate_batch:
            last = waiting.pop()  # the first unit of the next batch's first entity
            flush()
            waiting.append(last)
    flush()
    progress.tick(result, last=True)
    summary = commit(complete=not (result.rejected or problems))
    if result.rejected:
        raise EntitiesRejected(dataset, result, problems)
    return summary


class _Progress:
    """What a long partition has done so far, logged at a readable rate (a task log shows a
    year's consolidation or a bulk backfill moving, not one line per unit)."""

    def __init__(self, dataset: Dataset, partition: str, total: int | None) -> None:
        self.dataset, self.partition, self.total = dataset, partition, total
        self.started = self.said = time.monotonic()
        self.last: tuple[int, int] = (0, 0)

    def tick(self, result: PartitionResult, *, last: bool = False) -> None:
        """Log after each PROGRESS_SECONDS; ``last``: the final figures, if the partition
        ran long enough to have logged and they changed since."""
        now = time.monotonic()
        figures = (result.entities, result.rows)
        if last:
            if now - self.started < PROGRESS_SECONDS or figures == self.last:
                return
        elif now - self.said < PROGRESS_SECONDS:
            return
        self.said, self.last = now, figures
        of = f" of {self.total:,}" if self.total else ""
        log.info(
            "%s %s: %s%s %s published, %s %s%s, %.0f s",
            self.dataset.name,
            self.partition,
            f"{result.entities:,}",
            of,
            self.dataset.entities,
            f"{result.rows:,}",
            self.dataset.rows,
            f", {len(result.rejected)} rejected" if result.rejected else "",
            now - self.started,
        )


@dataclass(frozen=True)
class _Conformed:
    """A fetched unit conformed to its schema, waiting for its gate."""

    unit: Unit
    table: pa.Table
    suite: str
    key_columns: tuple[str, ...]


def _merged_params(each: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The suite parameters of units gated together: list values (the units' CIKs) joined,
    others equal in all; None when they cannot be (the units are then gated alone)."""
    merged: dict[str, Any] = {}
    for params in each:
        if set(params) != set(each[0]):
            return None
        for key, value in params.items():
            if isinstance(value, list | tuple):
                merged.setdefault(key, [])
                merged[key] += [v for v in value if v not in merged[key]]
            elif merged.setdefault(key, value) != value:
                return None
    return merged


def _shape(dataset: Dataset, unit: Unit) -> tuple[pa.Schema, str, tuple[str, ...]]:
    """(schema, suite, key columns) of a unit: its kind's, else the dataset's own."""
    if unit.kind is None:
        return dataset.schema, dataset.name, tuple(dataset.key_columns)
    if unit.kind.key_columns[0] != dataset.key_columns[0]:
        raise ValueError(
            f"{dataset.name}: a {unit.kind.suite} unit is keyed first by "
            f"{unit.kind.key_columns[0]}, the dataset by {dataset.key_columns[0]}"
        )
    return unit.kind.schema, unit.kind.suite, unit.kind.key_columns


def record(
    dataset: Dataset,
    store: LakeStore,
    run: Run,
    *,
    planned: list[str],
    expected: Mapping[str, int | None] | None = None,
    days: Mapping[str, dt.date | None] | None = None,
    notes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary, from what the lake holds: the commit records of its partitions.

    A planned partition counts as failed when this run committed nothing for it, when its
    commit is incomplete (entities rejected by the gate: what passed is counted), or when
    the entities it accounts for (published, missing at the source, rejected, empty) are not the
    ``expected`` number the plan gave it; ``problems`` says which, and why. A partition's
    commit is looked up under its ``days`` entry (a backfill range's first session), else
    under the run's day.
    """
    days = {name: day for name, day in (days or {}).items() if day is not None}
    records = {}
    for day in {days.get(name, run.day) for name in planned}:
        for rec in commits.committed(store, dataset.name, day, run.run_id):
            if days.get(rec["partition"], run.day) == day:
                records[rec["partition"]] = rec
    expected = expected or {}
    counted, problems = [], {}
    for name in planned:
        rec = records.get(name)
        if rec is None:
            problems[name] = "not committed by this run"
            continue
        counted.append(rec)
        accounted = (
            int(rec.get(dataset.entities, 0))
            + len(rec.get("missing") or [])
            + len(rec.get("rejected") or {})
            + len(rec.get("empty") or [])
        )
        want = expected.get(name)
        if not rec.get("complete", True):
            reasons = (
                [f"{len(rec['rejected'])} {dataset.entities} rejected"]
                if rec.get("rejected")
                else []
            )
            problems[name] = "; ".join([*reasons, *(rec.get("problems") or [])]) or "incomplete"
        elif want is not None and accounted != want:
            problems[name] = (
                f"committed {accounted} {dataset.entities} (published, missing or rejected), "
                f"planned {want}"
            )
    summary: dict[str, Any] = {
        "dataset": dataset.name,
        "day": run.day.isoformat(),
        "run_id": run.run_id,
        "chunks": len(planned),
        dataset.entities: sum(int(r.get(dataset.entities, 0)) for r in counted),
        dataset.rows: sum(int(r.get(dataset.rows, 0)) for r in counted),
        "files_written": sum(int(r.get("files_written", 0)) for r in counted),
        "files_unchanged": sum(int(r.get("files_unchanged", 0)) for r in counted),
        "missing": sorted({m for r in counted for m in r.get("missing") or []}),
        "failed_partitions": [p for p in planned if p in problems],
        "problems": problems,
        "rejected": {e: why for r in counted for e, why in (r.get("rejected") or {}).items()},
        "warnings": {e: w for r in counted for e, w in (r.get("warnings") or {}).items()},
    }
    stored = sorted({e for r in counted for e in r.get("stored") or []})
    if stored:
        summary["stored"] = stored
    if not problems:  # crashed publishes of this day that this run rewrote whole are moot
        summary["superseded"] = len(commits.supersede(store, dataset.name, list(records.values())))
    summary.update(dataset.recorded(store, run, summary, notes or {}))
    # a backfill range is recorded under its first day, beside its commits, never over the
    # summary of the session whose run started it
    filed = min(days.values(), default=run.day)
    summary["day"] = filed.isoformat()
    if notes and notes.get("backfill"):
        summary["backfill"] = notes["backfill"]
    store.write_json(keys.run_summary(dataset.name, filed), summary)
    return summary
