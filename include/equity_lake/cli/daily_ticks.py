"""``ingest daily-ticks``, ``plan daily-ticks`` and ``validate --dataset daily-ticks``."""

from __future__ import annotations

import argparse
from typing import Any

import equity_lake.cli.args as cli_args

SOURCES = ("sample", "alpaca", "crsp")


def register(groups: dict[str, Any]) -> None:
    p = groups["ingest"].add_parser("daily-ticks", help="one trading day of daily bars")
    p.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    p.add_argument("--symbols", help="comma-separated tickers (default: whole universe)")
    p.add_argument("--chunk", help="I/N: the I-th of N slices of the (filtered) universe")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=ingest)

    p = groups["plan"].add_parser("daily-ticks", help="the day's chunks")
    p.add_argument("--date", required=True)
    p.add_argument("--chunk-size", type=cli_args.count(10, 20000, "--chunk-size"), default=500)
    p.add_argument("--symbols")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.set_defaults(handler=plan)

    cli_args.VALIDATORS["daily-ticks"] = validate


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import daily_ticks
    from equity_lake.lake.store import LakeStore

    day = cli_args.date(args.date)
    symbols = cli_args.symbols(args.symbols)
    chunk = cli_args.chunk(args.chunk, daily_ticks.MAX_CHUNKS)
    return daily_ticks.ingest(
        LakeStore(),
        day,
        source=args.source,
        chunk=chunk,
        symbols=symbols,
        run_id=cli_args.run_id(args.run_id),
    )


def plan(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import daily_ticks
    from equity_lake.engine.dataset import Run
    from equity_lake.lake.store import LakeStore
    from equity_lake.master import trading_day

    params = {
        "source": args.source,
        "symbols": cli_args.symbols(args.symbols),
        "chunk_size": args.chunk_size,
    }
    day = trading_day(cli_args.date(args.date))
    found = daily_ticks.DAILY.plan(LakeStore(), Run(day, cli_args.run_id(None), params))
    return {"partitions": [p.as_dict() for p in found.partitions], "notes": found.notes}


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """The daily-ticks suite on any file of the dataset: a chunk as staged, or a published
    monthly file (several days: each day is one trading date of the suite)."""
    from equity_lake import calendar
    from equity_lake.lake.schemas import DAILY_TICKS
    from equity_lake.quality.gate import validate_table

    table = cli_args.table_to_validate(args.file, DAILY_TICKS)
    stamps = table.column("timestamp").to_pylist() if "timestamp" in table.column_names else []
    if args.date:
        days = [cli_args.date(args.date)]
    else:
        days = sorted({d for d in stamps if d is not None and _is_session(calendar, d)})
    rows_per_day = max((stamps.count(d) for d in days), default=table.num_rows)
    expected = args.expected_rows if args.expected_rows is not None else rows_per_day
    outcome = validate_table(
        "daily-ticks",
        table,
        {
            "trading_date": days or [args.date or "1970-01-01"],
            "expected_rows": expected * max(1, len(days)),
            "min_rows": min(expected * max(1, len(days)), table.num_rows),
        },
    )
    if not outcome.success:
        raise cli_args.ValidationFailed("\n".join([outcome.message(), *outcome.failures]))
    return {
        "file": args.file,
        "dataset": "daily-ticks",
        "rows": table.num_rows,
        "days": [d.isoformat() for d in days],
        "success": True,
        "warnings": list(outcome.warnings),
    }


def _is_session(calendar: Any, day: Any) -> bool:
    try:
        return calendar.is_session(day)
    except ValueError:  # outside the calendar's range: not a session the suite accepts
        return False
