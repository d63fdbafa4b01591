"""``repair KEY``: rebuild one lake object (e.g. one named corrupt) from its source."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import equity_lake.cli.args as cli_args


def register(groups: dict[str, Any]) -> None:
    p = groups["_top"].add_parser("repair", help="rebuild one lake object from its source")
    p.add_argument("key", help="e.g. data/raw/ticks/daily/103404/2024/12/ticks.parquet")
    p.add_argument("--source", default="sample", help="sample, alpaca; crsp (daily)")
    p.add_argument("--date", help="rebuild with data known through this day (default: today)")
    p.add_argument("--run-id", help="names staging/quarantine keys (default: generated)")
    p.set_defaults(handler=repair)


def repair(args: argparse.Namespace) -> dict[str, Any]:
    from equity_lake import repair as repairs
    from equity_lake.lake.store import LakeStore

    through = cli_args.date(args.date) if args.date else dt.datetime.now(dt.UTC).date()
    return repairs.repair(
        LakeStore(),
        args.key,
        source=args.source,
        through=through,
        run_id=cli_args.run_id(args.run_id),
    )
