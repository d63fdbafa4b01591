"""``health``: rebuild the Data Docs site and the lake-health page beside it."""

from __future__ import annotations

import argparse
from typing import Any


def register(groups: dict[str, Any]) -> None:
    groups["_top"].add_parser(
        "health", help="rebuild the lake-health page and the Data Docs site"
    ).set_defaults(handler=health)


def health(args: argparse.Namespace) -> dict[str, Any]:
    """Both pages' URIs. A lake without a security master is refused (exit 2): it is most
    likely the wrong lake (``LAKE_URI``), and a page of nothing would hide that."""
    from equity_lake.health_page import publish_health
    from equity_lake.lake.store import LakeStore
    from equity_lake.master import SecurityMaster
    from equity_lake.runs import publish_data_docs

    store = LakeStore()
    SecurityMaster.load(store)  # MasterError names the master's key and the command to run
    return {"data_docs": publish_data_docs(store), "health": publish_health(store)}
