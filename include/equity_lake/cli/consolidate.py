"""``consolidate --year Y [--dataset D]``: fold a closed year's tick objects (daily: monthly
files into each security's history; minute: day objects into months)."""

from __future__ import annotations

import argparse
from typing import Any

import equity_lake.cli.args as cli_args


def register(groups: dict[str, Any]) -> None:
    p = groups["_top"].add_parser(
        "consolidate",
        help="fold a closed year's daily-ticks months into history.parquet, or its minute-ticks "
        "days into months",
    )
    p.add_argument("--year", required=True, type=int, help="a past year, e.g. 2024")
    p.add_argument(
        "--dataset", default="daily-ticks", help="daily-ticks (the default) or minute-ticks"
    )
    p.add_argument("--chunk", help="I/N: the I-th of N slices of the year's securities")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=consolidate)


def consolidate(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake.datasets import consolidation
    from equity_lake.lake.store import LakeStore

    if args.dataset not in consolidation.FOLDS:
        known = ", ".join(consolidation.FOLDS)
        raise cli_args.UsageError(f"--dataset: {args.dataset!r} cannot be consolidated ({known})")
    return consolidation.consolidate(
        LakeStore(),
        args.year,
        dataset=args.dataset,
        chunk=cli_args.chunk(args.chunk, consolidation.CHUNKS.max_chunks),
        run_id=cli_args.run_id(args.run_id),
    )
