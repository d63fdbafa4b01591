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
import logging
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from equity_lake.engine import wap
from equity_lake.fundamentals import bulk
from equity_lake.fundamentals.normalize import CompanyFactsError, known_by, normalize
from equity_lake.lake import keys
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
        return f"chunk-{self.index:04d}-of-{self.count:04d}"

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


@dataclass
class ChunkResult:
    day: str
    partition: str
    companies: int = 0
    facts: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    missing: list[str] = field(default_factory=list)
    #: facts kept but flagged by a warning expectation (unusual but real), per company
    warnings: dict[str, list[str]] = field(default_factory=dict)
    #: companies that failed the gate (quarantined): CIK -> the failed expectations
    rejected: dict[str, str] = field(default_factory=dict)


class CompaniesRejected(wap.QualityGateFailed):
    """Some companies failed the gate and were quarantined; the others were published."""

    def __init__(self, result: ChunkResult, problems: list[str] | None = None) -> None:
        self.result = result
        published = result.companies
        rejected = len(result.rejected)
        reasons = [f"CIK {cik}: {why}" for cik, why in sorted(result.rejected.items())]
        text = (
            f"{rejected} of {rejected + published} companies failed the fundamentals gate and "
            f"were quarantined ({published} published): "
        )
        super().__init__(text + " | ".join([*reasons, *(problems or [])]))


def parse_ciks(text: str | Iterable[str] | None) -> list[str] | None:
    """``"320193, 0001652044"`` (or a list) -> sorted 10-digit CIKs; empty means all."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    ciks = sorted({keys.cik(str(p).strip()) for p in parts if str(p).strip()})
    return ciks or None


# --- watermark ----------------------------------------------------------------------------


def load_state(store: LakeStore) -> dict:
    state = store.read_json(keys.FUNDAMENTALS_STATE)
    if not isinstance(state, dict):
        state = {}
    state.setdefault("all", None)
    state.setdefault("ciks", {})
    return state


def covered_through(state: dict, cik: str | None = None) -> dt.date | None:
    """The last filing day whose filings are known to be in the lake (for ``cik``)."""
    days = [state.get("all")]
    if cik is not None:
        days.append(state["ciks"].get(cik))
    known = [dt.date.fromisoformat(d) for d in days if d]
    return max(known) if known else None


def advance_watermark(store: LakeStore, day: dt.date, ciks: list[str] | None, run_id: str) -> dict:
    """Remember that every filing up to ``day`` is in (for ``ciks``, or for the market)."""
    state = load_state(store)
    if ciks is None:
        if state["all"] is None or state["all"] < day.isoformat():
            state["all"] = day.isoformat()
    else:
        for cik in ciks:
            if state["ciks"].get(cik, "") < day.isoformat():
                state["ciks"][cik] = day.isoformat()
    state["last_run"] = {"day": day.isoformat(), "run_id": run_id, "scope": _scope(ciks)}
    store.write_json(keys.FUNDAMENTALS_STATE, state)
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
        return _discover_market(client, day, since or _after(covered_through(state)) or day)
    found = Discovery(day=day.isoformat(), scope=_scope(ciks), since=_iso(since))
    for cik in ciks:
        found.checked += 1
        first = since or _after(covered_through(state, cik))
        if first is None or not store.exists(keys.fundamentals(cik)):
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
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk_size {chunk_size} must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}"
        )
    found = discover(store, client, day, ciks=ciks, since=since)
    due = found.due
    count = min(MAX_CHUNKS, math.ceil(len(due) / chunk_size)) if due else 0
    plans = []
    for i in range(count):
        part = due[len(due) * i // count : len(due) * (i + 1) // count]
        plans.append(ChunkPlan(i + 1, count, tuple(part)))
    return plans, found


# --- ingest -------------------------------------------------------------------------------


def ingest(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    ciks: list[str],
    *,
    run_id: str,
    partition: str = "chunk-0001-of-0001",
) -> ChunkResult:
    """Fetch, normalise, audit and publish one chunk of companies for filing day ``day``.

    Nothing is published unless every company was fetched (or is missing): a source failure
    midway leaves every stored file as it was. Then each company is gated and published on
    its own; if any was rejected, the chunk fails afterwards naming them
    (``CompaniesRejected``).
    """
    result = ChunkResult(day=day.isoformat(), partition=partition)
    tables: dict[str, pa.Table] = {}
    for cik in ciks:  # every company first: a source failure midway publishes nothing
        try:
            doc = client.companyfacts(cik)
        except NotFound:
            log.warning("EDGAR has no companyfacts for CIK %s: marked missing", cik)
            result.missing.append(cik)
            continue
        table = known_by(normalize(doc, cik=cik), day)
        if table.num_rows:
            tables[cik] = table
    for cik in list(tables):
        audit_and_publish(store, cik, tables.pop(cik), day, partition, run_id, result)
    if result.rejected:
        _keep_partial(store, result, run_id)
        raise CompaniesRejected(result)
    return result


def _keep_partial(store: LakeStore, result: ChunkResult, run_id: str) -> None:
    """The failing chunk's own account, for ``record_run`` (a failed task has no XCom)."""
    key = keys.chunk_result(DATASET, dt.date.fromisoformat(result.day), result.partition)
    store.write_json(key, {**result_dict(result), "run_id": run_id})


def company_partition(partition: str, cik: str) -> str:
    """One company's partition of a chunk: its validation result and quarantine name."""
    return f"{partition}-cik{keys.cik(cik)}"


