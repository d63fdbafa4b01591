"""Fundamentals: each company's EDGAR facts, merged into ``data/raw/fundamental/{cik}/...``.

A daily run for filing day ``D``:

1. *discover* the companies with a new or amended 10-K/10-Q (or 20-F/40-F) filed since the
   last successful run: from EDGAR's daily index for the whole market, or from each listed
   company's submissions when the run is limited to a list of CIKs (a company not yet in the
   lake is always due);
2. split them into chunks; for each chunk *fetch* every company's companyfacts (a 404 marks
   the company missing, it does not fail the run), keep the facts filed on or before ``D``,
   then for each company on its own *audit* its facts with the ``fundamentals`` suite and
   *publish* by merging into its file (stored facts are never dropped; an unchanged file is
   not rewritten). The gate's unit is one company: a company that fails is quarantined alone
   with its validation result, the others publish, and the chunk then fails naming exactly
   the companies rejected and why;
3. *record* the run (with the rejected companies) and advance the watermark, only if every
   chunk succeeded, so a rejected company stays due.

The backfill reads the nightly ``companyfacts.zip`` entry by entry through the same
normalisation, per-company gate and merge, one company at a time.

The watermark (``keys.FUNDAMENTALS_STATE``) remembers the last day a whole-market run covered
(``all``) and, per CIK, the last day a run limited to a list covered that company.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from equity_lake.engine import lease, runner, wap
from equity_lake.engine.chunks import ChunkRule, bounds, partition_name
from equity_lake.engine.dataset import Partition, Plan, Run, Service, Unit, register
from equity_lake.fundamentals import bulk
from equity_lake.fundamentals.normalize import CompanyFactsError, known_by, normalize
from equity_lake.lake import keys
from equity_lake.lake.schemas import FUNDAMENTALS
from equity_lake.lake.store import LakeStore
from equity_lake.sources.http import NotFound
from equity_lake.sources.sec import SecClient, filings_from_submissions, fundamental_filings

log = logging.getLogger(__name__)

DATASET = "fundamentals"
#: a fact of a filing: the same value restated by a later filing is another key
KEY_COLUMNS = ("taxonomy", "tag", "unit", "end", "start", "accn")
DEFAULT_CHUNK_SIZE = 25
MIN_CHUNK_SIZE = 1
MAX_CHUNK_SIZE = 1000
MAX_CHUNKS = 500
CHUNKS = ChunkRule(min_size=MIN_CHUNK_SIZE, max_size=MAX_CHUNK_SIZE, max_chunks=MAX_CHUNKS)
#: beyond this many days since the last run, the daily index is the wrong tool: backfill
MAX_INDEX_DAYS = 92


@dataclass(frozen=True)
class ChunkPlan:
    """The i-th of n chunks of the companies due in a run."""

    index: int
    count: int
    ciks: tuple[str, ...]

    @property
    def partition(self) -> str:
        return partition_name(self.index, self.count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}: {self.ciks[0]}..{self.ciks[-1]} ({len(self.ciks)})"

    def argv(self, day: dt.date, run_id: str) -> list[str]:
        """The CLI command that ingests this chunk, whichever runtime runs it."""
        return [
            "ingest",
            "fundamentals",
            "--date",
            day.isoformat(),
            "--ciks",
            ",".join(self.ciks),
            "--partition",
            self.partition,
            "--run-id",
            run_id,
        ]


@dataclass
class Discovery:
    """Which companies a run must fetch, and why the others need not be."""

    day: str
    scope: str
    since: str | None
    due: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    checked: int = 0
    index_days: int = 0


def parse_ciks(text: str | Iterable[str] | None) -> list[str] | None:
    """``"320193, 0001652044"`` (or a list) -> sorted 10-digit CIKs; empty means all."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    ciks = sorted({keys.cik(str(p).strip()) for p in parts if str(p).strip()})
    return ciks or None


# --- watermark ----------------------------------------------------------------------------


def load_state(store: LakeStore) -> dict:
    return _state(store.read_json(keys.FUNDAMENTALS_STATE))


def _state(state: object) -> dict:
    if not isinstance(state, dict):
        state = {}
    state.setdefault("all", None)
    state.setdefault("ciks", {})
    state.setdefault("pending", {})
    return state


def covered_through(state: dict, cik: str | None = None) -> dt.date | None:
    """The last filing day whose filings are known to be in the lake (for ``cik``)."""
    days = [state.get("all")]
    if cik is not None:
        days.append(state["ciks"].get(cik))
    known = [dt.date.fromisoformat(d) for d in days if d]
    return max(known) if known else None


