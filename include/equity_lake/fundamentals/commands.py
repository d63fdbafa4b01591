"""The fundamentals commands of the ``equity-lake`` CLI (wired in by ``equity_lake.cli``).

``ingest fundamentals`` without ``--partition`` is a whole run (discover what was filed since
the last run, fetch, gate, merge, record, advance the watermark); with ``--partition`` it is
one planned chunk of a DAG run and ingests exactly ``--ciks``. ``--bulk`` backfills from the
nightly companyfacts.zip instead. ``show fundamentals`` prints a concept's values per period as
known on a date, as CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from equity_lake.lake import keys

if TYPE_CHECKING:
    import pyarrow as pa

    from equity_lake.datasets.fundamentals import ChunkResult
    from equity_lake.lake.store import LakeStore


def add_ingest_parser(ingest_commands: argparse._SubParsersAction) -> None:
    p = ingest_commands.add_parser("fundamentals", help="EDGAR facts for a set of companies")
    p.add_argument("--date", help="filing day the run covers, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--ciks", help="comma-separated CIKs (default: every company that filed)")
    p.add_argument("--since", help="first filing day to look at (default: after the last run)")
    p.add_argument("--bulk", action="store_true", help="backfill from companyfacts.zip")
    p.add_argument("--archive", help="a local companyfacts.zip for --bulk (default: download)")
    p.add_argument("--chunk-size", type=int, default=None, help="companies per chunk")
    p.add_argument("--partition", help="a planned chunk's name: ingest exactly --ciks")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")


def add_show_parser(groups: argparse._SubParsersAction) -> None:
    show = groups.add_parser("show", help="print stored data")
    commands = show.add_subparsers(dest="command", required=True)
    p = commands.add_parser("fundamentals", help="a concept per period as known on a date (CSV)")
    p.add_argument("--cik", required=True)
    p.add_argument("--concept", required=True, help="e.g. revenue, net_income, total_assets")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    p.add_argument("--unit", help="only this unit, e.g. USD")
    p.add_argument(
        "--quarterly", action="store_true", help="discrete quarters, derived where not filed"
    )
    p = commands.add_parser(
        "coverage", help="per canonical concept: plausible tags, values returned, gaps (CSV)"
    )
    p.add_argument("--cik", required=True)
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")


def ingest(store: LakeStore, args: argparse.Namespace) -> dict[str, object]:
    from equity_lake.datasets import fundamentals
    from equity_lake.sources.sec import SecClient

    day = _date(args.date) if args.date else dt.datetime.now(dt.UTC).date()
    ciks = fundamentals.parse_ciks(args.ciks)
    since = _date(args.since) if args.since else None
    run_id = args.run_id or f"cli-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    if args.archive and not args.bulk:
        raise ValueError("--archive is only read with --bulk")
    if args.partition is not None:
        keys.name(args.partition, "partition")
        if not args.bulk and not ciks:
            raise ValueError("--partition ingests exactly --ciks: give them")
    if args.bulk:
        result = _bulk(store, day, ciks, run_id, args.archive)
        if args.partition is not None:
            return fundamentals.result_dict(result)
        return fundamentals.record_run(
            store, day, run_id, [fundamentals.result_dict(result)], planned=["bulk"], ciks=ciks
        )
    with SecClient() as client:
        if args.partition is not None:
            result = fundamentals.ingest(
                store, client, day, ciks or [], run_id=run_id, partition=args.partition
            )
            return fundamentals.result_dict(result)
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
) -> ChunkResult:
    """Backfill from a local archive, or from the nightly one (which needs the SEC client)."""
    from equity_lake.datasets import fundamentals
    from equity_lake.sources.sec import SecClient

    if archive:
        if not Path(archive).is_file():
            raise FileNotFoundError(f"--archive {archive}: no such file")
        return fundamentals.backfill(store, archive, day, ciks=ciks, run_id=run_id)
    with SecClient() as client:
        path = fundamentals.download_archive(client)
    try:
        return fundamentals.backfill(store, path, day, ciks=ciks, run_id=run_id)
    finally:
        path.unlink(missing_ok=True)


def validate(args: argparse.Namespace) -> dict[str, object]:
    """``validate --dataset fundamentals FILE [--date D]``: the suite on a file of facts.

    ``--date`` is the day no fact may be filed after (default: today); the companies are
    the file's own.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from equity_lake.cli import CommandFailed
    from equity_lake.lake.schemas import FUNDAMENTALS, SchemaError, conform
    from equity_lake.quality.gate import validate_table

    try:
        table = pq.read_table(args.file)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {args.file} as Parquet: {exc}") from None
    try:
        table = conform(table, FUNDAMENTALS, args.file)
    except SchemaError:
        pass  # the suite names schema problems itself
    ciks = []
    if "cik" in table.column_names:
        for value in pc.unique(table.column("cik")).to_pylist():
            try:
                ciks.append(keys.cik(value))
            except keys.InvalidIdentifier:
                continue  # the suite reports it
    as_of = _date(args.date) if args.date else dt.date.today()
    outcome = validate_table(
        "fundamentals", table, {"as_of": as_of, "ciks": ciks or ["0000000001"]}
    )
    if not outcome.success:
        raise CommandFailed("\n".join([outcome.message(), *outcome.failures]))
    return {
        "file": args.file,
        "dataset": "fundamentals",
        "rows": table.num_rows,
        "success": True,
        "warnings": list(outcome.warnings),
    }


def show(store: LakeStore, args: argparse.Namespace) -> str:
    """CSV of the concept per period as known on --as-of (default today)."""
    from equity_lake.fundamentals import concepts, pointintime, quarterly

    concept = concepts.get(args.concept).name
    as_of = _date(args.as_of) if args.as_of else dt.date.today()
    table = _stored_facts(store, args.cik)
    if args.quarterly:
        result = quarterly.quarters_as_of(table, concept, as_of, unit=args.unit)
        extra = ["derived", "method"]
    else:
        result = pointintime.latest_as_of(table, concept, as_of, unit=args.unit)
        extra = []
    columns = ["concept", "start", "end", "value", "unit", "form", "accn", "filed", "tag"]
    return _csv([*columns, "fallback", *extra], result.to_pylist())


def show_coverage(store: LakeStore, args: argparse.Namespace) -> str:
    """CSV, one row per canonical concept: covered / gap / absent, and the tags behind it."""
    from equity_lake.fundamentals import coverage

    as_of = _date(args.as_of) if args.as_of else dt.date.today()
    report = coverage.report(_stored_facts(store, args.cik), as_of)
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
    return _csv(columns, rows)


def _stored_facts(store: LakeStore, cik_text: str) -> pa.Table:
    cik = keys.cik(cik_text)
    table = store.read_table(keys.fundamentals(cik))
    if table is None:
        raise LookupError(
            f"no fundamentals stored for CIK {cik} in {store.config.uri}; "
            f"run: equity-lake ingest fundamentals --ciks {cik}"
        )
    return table


def _csv(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue().rstrip("\n")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} is not an ISO date (YYYY-MM-DD)") from None
