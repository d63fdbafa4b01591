"""``derive metrics`` (TTM, ratios, market-value metrics per company), ``derive universe``
(dated membership), and ``show metrics`` / ``show universe``."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import equity_lake.cli.args as cli_args


def register(groups: dict[str, Any]) -> None:
    p = groups["derive"].add_parser(
        "metrics", help="TTM, ratios and market-value metrics per company"
    )
    p.add_argument("--ciks", help="comma-separated CIKs (default: every company in the lake)")
    p.add_argument("--date", help="the run's day, YYYY-MM-DD (default: today)")
    p.add_argument("--chunk", help="I/N: the I-th of N slices of the companies")
    _range_options(p, "only the market-value metrics of trading days from")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=derive)

    p = groups["derive"].add_parser("universe", help="rebuild a universe's dated membership")
    p.add_argument("name", help="all_common or top3000")
    p.add_argument("--date", help="the run's day, YYYY-MM-DD (default: today)")
    _range_options(p, "recompute the reconstitutions whose lookback holds a session from")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=derive_universe)

    p = groups["show"].add_parser("metrics", help="a company's metrics as known on a date (CSV)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--cik")
    who.add_argument("--symbol", help="a ticker, resolved on --as-of")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    p.set_defaults(handler=show)

    p = groups["show"].add_parser("universe", help="a universe's members on a date (CSV)")
    p.add_argument("name", help="all_common or top3000")
    p.add_argument("--date", help="YYYY-MM-DD (default: today)")
    p.set_defaults(handler=show_universe)


def _range_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--start", help=f"{what} this day, YYYY-MM-DD")
    p.add_argument("--end", help="... to this day, YYYY-MM-DD (inclusive)")


def _range(args: argparse.Namespace) -> tuple[dt.date | None, dt.date | None]:
    return cli_args.open_range(args.start, args.end)


def derive(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import derived_metrics
    from equity_lake.lake.store import LakeStore

    day = cli_args.date(args.date) if args.date else dt.date.today()
    start, end = _range(args)
    return derived_metrics.derive(
        LakeStore(),
        day,
        chunk=cli_args.chunk(args.chunk, derived_metrics.CHUNKS.max_chunks),
        ciks=cli_args.ciks(args.ciks),
        start=start,
        end=end,
        run_id=cli_args.run_id(args.run_id),
    )


def derive_universe(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake import universes
    from equity_lake.datasets import universes as universe_dataset
    from equity_lake.lake.store import LakeStore

    if args.name not in universes.NAMES:
        raise cli_args.UsageError(
            f"unknown universe {args.name!r}; known: {', '.join(universes.NAMES)}"
        )
    day = cli_args.date(args.date) if args.date else dt.date.today()
    start, end = _range(args)
    return universe_dataset.derive(
        LakeStore(), args.name, day, start=start, end=end, run_id=cli_args.run_id(args.run_id)
    )


def show_universe(args: argparse.Namespace) -> str:
    """CSV: the universe's members on --date (security_id, the ticker then)."""
    from equity_lake.cli.output import csv_text
    from equity_lake.lake import keys
    from equity_lake.reader import Lake

    day = cli_args.date(args.date, "--date") if args.date else dt.date.today()
    try:
        keys.universe(args.name)
    except keys.InvalidIdentifier as exc:
        raise cli_args.UsageError(f"universe: {exc}") from None
    return csv_text(["security_id", "symbol"], Lake().universe(args.name, day).to_pylist())


def show(args: argparse.Namespace) -> str:
    """CSV: each metric's latest value known on --as-of, with its period and inputs."""
    from equity_lake.cli.output import csv_text
    from equity_lake.lake import keys
    from equity_lake.reader import Lake

    as_of = cli_args.date(args.as_of, "--as-of") if args.as_of else dt.date.today()
    if args.cik:
        try:
            keys.cik(args.cik)
        except keys.InvalidIdentifier as exc:
            raise cli_args.UsageError(f"--cik: {exc}") from None
    found = Lake().metrics(args.cik or args.symbol, as_of)
    columns = ["metric", "value", "unit", "as_of_date", "period_end", "inputs"]
    return csv_text(columns, found.to_pylist())
