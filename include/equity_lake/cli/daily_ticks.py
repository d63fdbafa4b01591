"""``ingest daily-ticks``, ``plan daily-ticks`` and ``validate --dataset daily-ticks``."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

import equity_lake.cli.args as cli_args

SOURCES = ("sample", "alpaca", "crsp")


def register(groups: dict[str, Any]) -> None:
    p = groups["ingest"].add_parser(
        "daily-ticks", help="one trading day of daily bars, or a backfill range"
    )
    _days(p)
    p.add_argument("--symbols", help="comma-separated tickers (default: whole universe)")
    p.add_argument("--chunk", help="I/N: the I-th of N slices of the (filtered) universe")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=ingest)

    p = groups["plan"].add_parser("daily-ticks", help="the day's (or the range's) chunks")
    _days(p)
    p.add_argument("--chunk-size", type=cli_args.count(10, 20000, "--chunk-size"), default=500)
    p.add_argument("--symbols")
    p.add_argument("--source", default="sample", choices=SOURCES)
    p.set_defaults(handler=plan)

    cli_args.VALIDATORS["daily-ticks"] = validate


def _days(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", help="trading day, YYYY-MM-DD")
    p.add_argument("--start", help="backfill: first day, YYYY-MM-DD (with --end; <= 366 days)")
    p.add_argument("--end", help="backfill: last day; each monthly object is written once")


def _span(args: argparse.Namespace) -> tuple[Any, Any]:
    """(first day, last day or None) from ``--date`` or ``--start``/``--end``."""
    if args.date and (args.start or args.end):
        raise cli_args.UsageError("give --date or --start/--end, not both")
    if args.date:
        return cli_args.date(args.date), None
    if not (args.start and args.end):
        raise cli_args.UsageError("give --date, or both --start and --end")
    return cli_args.date_range(args.start, args.end)


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import daily_ticks
    from equity_lake.lake.store import LakeStore

    day, end = _span(args)
    symbols = cli_args.symbols(args.symbols)
    chunk = cli_args.chunk(args.chunk, daily_ticks.MAX_CHUNKS)
    return daily_ticks.ingest(
        LakeStore(),
        day,
        source=args.source,
        chunk=chunk,
        symbols=symbols,
        run_id=cli_args.run_id(args.run_id),
        end=end,
    )


def plan(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import daily_ticks
    from equity_lake.engine.dataset import Run
    from equity_lake.lake.store import LakeStore
    from equity_lake.master import trading_day

    first, end = _span(args)
    params = {
        "source": args.source,
        "symbols": cli_args.symbols(args.symbols),
        "chunk_size": args.chunk_size,
        "backfill": f"{first}..{end}" if end else None,
    }
    day = first if end else trading_day(first)
    found = daily_ticks.DAILY.plan(LakeStore(), Run(day, cli_args.run_id(None), params))
    return {"partitions": [p.as_dict() for p in found.partitions], "notes": found.notes}


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """The daily-ticks suite on any file of the dataset: a chunk as staged, a day's bars, or a
    published monthly file (several days: each day is one trading date of the suite).

    With a lake, it is the ingest's gate: each bar is checked against its previous bar and the
    corporate actions in between (``datasets/daily_context.py``), and the expected row count
    comes from the security master (``_expected_rows``), so a file missing rows fails;
    ``--expected-rows`` overrides it. With no master, the file's own count; with no lake
    configured, no context either."""
    from equity_lake import calendar
    from equity_lake.config import ConfigError
    from equity_lake.datasets import daily_context
    from equity_lake.lake.schemas import DAILY_TICKS
    from equity_lake.lake.store import LakeStore
    from equity_lake.quality.gate import validate_table

    table = cli_args.table_to_validate(args.file, DAILY_TICKS)
    stamps = table.column("timestamp").to_pylist() if "timestamp" in table.column_names else []
    if args.date:
        days = [cli_args.date(args.date)]
    else:
        days = sorted({d for d in stamps if d is not None and _is_session(calendar, d)})
    try:
        store: LakeStore | None = LakeStore()
    except ConfigError:  # e.g. a container without LAKE_URI: the file alone
        store = None
    expected, minimum = _row_bounds(args, table, days, stamps, store)
    params: dict[str, Any] = {
        "trading_date": days or [args.date or "1970-01-01"],
        "expected_rows": expected,
        "min_rows": minimum,
    }
    gated = table
    if store is not None and table.schema.equals(DAILY_TICKS):
        context = daily_context.build(store, table)
        gated = context.beside(table)
        params.update(context.params)
    outcome = validate_table("daily-ticks", gated, params)
    if not outcome.success:
        raise cli_args.ValidationFailed("\n".join([outcome.message(), *outcome.failures]))
    return {
        "file": args.file,
        "dataset": "daily-ticks",
        "rows": table.num_rows,
        "expected_rows": expected,
        "days": [d.isoformat() for d in days],
        "success": True,
        "warnings": list(outcome.warnings),
    }


def _row_bounds(
    args: argparse.Namespace, table: Any, days: list[Any], stamps: list[Any], store: Any
) -> tuple[int, int]:
    """(expected_rows, min_rows) for the file: ``--expected-rows`` per day, else what the
    master expects; either allows the share of missing rows an incomplete source may leave
    (``MIN_ROW_SHARE``). With neither, the file's own count (it cannot miss rows then)."""
    from equity_lake.datasets.daily_ticks import MIN_ROW_SHARE

    if args.expected_rows is not None:
        expected = args.expected_rows * max(1, len(days))
    else:
        expected = _expected_rows(store, table, days, Path(args.file).stem)
        if expected is None:
            rows_per_day = max((stamps.count(d) for d in days), default=table.num_rows)
            expected = rows_per_day * max(1, len(days))
            return expected, min(expected, table.num_rows)
    return expected, math.floor(expected * MIN_ROW_SHARE)


#: how the engine names a staged or quarantined chunk (``Chunk.label``)
_CHUNK_FILE = re.compile(r"^chunk-(\d{4})-of-(\d{4})$")


def _expected_rows(store: Any, table: Any, days: list[Any], stem: str) -> int | None:
    """The bars the security master expects of the file, or None without a master.

    One security's file (a published month) must hold a bar for each session it was listed
    on between its first and last day; any other file a bar for each security of each day's
    universe, or of its chunk of it when it is named as the engine names a staged chunk
    (``chunk-0003-of-0012``)."""
    from equity_lake import calendar
    from equity_lake.datasets.daily_ticks import chunk_slice, universe
    from equity_lake.engine.chunks import Chunk
    from equity_lake.master import MasterError, SecurityMaster

    if store is None or not days or "security_id" not in table.column_names:
        return None
    try:
        master = SecurityMaster.load(store)
    except MasterError:
        return None
    securities = {s for s in table.column("security_id").to_pylist() if s is not None}
    if len(securities) == 1:
        (sid,) = securities
        sessions = calendar.sessions_between(days[0], days[-1])
        return sum(sid in master.active_on(d).column("security_id").to_pylist() for d in sessions)
    named = _CHUNK_FILE.match(stem)
    try:
        chunk = Chunk.parse(f"{int(named[1])}/{int(named[2])}", 9999) if named else None
    except ValueError:  # chunk-0000-of-0003 is no chunk the engine names
        chunk = None
    total = 0
    for day in days:
        members = universe(master, day)
        total += (chunk_slice(members, chunk) if chunk else members).num_rows
    return total


def _is_session(calendar: Any, day: Any) -> bool:
    try:
        return calendar.is_session(day)
    except ValueError:  # outside the calendar's range: not a session the suite accepts
        return False