def advance_watermark(
    store: LakeStore,
    day: dt.date,
    ciks: list[str] | None,
    run_id: str,
    *,
    not_stored: Iterable[str] = (),
    stored: Iterable[str] = (),
) -> dict:
    """Remember that every filing up to ``day`` is in (for ``ciks``, or for the market),
    except for the companies that were due and ``not_stored`` (EDGAR answered 404, or the gate
    rejected them): they stay due (``pending``) until a run stores them.

    Each day only ever moves forwards, and the state is replaced with a checked write (re-read
    and redone if another run's record step wrote it in between), so no run's advance is
    lost and none moves it back."""
    for _ in range(wap.MERGE_ATTEMPTS):
        data, version = store.read_versioned(keys.FUNDAMENTALS_STATE)
        state = _advanced(
            _state(None if data is None else json.loads(data)),
            day,
            ciks,
            run_id,
            missed=set(not_stored),
            stored=set(stored),
        )
        body = json.dumps(state, indent=1, sort_keys=True).encode()
        if store.write_if(keys.FUNDAMENTALS_STATE, body, version):
            return state
    raise wap.ConcurrentWriteConflict(f"{keys.FUNDAMENTALS_STATE}: kept being replaced")


def _advanced(
    state: dict, day: dt.date, ciks: list[str] | None, run_id: str, *, missed: set, stored: set
) -> dict:
    pending: dict[str, str] = state.setdefault("pending", {})
    if ciks is None:
        if state["all"] is None or state["all"] < day.isoformat():
            state["all"] = day.isoformat()
    else:
        for cik in ciks:
            if cik not in missed and state["ciks"].get(cik, "") < day.isoformat():
                state["ciks"][cik] = day.isoformat()
    for cik in stored - missed:  # a late record of an older day clears no newer miss
        if pending.get(cik, "") <= day.isoformat():
            pending.pop(cik, None)
    for cik in sorted(missed):
        pending.setdefault(cik, day.isoformat())
    if (state.get("last_run") or {}).get("day", "") <= day.isoformat():
        state["last_run"] = {"day": day.isoformat(), "run_id": run_id, "scope": _scope(ciks)}
    return state


def _scope(ciks: list[str] | None) -> str:
    return "all" if ciks is None else f"{len(ciks)} ciks"


# --- discovery ----------------------------------------------------------------------------


def discover(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    since: dt.date | None = None,
) -> Discovery:
    """The companies with fundamental filings from ``since`` (default: after the watermark)
    through ``day``: the whole market from the daily index, or among ``ciks``."""
    state = load_state(store)
    ciks = parse_ciks(ciks) if ciks is not None else None
    if ciks is None:
        found = _discover_market(client, day, since or _after(covered_through(state)) or day)
        found.due = sorted({*found.due, *state["pending"]})  # due before, never stored yet
        found.checked = len(found.due)
        return found
    found = Discovery(day=day.isoformat(), scope=_scope(ciks), since=_iso(since))
    for cik in ciks:
        found.checked += 1
        first = since or _after(covered_through(state, cik))
        if first is None or cik in state["pending"] or not store.exists(keys.fundamentals(cik)):
            found.due.append(cik)  # never fetched: everything it ever filed is new
            continue
        if first > day:
            continue  # a run already covered this company through the day
        try:
            filings = filings_from_submissions(client.submissions(cik))
        except NotFound:  # cannot tell what it filed: companyfacts will say (or 404 too)
            found.due.append(cik)
            continue
        oldest = min((f.filed for f in filings), default=None)
        if oldest is None or first < oldest or fundamental_filings(filings, first, day):
            found.due.append(cik)
    return found


def _discover_market(client: SecClient, day: dt.date, since: dt.date) -> Discovery:
    if since > day:
        return Discovery(day=day.isoformat(), scope="all", since=since.isoformat())
    if (day - since).days > MAX_INDEX_DAYS:
        raise ValueError(
            f"{(day - since).days} days since {since} is more than the daily index should "
            f"cover ({MAX_INDEX_DAYS}); run the bulk backfill (ingest fundamentals --bulk)"
        )
    found = Discovery(day=day.isoformat(), scope="all", since=since.isoformat())
    due: set[str] = set()
    current = since
    while current <= day:
        if current.weekday() < 5:  # EDGAR disseminates nothing on weekends
            found.index_days += 1
            due.update(f.cik for f in fundamental_filings(client.daily_index(current), since, day))
        current += dt.timedelta(days=1)
    found.due = sorted(due)
    found.checked = len(found.due)
    return found


