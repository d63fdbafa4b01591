"""What a DAG run leaves behind besides data: the Data Docs site, and the summary of its runs.

The engine records each run (``engine/runner.record``) from the partitions' commit records,
and summaries count those records (what the lake holds); the Data Docs site is rebuilt from
the validation results the gate stored in the lake, so it shows every partition of the recent
runs whichever worker validated it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path

from equity_lake.lake import keys
from equity_lake.lake.store import TEMPORARY_PREFIX, LakeStore

#: the site indexes the most recent days only: rebuilding it is part of every run
DOCS_DAYS = 10
#: staged batches and temporary files older than this belong to crashed runs
STALE_AFTER = dt.timedelta(hours=6)


def sweep_stale(
    store: LakeStore, now: dt.datetime, older_than: dt.timedelta = STALE_AFTER
) -> list[str]:
    """Remove what crashed runs left behind: staged batches (``data/_staging/``) and the
    temporary files of interrupted local writes (kept outside ``data/``), once older than
    ``older_than``. A live run's files are younger, so they are never touched; only those two
    prefixes are listed, never the lake."""
    cutoff = (now - older_than).timestamp()
    stale = [
        key
        for prefix in ("data/_staging", TEMPORARY_PREFIX)
        for key, modified in store.list_modified(prefix)
        if modified < cutoff
    ]
    for key in stale:
        store.delete(key)
    return stale


def publish_data_docs(store: LakeStore, days: int = DOCS_DAYS) -> str:
    """Rebuild the one Data Docs site from every dataset's last ``days`` days of results.

    One site for all datasets: a run of any DAG rebuilds it whole, so no dataset's pages
    replace another's. Returns the URI of its index.
    """
    from equity_lake.quality.docs import build_site

    root = "data/quality/results"
    by_dataset: dict[str, dict[str, list[str]]] = {}
    for key in store.list(root):
        parts = key[len(root) + 1 :].split("/")
        if len(parts) == 3:
            by_dataset.setdefault(parts[0], {}).setdefault(parts[1], []).append(key)
    wanted = [
        key
        for dated in by_dataset.values()
        for date in sorted(dated)[-days:]
        for key in dated[date]
    ]
    results = [store.read_json(k) for k in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site([r for r in results if isinstance(r, dict)], site)
        files = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
        # the index last: a reader never follows it to a page not uploaded yet
        for rel in sorted(files, key=lambda rel: (rel == "index.html", rel)):
            store.write_bytes(f"{keys.DATA_DOCS_PREFIX}/{rel}", (site / rel).read_bytes())
    return store.uri(f"{keys.DATA_DOCS_PREFIX}/index.html")


def summarize(
    store: LakeStore,
    dataset: str,
    start: dt.date,
    end: dt.date,
    only: Sequence[dt.date] | None = None,
) -> str:
    """What the lake holds of each session between ``start`` and ``end`` (the demo's last
    words), counted from the commit records, not from what a run believed it wrote: per
    session, the rows in the union of the objects its runs committed (a backfill range, which
    counts rows per day rather than per object, gives at least its own count), how many runs
    committed it, the failed partitions of its own run and any publish that has
    not committed (readers hide its rows until its retry commits them). ``only``: just these
    sessions of the range (a dataset run on a few days, e.g. the demo's minute ticks)."""
    from equity_lake import calendar, datasets
    from equity_lake.lake import commits

    spec = datasets.get(dataset)
    hidden: dict[str, list[str]] = {}
    for intent in commits.pending(store, dataset):
        hidden.setdefault(intent.day, []).append(intent.partition)
    records = _commits_around(store, dataset, start, end)
    runs_of: dict[str, set[str]] = {}
    for record in records:
        for day in record.get("per_day") or {}:
            runs_of.setdefault(day, set()).add(str(record.get("run_id")))
    held, _ = commits.held_per_day(records)
    lines = [f"{dataset}: what the lake holds from {start} to {end}"]
    lines.append(f"{'day':<12}{spec.rows:>9}{'runs':>6}  failed partitions; uncommitted")
    days_seen = 0
    for day in calendar.sessions_between(start, end):
        if only is not None and day not in only:
            continue
        iso = day.isoformat()
        last = store.read_json(keys.run_summary(dataset, day))
        if iso not in held and not isinstance(last, dict):
            lines.append(f"{iso:<12}{'(no run)':>9}")
            continue
        days_seen += 1
        failed = last.get("failed_partitions", []) if isinstance(last, dict) else []
        pending = sorted(hidden.get(iso, []))
        lines.append(
            f"{iso:<12}{held.get(iso, 0):>9}{len(runs_of.get(iso, ())):>6}  "
            f"{', '.join(failed) or 'none'}; {', '.join(pending) or 'none'}"
        )
    lines.append(f"days: {days_seen}; lake: {store.config.uri}")
    lines.append(f"Data Docs: {store.uri(keys.DATA_DOCS_PREFIX + '/index.html')}")
    if store.exists(keys.HEALTH_PAGE):
        lines.append(f"Lake health: {store.uri(keys.HEALTH_PAGE)}")
    return "\n".join(lines)


def _commits_around(
    store: LakeStore, dataset: str, start: dt.date, end: dt.date
) -> list[dict[str, object]]:
    """The commit records that may hold rows of ``start``..``end``: those filed under a day in
    that range, or up to a backfill's longest span before it."""
    from equity_lake.datasets.daily_ticks import MAX_SPAN_DAYS
    from equity_lake.lake import commits

    earliest = (start - dt.timedelta(days=MAX_SPAN_DAYS)).isoformat()
    root = keys.commits_day(dataset, start).rsplit("/", 1)[0]
    days = sorted(
        {
            key[len(root) + 1 :].split("/", 1)[0]
            for key in store.list(root)
            if not key[len(root) + 1 :].startswith("_")
        }
    )
    records = []
    for day in days:
        if earliest <= day <= end.isoformat():
            records += commits.committed(store, dataset, dt.date.fromisoformat(day))
    return records
