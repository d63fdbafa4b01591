"""``ingest corporate-actions``: splits, dividends and symbol changes from Alpaca."""

from __future__ import annotations

import argparse
from typing import Any

import equity_lake.cli.args as cli_args


def register(groups: dict[str, Any]) -> None:
    p = groups["ingest"].add_parser(
        "corporate-actions", help="splits, dividends and symbol changes into each security's file"
    )
    p.add_argument("--source", default="alpaca", choices=["alpaca"])
    p.add_argument("--start", required=True, help="first ex-date, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last ex-date, YYYY-MM-DD")
    p.add_argument("--symbols", help="comma-separated tickers (default: all in the master)")
    p.set_defaults(handler=ingest)


def ingest(args: argparse.Namespace) -> Any:
    from equity_lake.datasets import corporate_actions
    from equity_lake.lake.store import LakeStore

    start, end = cli_args.date_range(args.start, args.end)
    return corporate_actions.ingest(
        LakeStore(), start, end, source=args.source, symbols=cli_args.symbols(args.symbols)
    )
