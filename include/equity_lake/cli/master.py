"""``master build``: the security master, the trading calendar and corporate actions."""

from __future__ import annotations

import argparse
from typing import Any


def register(groups: dict[str, Any]) -> None:
    from equity_lake import master_build

    p = groups["master"].add_parser("build", help="build / refresh the master and calendar")
    p.add_argument(
        "--source",
        default="sample",
        choices=master_build.sources(),
        help="sample (offline), crsp (WRDS) or sec (Nasdaq Trader directory + SEC tickers)",
    )
    p.set_defaults(handler=build)


def build(args: argparse.Namespace) -> Any:
    from equity_lake import master_build
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    return master_build.write(store, master_build.build(args.source, store))
