"""DAG params that several DAGs offer alike (one definition, one validation in the UI form)."""

from __future__ import annotations

from airflow.sdk import Param

#: a ticker as a user types it: BRK.B, BRK-B, brk/b
SYMBOL_PATTERN = r"^[A-Za-z][A-Za-z0-9]{0,9}([.\-/][A-Za-z0-9]{1,4})?$"


def symbols() -> Param:
    return Param(
        None,
        type=["null", "array"],
        items={"type": "string", "pattern": SYMBOL_PATTERN},
        description="only these tickers, e.g. BRK.B or BRK-B (empty: the whole universe)",
    )


def chunk_size(default: int = 500) -> Param:
    return Param(
        default,
        type="integer",
        minimum=10,
        maximum=20000,
        description="securities per mapped ingest task (at most 1,000 tasks are made)",
    )


def ciks() -> Param:
    return Param(
        None,
        type=["null", "array"],
        items={"type": "string", "pattern": r"^[0-9]{1,10}$"},
        description="only these companies (empty: every company that filed)",
    )


def day(description: str) -> Param:
    """An optional date (the UI shows a date picker)."""
    return Param(None, type=["null", "string"], format="date", description=description)