def plan(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    since: dt.date | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[list[ChunkPlan], Discovery]:
    """Discover the companies due and split them into chunks for the mapped ingest tasks."""
    CHUNKS.check(chunk_size)  # before any call to EDGAR
    found = discover(store, client, day, ciks=ciks, since=since)
    due = found.due
    count = CHUNKS.count(len(due), chunk_size)
    plans = []
    for i in range(1, count + 1):
        lo, hi = bounds(len(due), i, count)
        plans.append(ChunkPlan(i, count, tuple(due[lo:hi])))
    return plans, found


# --- the dataset, as the engine sees it ---------------------------------------------------


@dataclass
class Request:
    """What one ingest task asks for: a list of companies from EDGAR, or an archive."""

    partition: str
    ciks: list[str] = field(default_factory=list)
    client: SecClient | None = None
    archive: Path | None = None
    #: documents of the archive that could not be read (reported after the others publish)
    problems: list[str] = field(default_factory=list)


class Fundamentals:
    """The fundamentals dataset: the gate's unit is one company."""

    name = DATASET
    schema = FUNDAMENTALS
    key_columns = KEY_COLUMNS
    entities = "companies"
    entity_label = "CIK"
    rows = "facts"
    run_day = "filing_day"
    overlapping = False  # each run starts where the last one's watermark ended
    gate_batch = 1

    def services(self, params: Mapping[str, Any]) -> tuple[Service, ...]:
        return ("sec",)

    def plan(self, store: LakeStore, run: Run) -> Plan:
        ciks = parse_ciks(run.params.get("ciks") or None)
        if run.params.get("mode") == "bulk":
            argv = ["ingest", "fundamentals", "--bulk", "--date", run.day.isoformat()]
            argv += ["--partition", "bulk", "--run-id", run.run_id]
            argv += ["--ciks", ",".join(ciks)] if ciks else []
            scope = f"{len(ciks)} companies" if ciks else "all companies"
            label = f"bulk {run.day}: {scope}"
            bulk = Partition("bulk", label, tuple(argv), self.services(run.params))
            return Plan([bulk], {"discovery": {"mode": "bulk", "scope": scope}})
        since = run.params.get("since")
        with SecClient() as client:
            plans, found = plan(
                store,
                client,
                run.day,
                ciks=ciks,
                since=dt.date.fromisoformat(since) if since else None,
                chunk_size=int(run.params.get("chunk_size", DEFAULT_CHUNK_SIZE)),
            )
        partitions = [
            Partition(
                p.partition,
                p.label,
                tuple(p.argv(run.day, run.run_id)),
                ("sec",),
                expected=len(p.ciks),
            )
            for p in plans
        ]
        return Plan(partitions, {"discovery": asdict(found)})

    def fetch(
        self, store: LakeStore, run: Run, request: Request, missing: list[str]
    ) -> Iterator[Unit]:
        if request.archive is not None:
            yield from self._from_archive(run, request, missing)
            return
        assert request.client is not None
        tables: dict[str, pa.Table] = {}
        for cik in request.ciks:  # every company first: a source failure publishes nothing
            try:
                doc = request.client.companyfacts(cik)
            except NotFound:
                log.warning("EDGAR has no companyfacts for CIK %s: marked missing", cik)
                missing.append(cik)
                continue
            # a company with nothing filed by the run's day yields an empty unit: accounted
            # for, nothing published, nothing due
            tables[cik] = known_by(normalize(doc, cik=cik), run.day)
        for cik in list(tables):
            yield self._unit(run, request, cik, tables.pop(cik))

    def _from_archive(self, run: Run, request: Request, missing: list[str]) -> Iterator[Unit]:
        """One company of the archive at a time: memory stays that of the largest company."""
        seen: set[str] = set()
        assert request.archive is not None
        for cik, raw in bulk.iter_companyfacts(request.archive, request.ciks or None):
            seen.add(cik)
            try:
                table = known_by(normalize(raw, cik=cik), run.day)
            except CompanyFactsError as exc:
                request.problems.append(str(exc))
                continue
            del raw
            yield self._unit(run, request, cik, table)
        missing.extend(sorted(set(request.ciks) - seen))

    def _unit(self, run: Run, request: Request, cik: str, table: pa.Table) -> Unit:
        return Unit(
            name=company_partition(request.partition, cik),
            table=table,
            params={"as_of": run.day, "ciks": [cik]},
            entity=cik,
        )

    def targets(self, run: Run, table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
        yield keys.fundamentals(table.column("cik")[0].as_py()), table

    def batch_key(self, run: Run, unit: str) -> str:
        return keys.fundamentals_batch(run.day, unit)

    def recorded(
        self, store: LakeStore, run: Run, summary: dict[str, Any], notes: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge the discovery's findings; advance the watermark only if nothing failed, so a
        company that was due and is not stored stays due."""
        discovery = notes.get("discovery") or {}
        missing = sorted({*summary["missing"], *discovery.get("missing", [])})
        if not summary["failed_partitions"]:
            advance_watermark(
                store,
                run.day,
                parse_ciks(run.params.get("ciks") or None),
                run.run_id,
                not_stored=[*missing, *summary["rejected"]],
                stored=summary.get("stored", []),
            )
        return {"missing": missing, "discovery": discovery}


FUNDAMENTALS_DATASET = register(Fundamentals())


def company_partition(partition: str, cik: str) -> str:
    """One company's partition of a chunk: its validation result and quarantine name."""
    return f"{partition}-cik{keys.cik(cik)}"


def ingest(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    ciks: list[str],
    *,
    run_id: str,
    partition: str = "chunk-0001-of-0001",
) -> dict[str, Any]:
    """Fetch, normalise, gate and publish one chunk of companies for filing day ``day``.

    Nothing is published unless every company was fetched (or is missing): a source failure
    midway leaves every stored file as it was. Then each company is gated and published on
    its own; if any was rejected, the chunk fails afterwards naming them
    (``runner.EntitiesRejected``, a quality-gate failure).
    """
    request = Request(partition, list(ciks), client=client)
    return runner.ingest(
        FUNDAMENTALS_DATASET, store, Run(day, run_id), request, partition=partition
    )


class BackfillIncomplete(RuntimeError):
    """Some documents of the archive could not be read; every other company was published."""


def backfill(
    store: LakeStore,
    archive: str | Path,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    run_id: str,
) -> dict[str, Any]:
    """Publish every company of a companyfacts archive (or only ``ciks``), as of ``day``.

    One company is held at a time, gated and published on its own. A document that cannot be
    read and a company that fails the gate are reported at the end (the latter as a
    quality-gate failure); every other company is still published.
    """
    request = Request("bulk", list(ciks or []), archive=Path(archive))
    result = runner.ingest(
        FUNDAMENTALS_DATASET,
        store,
        Run(day, run_id),
        request,
        partition="bulk",
        problems=request.problems,
    )
    if request.problems:
        raise BackfillIncomplete(
            f"{len(request.problems)} document(s) of {archive} could not be read (every other "
            "company was published): " + "; ".join(request.problems[:5])
        )
    return result


def download_archive(client: SecClient, directory: str | None = None) -> Path:
    """Stream the nightly companyfacts.zip to a temporary file; the caller deletes it."""
    fd, name = tempfile.mkstemp(prefix="companyfacts-", suffix=".zip", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as sink:
            size = client.download_companyfacts_archive(sink)
        log.info("downloaded companyfacts.zip: %.1f MB", size / 1e6)
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def record_run(
    store: LakeStore,
    day: dt.date,
    run_id: str,
    *,
    planned: list[str],
    expected: dict[str, int | None] | None = None,
    ciks: list[str] | None,
    discovery: dict | None = None,
) -> dict[str, Any]:
    """Write the run's counts from its commits; advance the watermark when every planned
    chunk committed whole."""
    return runner.record(
        FUNDAMENTALS_DATASET,
        store,
        Run(day, run_id, {"ciks": ciks}),
        planned=planned,
        expected=expected,
        notes={"discovery": discovery or {}},
    )


def run(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    since: dt.date | None = None,
    run_id: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, Any]:
    """A whole incremental run in one process (what the DAG does across tasks), holding the
    run lease: it never overlaps a DAG run or another CLI run."""
    ciks = parse_ciks(ciks) if ciks is not None else None
    with lease.held(store, DATASET, run_id):
        plans, found = plan(store, client, day, ciks=ciks, since=since, chunk_size=chunk_size)
        for p in plans:
            ingest(store, client, day, list(p.ciks), run_id=run_id, partition=p.partition)
        return record_run(
            store,
            day,
            run_id,
            planned=[p.partition for p in plans],
            expected={p.partition: len(p.ciks) for p in plans},
            ciks=ciks,
            discovery=asdict(found),
        )


def _after(day: dt.date | None) -> dt.date | None:
    return None if day is None else day + dt.timedelta(days=1)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