def audit_and_publish(
    store: LakeStore,
    cik: str,
    table: pa.Table,
    day: dt.date,
    partition: str,
    run_id: str,
    result: ChunkResult,
) -> None:
    """Gate one company's facts on their own; publish them, or record why they were rejected."""
    part = company_partition(partition, cik)
    try:
        audited = wap.audit(
            store,
            dataset=DATASET,
            batch_key=keys.fundamentals_batch(day, part),
            table=table,
            params={"as_of": day, "ciks": [cik]},
            run_id=run_id,
            day=day,
            partition=part,
        )
    except wap.QualityGateFailed as exc:
        log.error("CIK %s rejected by the fundamentals gate: %s", cik, exc)
        result.rejected[cik] = str(exc)
        return
    written = wap.publish_merge(store, keys.fundamentals(cik), table, KEY_COLUMNS)
    store.delete(audited.staged_key)
    if audited.warnings:
        log.warning("CIK %s published with warnings: %s", cik, "; ".join(audited.warnings))
        result.warnings[cik] = list(audited.warnings)
    result.companies += 1
    result.facts += table.num_rows
    result.files_written += int(written)
    result.files_unchanged += int(not written)


# --- bulk backfill ------------------------------------------------------------------------


class BackfillIncomplete(RuntimeError):
    """Some documents of the archive could not be read; every other company was published."""


def backfill(
    store: LakeStore,
    archive: str | Path,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    run_id: str,
) -> ChunkResult:
    """Publish every company of a companyfacts archive (or only ``ciks``), as of ``day``.

    One company is held at a time, gated and published on its own. A document that cannot be
    read and a company that fails the gate are reported at the end (the latter as
    ``CompaniesRejected``, a quality-gate failure); every other company is still published.
    """
    result = ChunkResult(day=day.isoformat(), partition="bulk")
    problems: list[str] = []
    seen: set[str] = set()
    for cik, raw in bulk.iter_companyfacts(archive, ciks):
        seen.add(cik)
        try:
            table = known_by(normalize(raw, cik=cik), day)
        except CompanyFactsError as exc:
            problems.append(str(exc))
            continue
        del raw
        if table.num_rows:
            audit_and_publish(store, cik, table, day, "bulk", run_id, result)
    result.missing = sorted(set(ciks or ()) - seen)
    if result.rejected:
        _keep_partial(store, result, run_id)
        raise CompaniesRejected(result, problems)
    if problems:
        raise BackfillIncomplete(
            f"{len(problems)} document(s) of {archive} could not be read (every other company "
            "was published): " + "; ".join(problems[:5])
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


# --- runs ---------------------------------------------------------------------------------


def record_run(
    store: LakeStore,
    day: dt.date,
    run_id: str,
    results: list[dict],
    *,
    planned: list[str],
    ciks: list[str] | None,
    discovery: dict | None = None,
) -> dict[str, object]:
    """Write the run's counts; advance the watermark when every planned chunk succeeded."""
    done = {str(r.get("partition")) for r in results}
    failed = [p for p in planned if p not in done]
    # a chunk that failed in part says what it did publish, and which companies it rejected
    partial = [store.read_json(keys.chunk_result(DATASET, day, p)) for p in failed]
    results = [
        *results,
        *(r for r in partial if isinstance(r, dict) and r.get("run_id") == run_id),
    ]
    summary: dict[str, object] = {
        "dataset": DATASET,
        "day": day.isoformat(),
        "run_id": run_id,
        "chunks": len(planned),
        "companies": sum(int(r.get("companies", 0)) for r in results),
        "facts": sum(int(r.get("facts", 0)) for r in results),
        "files_written": sum(int(r.get("files_written", 0)) for r in results),
        "files_unchanged": sum(int(r.get("files_unchanged", 0)) for r in results),
        "missing": sorted({c for r in results for c in r.get("missing") or []}),
        "failed_partitions": failed,
        "rejected": {c: why for r in results for c, why in (r.get("rejected") or {}).items()},
        "warnings": {c: w for r in results for c, w in (r.get("warnings") or {}).items()},
        "discovery": discovery or {},
    }
    if discovery:
        summary["missing"] = sorted({*summary["missing"], *discovery.get("missing", [])})
    store.write_json(keys.run_summary(DATASET, day), summary)
    if not failed:
        advance_watermark(store, day, ciks, run_id)
    return summary


def run(
    store: LakeStore,
    client: SecClient,
    day: dt.date,
    *,
    ciks: list[str] | None = None,
    since: dt.date | None = None,
    run_id: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, object]:
    """A whole incremental run in one process (what the DAG does across tasks)."""
    ciks = parse_ciks(ciks) if ciks is not None else None
    plans, found = plan(store, client, day, ciks=ciks, since=since, chunk_size=chunk_size)
    results = []
    for p in plans:
        results.append(
            result_dict(
                ingest(store, client, day, list(p.ciks), run_id=run_id, partition=p.partition)
            )
        )
    return record_run(
        store,
        day,
        run_id,
        results,
        planned=[p.partition for p in plans],
        ciks=ciks,
        discovery=asdict(found),
    )


def result_dict(result: ChunkResult) -> dict[str, object]:
    return asdict(result)


def _after(day: dt.date | None) -> dt.date | None:
    return None if day is None else day + dt.timedelta(days=1)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
