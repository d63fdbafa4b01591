"""``equity-lake``: the one command a task runs, in-process, in a container, or by hand.

Exit 0 on success; otherwise a one-line reason on stderr and a non-zero status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Sequence

from equity_lake.fundamentals import commands as fundamentals_commands

EXIT_FAILED = 1
EXIT_USAGE = 2


class CommandFailed(Exception):
    """A command ran but its outcome is a failure (e.g. a file failed validation)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="equity-lake", description=__doc__.splitlines()[0])
    groups = p.add_subparsers(dest="group", required=True)

    master = groups.add_parser("master", help="security master and trading calendar")
    master_cmds = master.add_subparsers(dest="command", required=True)
    build = master_cmds.add_parser("build", help="build / refresh the master and calendar")
    build.add_argument(
        "--source",
        default="sample",
        help="sample (offline), crsp (WRDS) or sec (Nasdaq Trader directory + SEC tickers)",
    )

    ingest = groups.add_parser("ingest", help="fetch, validate and publish a partition")
    ingest_cmds = ingest.add_subparsers(dest="command", required=True)
    daily = ingest_cmds.add_parser("daily-ticks", help="one trading day of daily bars")
    daily.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    daily.add_argument("--symbols", help="comma-separated tickers (default: whole universe)")
    daily.add_argument("--chunk", help="I/N: the I-th of N slices of the (filtered) universe")
    daily.add_argument("--source", default="sample")
    daily.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    actions = ingest_cmds.add_parser(
        "corporate-actions", help="splits, dividends and symbol changes into each security's file"
    )
    actions.add_argument("--source", default="alpaca")
    actions.add_argument("--start", required=True, help="first ex-date, YYYY-MM-DD")
    actions.add_argument("--end", required=True, help="last ex-date, YYYY-MM-DD")
    actions.add_argument("--symbols", help="comma-separated tickers (default: all in the master)")
    fundamentals_commands.add_ingest_parser(ingest_cmds)
    fundamentals_commands.add_show_parser(groups)

    plan = groups.add_parser("plan", help="print the chunks of a day's universe as JSON")
    plan_cmds = plan.add_subparsers(dest="command", required=True)
    plan_daily = plan_cmds.add_parser("daily-ticks")
    plan_daily.add_argument("--date", required=True)
    plan_daily.add_argument("--chunk-size", type=int, default=500)
    plan_daily.add_argument("--symbols")

    validate = groups.add_parser("validate", help="run a dataset's expectation suite on a file")
    validate.add_argument("--dataset", required=True)
    validate.add_argument("--date", help="expected trading date (default: the file's most common)")
    validate.add_argument("--expected-rows", type=int, help="active universe size of the file")
    validate.add_argument("file")

    groups.add_parser("docs", help="rebuild the Data Docs site from stored results")

    summary = groups.add_parser("summary", help="print the runs between two dates")
    summary.add_argument("--dataset", default="daily-ticks", choices=["daily-ticks"])
    summary.add_argument("--start", required=True)
    summary.add_argument("--end", required=True)
    return p


def run(argv: Sequence[str]) -> object:
    """Run a command and return its result; raises on failure (for in-process callers)."""
    args = _parser().parse_args(list(argv))
    from equity_lake.lake.store import LakeStore

    if args.group == "validate":
        return _validate(args)
    store = LakeStore()
    if args.group == "master":
        from equity_lake import master

        return master.write(store, master.build(args.source, store))
    if args.group == "plan":
        from dataclasses import asdict

        from equity_lake.datasets import daily_ticks

        plans = daily_ticks.plan(
            store, _date(args.date), args.chunk_size, daily_ticks.parse_symbols(args.symbols)
        )
        return [asdict(p) for p in plans]
    if args.group == "ingest" and args.command == "fundamentals":
        return fundamentals_commands.ingest(store, args)
    if args.group == "show" and args.command == "fundamentals":
        return fundamentals_commands.show(store, args)
    if args.group == "show" and args.command == "coverage":
        return fundamentals_commands.show_coverage(store, args)
    if args.group == "ingest" and args.command == "corporate-actions":
        from equity_lake.datasets import corporate_actions, daily_ticks

        return corporate_actions.ingest(
            store,
            _date(args.start),
            _date(args.end),
            source=args.source,
            symbols=daily_ticks.parse_symbols(args.symbols),
        )
    if args.group == "ingest":
        from equity_lake.datasets import daily_ticks

        result = daily_ticks.ingest(
            store,
            _date(args.date),
            source=args.source,
            chunk=daily_ticks.Chunk.parse(args.chunk) if args.chunk else None,
            symbols=daily_ticks.parse_symbols(args.symbols),
            run_id=args.run_id
            or f"cli-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
        )
        return daily_ticks.result_dict(result)
    if args.group == "docs":
        from equity_lake.runs import publish_data_docs

        return {"data_docs": publish_data_docs(store)}
    if args.group == "summary":
        from equity_lake.runs import summarize

        return summarize(store, args.dataset, _date(args.start), _date(args.end))
    raise AssertionError(args.group)


def _validate(args: argparse.Namespace) -> object:
    import collections

    import pyarrow.parquet as pq

    from equity_lake.lake.schemas import DAILY_TICKS, SchemaError, conform
    from equity_lake.quality.gate import validate_table

    if args.dataset == "fundamentals":
        return fundamentals_commands.validate(args)
    if args.dataset != "daily-ticks":
        raise ValueError(
            f"unknown dataset {args.dataset!r}; choose one of: daily-ticks, fundamentals"
        )
    try:
        table = pq.read_table(args.file)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {args.file} as Parquet: {exc}") from None
    if args.date:
        day = _date(args.date)
    else:
        stamps = table.column("timestamp").to_pylist() if "timestamp" in table.column_names else []
        day = collections.Counter(stamps).most_common(1)[0][0] if stamps else dt.date.min
    try:
        table = conform(table, DAILY_TICKS, args.file)
    except SchemaError:
        pass  # the suite names schema problems itself
    expected = args.expected_rows if args.expected_rows is not None else table.num_rows
    outcome = validate_table(
        args.dataset,
        table,
        {"trading_date": day, "expected_rows": expected, "min_rows": min(expected, table.num_rows)},
    )
    if not outcome.success:
        raise CommandFailed("\n".join([outcome.message(), *outcome.failures]))
    return {"file": args.file, "dataset": args.dataset, "rows": table.num_rows, "success": True}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} is not an ISO date (YYYY-MM-DD)") from None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse usage errors already printed their line
        return int(exc.code or 0) and EXIT_USAGE
    except CommandFailed as exc:
        print(f"equity-lake: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        if os.environ.get("EQUITY_LAKE_DEBUG"):
            raise
        print(f"equity-lake: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(result, str):
        print(result)
    else:
        print(json.dumps(result, sort_keys=True, default=str))
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
