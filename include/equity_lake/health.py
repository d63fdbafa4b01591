"""The lake-health page: what each dataset holds, how fresh it is, and how its gates went.

The page is rebuilt at the end of every DAG run (the record step) and by ``equity-lake
health``, on S3 lakes of over a million objects, so its figures come only from the lake's
metadata of a bounded window (the last ``WINDOW`` NYSE sessions), never from a listing of
the data:

- rows, securities and objects per day: the commit records of the window's days
  (``lake/commits.py``), counted as ``runs.summarize`` counts them (what the lake holds);
- coverage: those securities against the security master's active universe of each day;
- validations: the names of the stored gate results of the window's days (one per gated
  partition), failures from the quarantine's validation records, warnings from the commits;
- bytes: the sizes of a few sampled objects the window's commits wrote, scaled up (commits
  record rows and checksums, not sizes);
- the security master's counts, from its periods (delisted securities stay in it).

This module gathers those figures into plain data (``gather``); ``health_page`` renders and
publishes them.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.engine.dataset import Dataset
from equity_lake.lake import commits, keys
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

#: sessions the page looks back over: each adds a few small listings and reads per dataset
WINDOW = 60
#: objects whose sizes are read to estimate a dataset's bytes (one HEAD each on S3)
SIZE_SAMPLE = 24
#: months of security-master counts shown
MASTER_MONTHS = 36
_DAY = re.compile(r"/(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class Latest:
    """The latest day a dataset committed rows, and the partitions committed for it."""

    day: str
    partitions: tuple[str, ...]
    run_id: str


@dataclass
class DatasetHealth:
    """One dataset's figures over the window; per-day maps are keyed by ISO day."""

    name: str
    run_day: str
    entities: str
    rows_word: str
    days: list[str]
    latest: Latest | None = None
    #: the latest day the dataset has metadata for, when nothing was committed in the window
    recorded: str | None = None
    #: sessions after the latest committed day up to the last complete session
    behind: list[str] = field(default_factory=list)
    #: sessions of the window with no commit (session datasets only)
    gaps: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    securities: dict[str, int] = field(default_factory=dict)
    #: day -> (securities published, securities the master lists as active)
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: day -> (passed, failed, warnings)
    validations: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    #: the warning lines of the window's commits (``quality.gate.describe_failure``)
    warnings: list[str] = field(default_factory=list)
    objects: int = 0
    rows_held: int = 0
    bytes_estimate: int | None = None
    sampled: int = 0


@dataclass(frozen=True)
class Quarantined:
    """A partition the gate rejected, and where its validation page is."""

    dataset: str
    day: str
    partition: str
    run: str
    failures: tuple[str, ...]
    #: the Data Docs validation page, relative to the docs' root; None when the site has none
    page: str | None
    #: its validation is the partition's stored one (no later run validated it again)
    current: bool
    #: a later run of the partition passed its gate
    resolved: bool


@dataclass(frozen=True)
class MasterCounts:
    """The security master's counts at month ends: listed that day, delisted and ticker
    changes by then."""

    days: list[str]
    listed: list[int]
    delisted: list[int]
    renamed: list[int]


@dataclass
class Health:
    """Everything the page shows."""

    lake: str
    built_at: str
    #: the window's first and last session, and how many sessions it holds
    window: tuple[str, str, int]
    last_complete: str
    datasets: list[DatasetHealth]
    quarantined: list[Quarantined]
    #: (expectation, severity, partitions) most frequent first
    ranked: list[tuple[str, str, int]]
    master: MasterCounts | None
    master_note: str = ""
    listings: int = 0
    reads: int = 0
    seconds: float = 0.0


class _Meter:
    """Counts the store calls the page costs (shown on the page and in tests)."""

    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.listings = 0
        self.reads = 0

    def list(self, prefix: str) -> list[str]:
        self.listings += 1
        return self.store.list(prefix)

    def read_json(self, key: str) -> Any:
        self.reads += 1
        return self.store.read_json(key)

    def list_days(
        self, prefix_of: Callable[[dt.date], str], days: Sequence[dt.date]
    ) -> dict[str, list[str]]:
        """ISO day -> keys under ``prefix_of(day)`` of each of ``days`` (listed at once)."""
        found = read_all(lambda d: self.list(prefix_of(d)), list(days))
        return {d.isoformat(): ks for d, ks in zip(days, found, strict=True) if ks}

    def folders(self, prefix: str) -> list[str]:
        self.listings += 1
        return self.store.folders(prefix)

    def read_many(self, keys_: list[str]) -> list[Any]:
        return read_all(self.read_json, keys_)

    def size(self, key: str) -> int | None:
        self.reads += 1
        return self.store.size(key)

    def exists(self, key: str) -> bool:
        self.reads += 1
        return self.store.exists(key)


