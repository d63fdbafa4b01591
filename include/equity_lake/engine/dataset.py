"""What a dataset declares to the engine, once, and the registry that holds the declarations.

A dataset is a module that builds one object satisfying :class:`Dataset` and registers it
(``register(MyDataset())``), in the way ``quality/suites.py`` registers suites or dlt declares
resources. The runner (``engine/runner.py``) does the rest for every dataset alike: plan the
run's partitions, fetch each partition's units, conform them to the schema, gate each unit with
the dataset's expectation suite, publish its rows into their target objects, and record the run.

The gate's unit is the dataset's choice: a chunk of daily bars is gated whole (one unit per
partition), a chunk of companies' facts one company at a time (one unit per company), so one
company's problem never holds back another's facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa

from equity_lake.lake.store import LakeStore

#: how a run's logical date maps onto the day it covers (read by the Airflow glue)
RunDay = Literal["nyse_session", "filing_day", "year_end"]
#: the source settings a task may receive besides the lake's
Service = Literal["alpaca", "wrds", "sec"]


@dataclass(frozen=True)
class Run:
    """One run of a dataset: the day it covers, its id, and its parameters."""

    day: dt.date
    run_id: str
    params: Mapping[str, Any] = field(default_factory=dict)


def date_range(params: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    """The run's ``start``/``end`` params as dates (either may be None); start <= end."""
    start, end = (_date(params.get(k), k) for k in ("start", "end"))
    if start and end and start > end:
        raise ValueError(f"start {start} is after end {end}")
    return start, end


def _date(value: Any, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def range_argv(start: dt.date | None, end: dt.date | None) -> list[str]:
    """``--start``/``--end`` options of a partition's command, for the bounds given."""
    argv = ["--start", start.isoformat()] if start else []
    return argv + (["--end", end.isoformat()] if end else [])


@dataclass(frozen=True)
class Partition:
    """A unit of work of a run: what one mapped task (or one container) ingests."""

    #: a slug, unique in the run: names its staging, quarantine and result objects
    name: str
    #: what the Airflow UI shows for the mapped instance
    label: str
    #: the CLI command that ingests it, whichever runtime runs it
    argv: tuple[str, ...]
    #: the source settings the task needs besides the lake's
    services: tuple[Service, ...] = ()
    #: how many entities it covers: the record step checks that each is accounted for
    expected: int | None = None
    #: the day its commit is recorded under, when not the run's (a backfill range's first)
    day: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "partition": self.name,
            "label": self.label,
            "argv": list(self.argv),
            "services": list(self.services),
            "expected": self.expected,
            "day": None if self.day is None else self.day.isoformat(),
        }


@dataclass
class Plan:
    """A run's partitions, and what the planner found worth recording (e.g. a discovery)."""

    partitions: list[Partition]
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """Rows of another shape than the dataset's own, which one partition may also write
    (derived metrics write each company's TTM beside its metrics): their schema, the suite
    that gates them and what identifies a row. The first key column must be the dataset's
    (the commit record spans one column)."""

    schema: pa.Schema
    suite: str
    key_columns: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """Fetched rows that are gated on their own, with the suite's parameters."""

    #: the partition name of its validation result and quarantine object
    name: str
    table: pa.Table
    params: dict[str, Any]
    #: the entity a rejection is reported under (a CIK), or None: a rejection fails the task
    entity: str | None = None
    #: columns the gate validates beside the rows, row for row (e.g. each bar's previous bar):
    #: staged and quarantined with them, never published
    context: pa.Table | None = None
    #: objects read while building the unit, as (bytes or None, version): the publish starts
    #: from these instead of reading them again (a checked write re-reads a changed one)
    prior: Mapping[str, tuple[bytes | None, str]] = field(default_factory=dict)
    #: None: the dataset's own rows; else rows of that kind (schema, suite, key columns)
    kind: Kind | None = None
    #: True when the rows are their object's whole content, rebuilt from the lake each run (a
    #: universe's periods): the object is replaced, so a period that no longer holds goes
    whole: bool = False
    #: what to do once the unit is published, before its partition commits (consolidation:
    #: re-read what was published, then delete the objects it folded); raising fails it
    then: Callable[[], None] | None = None

    def gated(self, rows: pa.Table) -> pa.Table:
        """``rows`` (the unit's table conformed to the schema) with the context columns after
        them: what the gate validates."""
        return with_context(rows, self.context)


def with_context(rows: pa.Table, context: pa.Table | None) -> pa.Table:
    """``rows`` followed by the columns of ``context`` (same length, same order)."""
    if context is None:
        return rows
    if context.num_rows != rows.num_rows:
        raise ValueError(f"context has {context.num_rows} rows for {rows.num_rows}")
    for name, column in zip(context.column_names, context.columns, strict=True):
        rows = rows.append_column(context.schema.field(name), column)
    return rows


class Dataset(Protocol):
    """The declaration of a dataset: everything the engine needs to run it."""

    #: the dataset's name: its CLI name, its suite's name, its key prefix in quality results
    name: str
    schema: pa.Schema
    #: the columns that identify a row inside a target object (merge, not clobber)
    key_columns: tuple[str, ...]
    #: what a counted entity is called in results ("securities", "companies")
    entities: str
    #: what names one rejected entity in messages ("CIK" -> "CIK 0000320193: ...")
    entity_label: str
    #: what a row is called in results ("rows", "facts")
    rows: str
    run_day: RunDay
    #: False when a run builds on the previous run's bookkeeping (a watermark): runs then take
    #: turns through the run lease (``engine/lease.py``), whatever started them
    overlapping: bool
    #: how many entities' units one validation may gate together (1: each alone); when
    #: together they fail, each is gated again alone, so only the failing ones are rejected
    gate_batch: int

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        """The source settings a task of a run with ``params`` needs besides the lake's."""
        ...

    def plan(self, store: LakeStore, run: Run) -> Plan:
        """The run's partitions (resolved universe, chunks, discovery)."""
        ...

    def fetch(self, store: LakeStore, run: Run, request: Any, missing: list[str]) -> Iterator[Unit]:
        """The units of one partition (``request`` is what the CLI parsed for it); appends
        entities the source does not know to ``missing``."""
        ...

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        """The objects a gated unit is merged into: (key, its rows)."""
        ...

    def batch_key(self, run: Run, unit: str) -> str:
        """The key a unit is staged and quarantined under."""
        ...

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        """Dataset-specific bookkeeping once a run is counted (e.g. advance a watermark);
        returns fields to add to the run's summary. ``notes`` are the plan's."""
        ...


_REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Declare a dataset to the engine (once, at import of its module)."""
    if dataset.name in _REGISTRY:
        raise ValueError(f"dataset {dataset.name!r} is already registered")
    _REGISTRY[dataset.name] = dataset
    return dataset


def get(name: str) -> Dataset:
    """The registered dataset called ``name``; an unknown name lists the known ones.

    Datasets register when their module is imported: ``equity_lake.datasets`` imports them all.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"unknown dataset {name!r} (known: {known})") from None


def names() -> list[str]:
    return sorted(_REGISTRY)
