"""``ingest minute-ticks``, ``plan minute-ticks``, ``show minute-ticks`` and
``validate --dataset minute-ticks``."""

from __future__ import annotations

import argparse
from typing import Any

import equity_lake.cli.args as cli_args

SOURCES = ("sample", "alpaca")
SESSIONS = ("regular", "extended")


def register(groups: dict[str, Any]) -> None:
    p = groups["ingest"].add_parser("minute-ticks", help="one session of one-minute bars")
    p.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    p.add_argument("--symbols", help="comma-separated tickers (default: whole universe)")
    p.add_argument("--chunk", help="I/N: the I-th of N slices of the (filtered) universe")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.add_argument("--session", choices=SESSIONS, help="default: EQUITY_LAKE_MINUTE_SESSION")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=ingest)

    p = groups["plan"].add_parser("minute-ticks", help="the session's chunks")
    p.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    p.add_argument("--chunk-size", type=cli_args.count(10, 20000, "--chunk-size"), default=500)
    p.add_argument("--symbols")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.add_argument("--session", choices=SESSIONS)
    p.set_defaults(handler=plan)

    p = groups["show"].add_parser("minute-ticks", help="one security's minute bars (CSV)")
    p.add_argument("--symbol", required=True, help="a ticker (as held that day) or security id")
    p.add_argument("--date", required=True, help="a session, or the first of --end's range")
    p.add_argument("--end", help="last session of a range (at most a year)")
    p.set_defaults(handler=show)

    cli_args.VALIDATORS["minute-ticks"] = validate


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import minute_ticks
    from equity_lake.lake.store import LakeStore

    return minute_ticks.ingest(
        LakeStore(),
        cli_args.date(args.date),
        source=args.source,
        chunk=cli_args.chunk(args.chunk, minute_ticks.daily_ticks.MAX_CHUNKS),
        session=args.session,
        symbols=cli_args.symbols(args.symbols),
        run_id=cli_args.run_id(args.run_id),
    )


def plan(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import minute_ticks
    from equity_lake.engine.dataset import Run
    from equity_lake.lake.store import LakeStore

    params = {
        "source": args.source,
        "symbols": cli_args.symbols(args.symbols),
        "chunk_size": args.chunk_size,
        "session": args.session,
    }
    run = Run(cli_args.date(args.date), cli_args.run_id(None), params)
    found = minute_ticks.MINUTES.plan(LakeStore(), run)
    return {"partitions": [p.as_dict() for p in found.partitions], "notes": found.notes}


def show(args: argparse.Namespace) -> str:
    """CSV of the bars, New York time beside the UTC instant (what a chart's axis shows)."""
    from zoneinfo import ZoneInfo

    from equity_lake import reader
    from equity_lake.cli.output import csv_text
    from equity_lake.lake.store import LakeStore

    start = cli_args.date(args.date)
    end = cli_args.date(args.end, "--end") if args.end else None
    table = reader.minute_bars(LakeStore(), args.symbol, start, end)
    new_york = ZoneInfo("America/New_York")
    rows = [
        {
            **row,
            "timestamp": row["timestamp"].isoformat(),
            "new_york": row["timestamp"].astimezone(new_york).strftime("%Y-%m-%d %H:%M"),
        }
        for row in table.to_pylist()
    ]
    return csv_text([*table.column_names, "new_york"], rows)


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """The minute-ticks suite on a file of the dataset (a published security-day, or a chunk
    as staged): the session is ``--date``'s, regular unless ``EQUITY_LAKE_MINUTE_SESSION``
    says extended; with a lake, its minutes are held against the daily bars there."""
    from equity_lake import calendar
    from equity_lake.config import ConfigError
    from equity_lake.datasets import minute_ticks
    from equity_lake.engine.dataset import with_context
    from equity_lake.lake.schemas import MINUTE_TICKS
    from equity_lake.lake.store import LakeStore
    from equity_lake.master import trading_day
    from equity_lake.quality.gate import validate_table

    table = cli_args.table_to_validate(args.file, MINUTE_TICKS)
    if not args.date:
        raise cli_args.UsageError("validate --dataset minute-ticks needs --date (the session)")
    day = trading_day(cli_args.date(args.date))
    session = minute_ticks.session_of(None)
    try:
        store: LakeStore | None = LakeStore()
    except ConfigError:
        store = None
    securities = len(set(table.column("security_id").to_pylist()))
    gated = table
    if table.schema.equals(MINUTE_TICKS):
        gated = with_context(table, minute_ticks.context(store, table, day, session))
    outcome = validate_table(
        "minute-ticks",
        gated,
        {
            "trading_date": day,
            "session": session,
            "session_minutes": calendar.session_minutes(day, session),
            "expected_securities": securities,
            "min_securities": securities,
        },
    )
    if not outcome.success:
        raise cli_args.ValidationFailed("\n".join([outcome.message(), *outcome.failures]))
    return {
        "file": args.file,
        "dataset": "minute-ticks",
        "rows": table.num_rows,
        "securities": securities,
        "day": day.isoformat(),
        "session": session,
        "success": True,
        "warnings": list(outcome.warnings),
    }
