"""Rebuilding one lake object from its source: how a corrupt object is repaired.

``equity-lake repair KEY`` sets the object's current bytes aside (``keys.corrupt_copy``), then
re-ingests what the object holds through the dataset's own gate and merge: every session of a
daily-ticks month for its security, a security's session of minute bars, or a company's EDGAR
facts. Nothing else is touched.
"""

from __future__ import annotations

import calendar as month_days
import datetime as dt
import re
from typing import Any

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore

DAILY_MONTH = re.compile(r"^data/raw/ticks/daily/(\d+)/(\d{4})/(\d{2})/ticks\.parquet$")
MINUTE_DAY = re.compile(r"^data/raw/ticks/minute/(\d+)/(\d{4})/(\d{2})/(\d{2})/ticks\.parquet$")
FUNDAMENTALS = re.compile(r"^data/raw/fundamental/(\d{10})/fundamental\.parquet$")


def repair(
    store: LakeStore, key: str, *, source: str, through: dt.date, run_id: str
) -> dict[str, Any]:
    """Rebuild ``key`` from the source, with data known through ``through``."""
    if match := DAILY_MONTH.fullmatch(key):
        sid, year, month = (int(g) for g in match.groups())
        return _daily_month(store, key, sid, year, month, source, through, run_id)
    if match := MINUTE_DAY.fullmatch(key):
        sid, year, month, day = (int(g) for g in match.groups())
        return _minute_day(store, key, sid, dt.date(year, month, day), source, run_id)
    if match := FUNDAMENTALS.fullmatch(key):
        return _fundamentals(store, key, match.group(1), through, run_id)
    raise ValueError(
        f"{key!r} is not an object repair rebuilds: a daily-ticks month "
        "(data/raw/ticks/daily/ID/YYYY/MM/ticks.parquet), a session of minute bars "
        "(data/raw/ticks/minute/ID/YYYY/MM/DD/ticks.parquet) or a company's facts "
        "(data/raw/fundamental/CIK/fundamental.parquet); rebuild the master with master build"
    )


def set_aside(store: LakeStore, key: str) -> str | None:
    """Keep the object's current bytes at ``keys.corrupt_copy(key)`` and remove it."""
    data = store.read_bytes(key)
    if data is None:
        return None
    kept = keys.corrupt_copy(key)
    store.write_bytes(kept, data)
    store.delete(key)
    return store.uri(kept)


def _daily_month(
    store: LakeStore,
    key: str,
    sid: int,
    year: int,
    month: int,
    source: str,
    through: dt.date,
    run_id: str,
) -> dict[str, Any]:
    import pyarrow.compute as pc

    from equity_lake.datasets import daily_ticks
    from equity_lake.master import SecurityMaster

    first = dt.date(year, month, 1)
    last = min(dt.date(year, month, month_days.monthrange(year, month)[1]), through)
    master = SecurityMaster.load(store)
    kept = set_aside(store, key)
    days, rows = [], 0
    for day in calendar.sessions_between(first, last) if first <= last else []:
        active = master.active_on(day)
        listed = active.filter(pc.equal(active.column("security_id"), sid))
        if listed.num_rows == 0:
            continue  # not listed that day: nothing to restore
        symbol = listed.column("symbol")[0].as_py()
        result = daily_ticks.ingest(store, day, source=source, symbols=[symbol], run_id=run_id)
        days.append(day.isoformat())
        rows += int(result["rows"])
    return {"key": key, "dataset": "daily-ticks", "kept": kept, "days": days, "rows": rows}


def _minute_day(
    store: LakeStore, key: str, sid: int, day: dt.date, source: str, run_id: str
) -> dict[str, Any]:
    """The security's bars of ``day`` again, in the configured session
    (``EQUITY_LAKE_MINUTE_SESSION``: a corrupt object cannot say which it held)."""
    import pyarrow.compute as pc

    from equity_lake.datasets import minute_ticks
    from equity_lake.master import SecurityMaster, trading_day

    active = SecurityMaster.load(store).active_on(trading_day(day))
    listed = active.filter(pc.equal(active.column("security_id"), sid))
    if listed.num_rows == 0:
        raise ValueError(f"security {sid} did not trade on {day}: {key} has nothing to restore")
    kept = set_aside(store, key)
    result = minute_ticks.ingest(
        store,
        day,
        source=source,
        symbols=[listed.column("symbol")[0].as_py()],
        run_id=run_id,
    )
    return {
        "key": key,
        "dataset": "minute-ticks",
        "kept": kept,
        "days": [day.isoformat()],
        "session": result["session"],
        "rows": int(result["rows"]),
    }


def _fundamentals(
    store: LakeStore, key: str, cik: str, through: dt.date, run_id: str
) -> dict[str, Any]:
    from equity_lake.datasets import fundamentals
    from equity_lake.sources.sec import SecClient

    with SecClient() as client:  # refuses to start without a User-Agent, before any change
        kept = set_aside(store, key)
        result = fundamentals.ingest(store, client, through, [cik], run_id=run_id)
    return {"key": key, "dataset": "fundamentals", "kept": kept, "facts": result["facts"]}