def gather(
    store: LakeStore,
    *,
    now: dt.datetime | None = None,
    window: int = WINDOW,
) -> Health:
    """The page's figures. ``now`` (the clock, by default) only measures freshness: the page
    describes the lake when it is built, not a run's day. The window ends on the latest day
    any dataset has metadata for (so a lake last fed months ago still shows its last weeks),
    else on the last complete session."""
    from equity_lake import datasets

    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    meter = _Meter(store)
    specs = [datasets.get(n) for n in datasets.names()]
    known = {spec.name: _known_days(meter, spec.name) for spec in specs}
    complete = last_complete_session(now)
    end = _window_end([d for k in known.values() for d in k.all()], complete)
    sessions = _sessions_before(end, window)
    master, master_note = _master(store)
    quarantined = _quarantined(meter, sessions)
    health = Health(
        lake=store.config.uri,
        built_at=now.isoformat(timespec="seconds"),
        window=(sessions[0].isoformat(), sessions[-1].isoformat(), len(sessions)),
        last_complete=complete.isoformat(),
        datasets=[
            _dataset_health(meter, spec, sessions, known[spec.name], master, complete)
            for spec in specs
        ],
        quarantined=quarantined,
        ranked=[],
        master=None if master is None else master_counts(master, end),
        master_note=master_note,
    )
    _count_failures(health)
    warned = [line for d in health.datasets for line in d.warnings]
    health.ranked = rank_expectations(health.quarantined, warned)
    health.listings, health.reads = meter.listings, meter.reads
    health.seconds = round(time.perf_counter() - started, 3)
    return health


def last_complete_session(now: dt.datetime) -> dt.date:
    """The latest session whose close has passed at ``now``."""
    today = now.astimezone(dt.UTC).date()
    if calendar.is_session(today) and calendar.session_close_utc(today) <= now:
        return today
    return calendar.previous_session(today)


