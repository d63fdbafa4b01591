"""Corporate actions from a remote source, merged into each security's actions file.

Events are fetched for the symbols the security master lists over the window, mapped to the
lake's rows (split ratio, dividend amount, symbol change) and attached to the security that
held the symbol on the event's date. They are published as the master build publishes its own
(``master_build.publish_actions``): the window's batch is audited by the corporate-actions suite
(a failing batch publishes nothing and is quarantined), then each security's file is merged on
(ex_date, action), so a re-run changes nothing and events other runs stored are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from equity_lake import calendar
from equity_lake.engine import wap
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.master_build import publish_actions, quality_warnings
from equity_lake.sources.alpaca import ActionRow, AlpacaClient, action_rows, client_from_env

SOURCES = ("alpaca",)
#: how many unresolved events a result lists by name
SHOW_UNRESOLVED = 20


@dataclass(frozen=True)
class Resolved:
    table: pa.Table  # CORPORATE_ACTIONS rows, sorted by security_id, ex_date
    unresolved: list[ActionRow]


def symbols_listed(master: SecurityMaster, start: dt.date, end: dt.date) -> list[str]:
    """Every symbol some security held at some point in ``[start, end]``."""
    return sorted(set(master.listed_between(start, end).column("symbol").to_pylist()))


def _holder(master: SecurityMaster, symbol: str | None, day: dt.date) -> int | None:
    if not symbol:
        return None
    try:
        return master.security_for_symbol(symbol, day)
    except (keys.InvalidIdentifier, ValueError):
        return None


def _day_before(day: dt.date) -> dt.date:
    try:
        return calendar.previous_session(day)
    except ValueError:
        return day - dt.timedelta(days=1)


def resolve(rows: list[ActionRow], master: SecurityMaster) -> Resolved:
    """Attach each event to its security; same-day dividends add up, same-day splits compound.

    A symbol change belongs to the security holding the new symbol on its date (or the old one
    the session before); other events to the holder of their symbol on the ex-date (or, for a
    split that came with a new ticker, the session before).
    """
    merged: dict[tuple[int, dt.date, str], dict] = {}
    unresolved: list[ActionRow] = []
    for row in rows:
        if row.action == "symbol_change":
            sid = _holder(master, row.new_symbol, row.ex_date)
            if sid is None:
                sid = _holder(master, row.old_symbol, _day_before(row.ex_date))
        else:
            sid = _holder(master, row.symbol, row.ex_date)
            if sid is None:
                sid = _holder(master, row.symbol, _day_before(row.ex_date))
        if sid is None:
            unresolved.append(row)
            continue
        key = (sid, row.ex_date, row.action)
        held = merged.get(key)
        if held is None:
            merged[key] = {
                "ratio": row.ratio,
                "amount": row.amount,
                "old_symbol": row.old_symbol,
                "new_symbol": row.new_symbol,
            }
        elif row.action == "dividend":
            held["amount"] += row.amount
        elif row.action == "split":
            held["ratio"] *= row.ratio
        else:
            held.update(old_symbol=row.old_symbol, new_symbol=row.new_symbol)
    order = sorted(merged)
    table = pa.table(
        {
            "security_id": pa.array([k[0] for k in order], pa.int64()),
            "ex_date": pa.array([k[1] for k in order], pa.date32()),
            "action": pa.array([k[2] for k in order], pa.string()),
            "ratio": pa.array([merged[k]["ratio"] for k in order], pa.float64()),
            "amount": pa.array([merged[k]["amount"] for k in order], pa.float64()),
            "old_symbol": pa.array([merged[k]["old_symbol"] for k in order], pa.string()),
            "new_symbol": pa.array([merged[k]["new_symbol"] for k in order], pa.string()),
        },
        schema=CORPORATE_ACTIONS,
    )
    return Resolved(table=table, unresolved=unresolved)


def ingest(
    store: LakeStore,
    start: dt.date,
    end: dt.date,
    *,
    source: str = "alpaca",
    symbols: list[str] | None = None,
    client: AlpacaClient | None = None,
    run_id: str | None = None,
) -> dict[str, object]:
    """Fetch ``source``'s events in ``[start, end]`` for the master's symbols, audit them and
    merge them in; ``run_id`` names the staging and quarantine objects (default: a fresh one).
    """
    if source not in SOURCES:
        raise ValueError(
            f"unknown corporate-actions source {source!r}; choose one of: {', '.join(SOURCES)}"
        )
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    master = SecurityMaster.load(store)
    wanted = symbols or symbols_listed(master, start, end)
    client = client or client_from_env()
    rows = action_rows(client.corporate_actions(wanted, start, end))
    resolved = resolve(rows, master)
    published = publish_actions(
        store,
        resolved.table,
        run_id=run_id or wap.new_run_id(f"actions-{source}"),
        day=end,
        partition=f"{source}-{start:%Y%m%d}-{end:%Y%m%d}",
    )
    return {
        "source": source,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "symbols": len(wanted),
        "events": resolved.table.num_rows,
        "securities": len(set(resolved.table.column("security_id").to_pylist())),
        "files_written": published.files_written,
        **quality_warnings(published.warnings),
        "unresolved": len(resolved.unresolved),
        "unresolved_examples": [
            f"{r.action} {r.symbol} {r.ex_date}" for r in resolved.unresolved[:SHOW_UNRESOLVED]
        ],
    }
