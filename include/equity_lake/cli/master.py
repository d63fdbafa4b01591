"""``master build``: the security master, the trading calendar and corporate actions."""

from __future__ import annotations

import argparse
from typing import Any

SOURCES = ("sample", "crsp", "sec")


def register(groups: dict[str, Any]) -> None:
    p = groups["master"].add_parser("build", help="build / refresh the master and calendar")
    p.add_argument(
        "--source",
        default="sample",
        choices=SOURCES,
        help="sample (offline), crsp (WRDS) or sec (Nasdaq Trader directory + SEC tickers)",
    )
    p.set_defaults(handler=build)


def build(args: argparse.Namespace) -> Any:
    from equity_lake import master
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    return master.write(store, master.build(args.source, store))
