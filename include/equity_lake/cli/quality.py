"""``validate``, ``docs`` and ``summary``: the lake's quality side, for every dataset."""

from __future__ import annotations

import argparse
from typing import Any

import equity_lake.cli.args as cli_args


def register(groups: dict[str, Any]) -> None:
    top = groups["_top"]
    p = top.add_parser("validate", help="run a dataset's expectation suite on a file")
    p.add_argument("--dataset", required=True, help="daily-ticks, minute-ticks or fundamentals")
    p.add_argument("--date", help="ticks: the trading date; fundamentals: the as-of day")
    p.add_argument(
        "--expected-rows",
        type=cli_args.count(0, 10**9, "--expected-rows"),
        help="daily-ticks: bars expected per day (default: what the security master lists, "
        "else the file's own count)",
    )
    p.add_argument("file")
    p.set_defaults(handler=validate)

    top.add_parser("docs", help="rebuild the Data Docs site from stored results").set_defaults(
        handler=docs
    )

    p = top.add_parser("summary", help="print the runs between two dates")
    p.add_argument("--dataset", default="daily-ticks", choices=["daily-ticks", "minute-ticks"])
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.set_defaults(handler=summary)


def validate(args: argparse.Namespace) -> dict[str, Any]:
    validator = cli_args.VALIDATORS.get(args.dataset)
    if validator is None:
        known = ", ".join(sorted(cli_args.VALIDATORS))
        raise cli_args.UsageError(f"unknown dataset {args.dataset!r}; choose one of: {known}")
    return validator(args)


def docs(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.lake.store import LakeStore
    from equity_lake.runs import publish_data_docs

    return {"data_docs": publish_data_docs(LakeStore())}


def summary(args: argparse.Namespace) -> str:
    from equity_lake.lake.store import LakeStore
    from equity_lake.runs import summarize

    start, end = cli_args.date_range(args.start, args.end)
    return summarize(LakeStore(), args.dataset, start, end)