def _sessions_before(end: dt.date, count: int) -> list[dt.date]:
    """The last ``count`` sessions on or before ``end``, oldest first."""
    start = max(calendar.FIRST_SESSION, end - dt.timedelta(days=count * 7 // 4 + 10))
    return calendar.sessions_between(start, end)[-count:]


def _window_end(days: list[dt.date], complete: dt.date) -> dt.date:
    past = [d for d in days if d <= complete]
    if not past:
        return complete
    latest = max(past)
    return latest if calendar.is_session(latest) else calendar.previous_session(latest)


@dataclass(frozen=True)
class _Known:
    """The days a dataset has metadata for, from names alone: its commit folders and gate
    result folders (one delimited listing each: a line per day, not per object) and its run
    summaries (one small object per recorded day)."""

    committed: frozenset[dt.date]
    validated: frozenset[dt.date]
    recorded: frozenset[dt.date]

    def all(self) -> list[dt.date]:
        return sorted(self.committed | self.validated | self.recorded)


def _known_days(meter: _Meter, dataset: str) -> _Known:
    commits_root = keys.commits_day(dataset, dt.date(2000, 1, 1)).rsplit("/", 1)[0]
    summaries = keys.run_summary(dataset, dt.date(2000, 1, 1)).rsplit("/", 1)[0]
    recorded = (k.rsplit("/", 1)[1].removesuffix(".json") for k in meter.list(summaries))
    return _Known(
        committed=frozenset(_dates(meter.folders(commits_root))),
        validated=frozenset(_dates(meter.folders(keys.quality_results_prefix(dataset)))),
        recorded=frozenset(_dates(recorded)),
    )


def _dates(names: Iterable[str]) -> list[dt.date]:
    """The ISO dates among ``names`` (a run lease, the pending intents' folder are not)."""
    out = []
    for name in names:
        try:
            out.append(dt.date.fromisoformat(name))
        except ValueError:
            continue
    return out


def _window_days(spec: Dataset, sessions: list[dt.date], known: _Known) -> list[dt.date]:
    """The days the page charts: the window's sessions, every calendar day of it for datasets
    filed by day (filings come any day), the year ends of the yearly consolidation."""
    if spec.run_day == "nyse_session":
        return sessions
    if spec.run_day == "year_end":
        return [d for d in known.all() if d.year >= sessions[0].year - 1]
    first, last = sessions[0], sessions[-1]
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _dataset_health(
    meter: _Meter,
    spec: Dataset,
    sessions: list[dt.date],
    known: _Known,
    master: SecurityMaster | None,
    complete: dt.date,
) -> DatasetHealth:
    days = _window_days(spec, sessions, known)
    out = DatasetHealth(spec.name, spec.run_day, spec.entities, spec.rows, [])
    out.days = [d.isoformat() for d in days]
    committed = [d for d in days if d in known.committed]
    listed = meter.list_days(lambda d: keys.commits_day(spec.name, d), committed)
    records = [
        r
        for r in meter.read_many(sorted(k for ks in listed.values() for k in ks))
        if isinstance(r, dict)
    ]
    out.rows, out.securities = commits.held_per_day(records)
    out.latest = latest_commit(records)
    if out.latest is None and known.all():
        out.recorded = known.all()[-1].isoformat()
    _freshness(out, min(known.all(), default=None), complete, master)
    results = meter.list_days(
        lambda d: f"{keys.quality_results_prefix(spec.name)}/{d}",
        [d for d in days if d in known.validated],
    )
    warned: Counter[str] = Counter()
    for record in records:
        for lines in (record.get("warnings") or {}).values():
            warned[str(record.get("day"))] += len(lines)
            out.warnings += lines
    out.validations = {d: (len(ks), 0, warned[d]) for d, ks in results.items()}
    objects = sorted(commits.holdings(records))
    out.objects, out.rows_held = len(objects), sum(out.rows.values())
    out.bytes_estimate, out.sampled = _estimate_bytes(meter, objects)
    return out


def latest_commit(records: Sequence[Mapping[str, Any]]) -> Latest | None:
    """The latest day of ``records`` and what its last run committed for it."""
    if not records:
        return None
    day = max(str(r.get("day")) for r in records)
    of_day = [r for r in records if str(r.get("day")) == day]
    run = str(max(of_day, key=lambda r: str(r.get("at", "")))["run_id"])
    parts = sorted({str(r["partition"]) for r in of_day if r.get("run_id") == run})
    return Latest(day, tuple(parts), run)


def _freshness(
    out: DatasetHealth,
    first: dt.date | None,
    complete: dt.date,
    master: SecurityMaster | None,
) -> None:
    """Sessions missing after the latest day, and for session datasets the window's sessions
    without rows and the coverage of each, from the dataset's ``first`` day on (a session
    before it is not missing: the dataset did not exist yet)."""
    latest = out.latest.day if out.latest else out.recorded
    if out.run_day == "year_end" or not latest or first is None:
        return
    since = dt.date.fromisoformat(latest)
    out.behind = [d.isoformat() for d in calendar.sessions_between(since, complete)[1:]]
    if out.run_day != "nyse_session" or not out.rows:
        return
    fed = [d for d in out.days if first.isoformat() <= d <= latest]
    out.gaps = [d for d in fed if d not in out.rows]
    if master is not None and out.entities == "securities":
        out.coverage = {
            d: (out.securities.get(d, 0), master.active_on(dt.date.fromisoformat(d)).num_rows)
            for d in fed
        }


def _estimate_bytes(meter: _Meter, objects: list[str]) -> tuple[int | None, int]:
    """(estimated bytes of ``objects``, how many were sized): every n-th object's size,
    scaled up; None when none could be sized."""
    if not objects:
        return None, 0
    step = max(1, len(objects) // SIZE_SAMPLE)
    sizes = [n for n in read_all(meter.size, objects[::step][:SIZE_SAMPLE]) if n is not None]
    if not sizes:
        return None, 0
    return round(sum(sizes) / len(sizes) * len(objects)), len(sizes)


def _quarantined(meter: _Meter, sessions: list[dt.date]) -> list[Quarantined]:
    """The partitions the gate rejected in the window, from the quarantine's validation
    records (one per rejected batch; the quarantine grows with failures, not with the lake),
    each with its Data Docs page when the site has it."""
    from equity_lake.quality.docs import validation_page

    first = sessions[0].isoformat()
    wanted = [
        k
        for k in meter.list(keys.QUARANTINE_PREFIX)
        if k.endswith(".validation.json")
        and not k.startswith(f"{keys.QUARANTINE_PREFIX}/corrupt/")
        and (m := _DAY.search(k)) is not None
        and m.group(1) >= first
    ]
    found = []
    for key, record in zip(wanted, meter.read_many(wanted), strict=True):
        if not isinstance(record, dict) or not isinstance(record.get("result"), dict):
            continue
        result = record["result"]
        run = _run_name(result)
        stored = meter.read_json(
            keys.quality_result(
                record["dataset"], dt.date.fromisoformat(record["day"]), record["partition"]
            )
        )
        current = isinstance(stored, dict) and _run_name(stored) == run
        page = validation_page(dict(result))
        exists = current and meter.exists(f"{keys.DATA_DOCS_PREFIX}/{page}")
        found.append(
            Quarantined(
                dataset=str(record["dataset"]),
                day=str(record["day"]),
                partition=str(record["partition"]),
                run=run or key.split("/")[2],
                failures=tuple(record.get("failures") or ()),
                page=page if exists else None,
                current=current,
                resolved=isinstance(stored, dict) and not current and bool(stored.get("success")),
            )
        )
    return sorted(found, key=lambda q: (q.day, q.dataset, q.partition), reverse=True)


def _run_name(result: Mapping[str, Any]) -> str:
    return str(((result.get("meta") or {}).get("equity_lake") or {}).get("run_name", ""))


def docs_link(page: str) -> str:
    """``page`` (relative to the Data Docs root) as a link from the health page."""
    root = posixpath.relpath(keys.DATA_DOCS_PREFIX, posixpath.dirname(keys.HEALTH_PAGE))
    return f"{root}/{quote(page)}"


def _count_failures(health: Health) -> None:
    """Move each still-failing quarantined partition (its failed validation is the stored one)
    from passed to failed in its day's validations: a stored result that failed is always
    quarantined, so the others passed."""
    by_name = {d.name: d for d in health.datasets}
    for q in health.quarantined:
        spec = by_name.get(q.dataset)
        if spec is None or not q.current:
            continue
        passed, failed, warned = spec.validations.get(q.day, (1, 0, 0))
        spec.validations[q.day] = (max(passed - 1, 0), failed + 1, warned)


def rank_expectations(
    quarantined: Sequence[Quarantined], warnings: Iterable[str] = ()
) -> list[tuple[str, str, int]]:
    """(expectation, severity, partitions) most frequent first: failed expectations of the
    quarantined partitions, and warnings. A failure line is ``expectation(subject): detail``
    (``quality.gate.describe_failure``); its counts are dropped so equal failures group."""
    counts: Counter[tuple[str, str]] = Counter()
    for q in quarantined:
        for head in {line.split(": ", 1)[0] for line in q.failures}:
            counts[(head, "critical")] += 1
    for line in warnings:
        counts[(line.split(": ", 1)[0], "warning")] += 1
    return [(head, sev, n) for (head, sev), n in counts.most_common()]


def _master(store: LakeStore) -> tuple[SecurityMaster | None, str]:
    try:
        return SecurityMaster.load(store), ""
    except ValueError as exc:  # no master yet: the page says so instead of failing the run
        return None, str(exc)


def master_counts(
    master: SecurityMaster, end: dt.date, months: int = MASTER_MONTHS
) -> MasterCounts:
    """Listed, delisted and renamed securities at each month end up to ``end`` (and on
    ``end``), from the master's periods: a security's periods are its tickers, so each period
    after its first is a ticker change, and it is delisted once its last period has ended."""
    import numpy as np

    periods = pa.table(
        {
            "sid": master.table.column("security_id"),
            "start": pc.cast(master.table.column("start_date"), pa.int32()),
            "end": pc.fill_null(pc.cast(master.table.column("end_date"), pa.int32()), 2**31 - 1),
        }
    ).sort_by([("sid", "ascending"), ("start", "ascending")])
    spans = periods.group_by("sid").aggregate([("start", "min"), ("end", "max")])
    first = np.sort(spans.column("start_min").to_numpy())
    last = np.sort(spans.column("end_max").to_numpy())
    sid, start = periods.column("sid").to_numpy(), periods.column("start").to_numpy()
    changes = np.sort(start[1:][sid[1:] == sid[:-1]])
    days = _month_ends(end, months)
    points = np.array([(d - dt.date(1970, 1, 1)).days for d in days])
    delisted = np.searchsorted(last, points, "left")
    return MasterCounts(
        days=[d.isoformat() for d in days],
        listed=(np.searchsorted(first, points, "right") - delisted).tolist(),
        delisted=delisted.tolist(),
        renamed=np.searchsorted(changes, points, "right").tolist(),
    )


def _month_ends(end: dt.date, months: int) -> list[dt.date]:
    """``end`` and the ``months`` month ends before it, oldest first."""
    out = [end]
    day = end.replace(day=1) - dt.timedelta(days=1)
    while len(out) <= months:
        out.append(day)
        day = day.replace(day=1) - dt.timedelta(days=1)
    return out[::-1]
