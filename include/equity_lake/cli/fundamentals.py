"""``ingest fundamentals``, ``plan fundamentals``, ``show fundamentals|coverage`` and
``validate --dataset fundamentals``.

``ingest fundamentals`` without ``--partition`` is a whole run (discover what was filed since
the last run, fetch, gate, merge, record, advance the watermark); with ``--partition`` it is
one planned chunk of a DAG run and ingests exactly ``--ciks``. ``--bulk`` backfills from the
nightly companyfacts.zip instead. ``show fundamentals`` prints a concept's values per period as
known on a date, as CSV; ``show coverage`` which concepts a company's facts answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import equity_lake.cli.args as cli_args
from equity_lake.cli.output import csv_text
from equity_lake.lake import keys

if TYPE_CHECKING:
    import pyarrow as pa

    from equity_lake.lake.store import LakeStore


def register(groups: dict[str, Any]) -> None:
    p = groups["ingest"].add_parser("fundamentals", help="EDGAR facts for a set of companies")
    p.add_argument("--date", help="filing day the run covers, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--ciks", help="comma-separated CIKs (default: every company that filed)")
    p.add_argument("--since", help="first filing day to look at (default: after the last run)")
    p.add_argument("--bulk", action="store_true", help="backfill from companyfacts.zip")
    p.add_argument("--archive", help="a local companyfacts.zip for --bulk (default: download)")
    p.add_argument(
        "--chunk-size", type=cli_args.count(1, 1000, "--chunk-size"), default=None,
        help="companies per chunk (default 25)",
    )  # fmt: skip
    p.add_argument("--partition", help="a planned chunk's name: ingest exactly --ciks")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=ingest)

    shows = groups["show"]
    p = shows.add_parser("fundamentals", help="a concept per period as known on a date (CSV)")
    p.add_argument("--cik", required=True)
    p.add_argument("--concept", required=True, help="e.g. revenue, net_income, total_assets")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    p.add_argument("--unit", help="only this unit, e.g. USD")
    p.add_argument(
        "--quarterly", action="store_true", help="discrete quarters, derived where not filed"
    )
    p.set_defaults(handler=show)
    p = shows.add_parser(
        "coverage", help="per canonical concept: plausible tags, values returned, gaps (CSV)"
    )
    p.add_argument("--cik", required=True)
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    p.set_defaults(handler=show_coverage)

    cli_args.VALIDATORS["fundamentals"] = validate


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import fundamentals
    from equity_lake.engine import lease
    from equity_lake.lake.store import LakeStore
    from equity_lake.sources.sec import SecClient

    day = cli_args.date(args.date) if args.date else dt.datetime.now(dt.UTC).date()
    ciks = cli_args.ciks(args.ciks)
    since = cli_args.date(args.since, "--since") if args.since else None
    run_id = cli_args.run_id(args.run_id)
    partition = cli_args.partition(args.partition)
    if args.archive and not args.bulk:
        raise cli_args.UsageError("--archive is only read with --bulk")
    if partition is not None and not args.bulk and not ciks:
        raise cli_args.UsageError("--partition ingests exactly --ciks: give them")
    store = LakeStore()
    if args.bulk:
        if partition is not None:  # a task of a DAG run, which holds the run lease
            return _bulk(store, day, ciks, run_id, args.archive)
        with lease.held(store, fundamentals.DATASET, run_id):
            _bulk(store, day, ciks, run_id, args.archive)
            return fundamentals.record_run(store, day, run_id, planned=["bulk"], ciks=ciks)
    with SecClient() as client:
        if partition is not None:
            return fundamentals.ingest(
                store, client, day, ciks or [], run_id=run_id, partition=partition
            )
        return fundamentals.run(
            store,
            client,
            day,
            ciks=ciks,
            since=since,
            run_id=run_id,
            chunk_size=args.chunk_size or fundamentals.DEFAULT_CHUNK_SIZE,
        )


def _bulk(
    store: LakeStore,
    day: dt.date,
    ciks: list[str] | None,
    run_id: str,
    archive: str | None,
) -> dict[str, Any]:
    """Backfill from a local archive, or from the nightly one (which needs the SEC client)."""
    from equity_lake.datasets import fundamentals
    from equity_lake.sources.sec import SecClient

    if archive:
        if not Path(archive).is_file():
            raise cli_args.UsageError(f"--archive {archive}: no such file")
        return fundamentals.backfill(store, archive, day, ciks=ciks, run_id=run_id)
    with SecClient() as client:
        path = fundamentals.download_archive(client)
    try:
        return fundamentals.backfill(store, path, day, ciks=ciks, run_id=run_id)
    finally:
        path.unlink(missing_ok=True)


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """``validate --dataset fundamentals FILE [--date D]``: the suite on a file of facts.

    ``--date`` is the day no fact may be filed after (default: today); the companies are
    the file's own.
    """
    import pyarrow.compute as pc

    from equity_lake.lake.schemas import FUNDAMENTALS
    from equity_lake.quality.gate import validate_table

    table = cli_args.table_to_validate(args.file, FUNDAMENTALS)
    ciks = []
    if "cik" in table.column_names:
        for value in pc.unique(table.column("cik")).to_pylist():
            try:
                ciks.append(keys.cik(value))
            except keys.InvalidIdentifier:
                continue  # the suite reports it
    as_of = cli_args.date(args.date) if args.date else dt.date.today()
    outcome = validate_table(
        "fundamentals", table, {"as_of": as_of, "ciks": ciks or ["0000000001"]}
    )
    if not outcome.success:
        raise cli_args.ValidationFailed("\n".join([outcome.message(), *outcome.failures]))
    return {
        "file": args.file,
        "dataset": "fundamentals",
        "rows": table.num_rows,
        "success": True,
        "warnings": list(outcome.warnings),
    }


def show(args: argparse.Namespace) -> str:
    """CSV of the concept per period as known on --as-of (default today)."""
    from equity_lake.fundamentals import concepts, pointintime, quarterly

    concept = concepts.get(args.concept).name
    as_of = cli_args.date(args.as_of, "--as-of") if args.as_of else dt.date.today()
    table = _stored_facts(args.cik)
    if args.quarterly:
        result = quarterly.quarters_as_of(table, concept, as_of, unit=args.unit)
        extra = ["derived", "method"]
    else:
        result = pointintime.latest_as_of(table, concept, as_of, unit=args.unit)
        extra = []
    columns = ["concept", "start", "end", "value", "unit", "form", "accn", "filed", "tag"]
    return csv_text([*columns, "fallback", *extra], result.to_pylist())


def show_coverage(args: argparse.Namespace) -> str:
    """CSV, one row per canonical concept: covered / gap / absent, and the tags behind it."""
    from equity_lake.fundamentals import coverage

    as_of = cli_args.date(args.as_of, "--as-of") if args.as_of else dt.date.today()
    report = coverage.report(_stored_facts(args.cik), as_of)
    columns = [
        "concept",
        "status",
        "periods",
        "fallback_periods",
        "tags_used",
        "plausible_tags",
        "unmapped_tags",
    ]
    rows = [
        {
            **asdict(c),
            **{
                k: " ".join(getattr(c, k)) for k in ("tags_used", "plausible_tags", "unmapped_tags")
            },
        }
        for c in report
    ]
    return csv_text(columns, rows)


def _stored_facts(cik_text: str) -> pa.Table:
    from equity_lake.lake.store import LakeStore

    try:
        cik = keys.cik(cik_text)
    except keys.InvalidIdentifier as exc:
        raise cli_args.UsageError(f"--cik: {exc}") from None
    store = LakeStore()
    table = store.read_table(keys.fundamentals(cik))
    if table is None:
        raise cli_args.UsageError(
            f"no fundamentals stored for CIK {cik} in {store.config.uri}; "
            f"run: equity-lake ingest fundamentals --ciks {cik}"
        )
    return table
