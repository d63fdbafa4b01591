"""Dated universes for survivorship-free research: who was in, under which ticker, when.

A universe is a table of membership periods (UNIVERSE_SCHEMA): ``security_id``, ``symbol``
(the ticker the security traded under during the period: a rename starts a new row), ``start``
and ``end`` (inclusive; null while it is still a member). A delisted security keeps its rows,
so ``members(universe, day)`` answers for any past day as it was, not as today's survivors.

* ``all_common``: every listed common stock (the master's ``is_etf`` true, and preferreds,
  warrants, units and rights by their symbol, are left out), from listing to delisting.
* ``top{N}`` (``top3000``): the N common stocks with the highest average daily dollar volume
  (close x volume) over the ``LOOKBACK`` sessions before each reconstitution, which happens on
  the first session of every month; a member leaves at the next reconstitution it misses, or
  when it delists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake import symbols as symbology

UNIVERSE_SCHEMA = pa.schema(
    [
        ("security_id", pa.int64()),
        ("symbol", pa.string()),
        ("start", pa.date32()),
        ("end", pa.date32()),
    ]
)
#: sessions of dollar volume a reconstitution averages
LOOKBACK = 20
NAMES = ("all_common", "top3000")


def all_common(master: pa.Table) -> pa.Table:
    """Membership periods of every common stock in ``master`` (a SECURITY_MASTER table)."""
    etf = pc.fill_null(master.column("is_etf"), False).to_pylist()
    keep = [
        not is_etf and _is_common(symbol)
        for symbol, is_etf in zip(master.column("symbol").to_pylist(), etf, strict=True)
    ]
    rows = master.filter(pa.array(keep, pa.bool_()))
    table = pa.table(
        {
            "security_id": rows.column("security_id"),
            "symbol": rows.column("symbol"),
            "start": rows.column("start_date"),
            "end": rows.column("end_date"),
        },
        schema=UNIVERSE_SCHEMA,
    )
    return table.sort_by([("start", "ascending"), ("security_id", "ascending")])


def _is_common(symbol: str) -> bool:
    try:
        return symbology.kind(symbol) == "common"
    except ValueError:
        return False


def members(universe: pa.Table, day: dt.date) -> pa.Table:
    """The members on ``day`` (security_id, symbol), by security_id."""
    scalar = pa.scalar(day, pa.date32())
    inside = pc.and_(
        pc.less_equal(universe.column("start"), scalar),
        pc.fill_null(pc.greater_equal(universe.column("end"), scalar), True),
    )
    found = universe.filter(inside).select(["security_id", "symbol"])
    return found.sort_by("security_id")


def reconstitution_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first session of every month from ``first``'s month to ``last``."""
    days, seen = [], set()
    for day in calendar.sessions_between(dt.date(first.year, first.month, 1), last):
        if (day.year, day.month) not in seen:
            seen.add((day.year, day.month))
            days.append(day)
    return days


def lookback_sessions(day: dt.date, sessions: int = LOOKBACK) -> list[dt.date]:
    """The ``sessions`` sessions before ``day`` (fewer at the calendar's start)."""
    out: list[dt.date] = []
    cursor = day
    while len(out) < sessions:
        try:
            cursor = calendar.previous_session(cursor)
        except ValueError:
            break
        out.append(cursor)
    return sorted(out)


def top_by_dollar_volume(
    common: pa.Table, bars: pa.Table, days: Sequence[dt.date], size: int
) -> pa.Table:
    """Membership periods of the ``size`` common stocks with the highest average daily dollar
    volume before each reconstitution day in ``days``; ``bars`` (DAILY_TICKS rows) must hold
    the lookback sessions of every reconstitution."""
    return periods(common, days, [picks(common, bars, day, size) for day in days])


def picks(common: pa.Table, bars: pa.Table, day: dt.date, size: int) -> set[int]:
    """The ``size`` common stocks with the highest average daily dollar volume (close x
    volume) over the lookback sessions before reconstitution ``day``. A security with no bar
    in the lookback averages over the sessions it traded; one with none is not ranked."""
    window = lookback_sessions(day)
    if not window:
        return set()
    eligible = members(common, day).column("security_id")
    stamp = bars.column("timestamp")
    mask = pc.and_(
        pc.and_(
            pc.greater_equal(stamp, pa.scalar(window[0], pa.date32())),
            pc.less_equal(stamp, pa.scalar(window[-1], pa.date32())),
        ),
        pc.is_in(bars.column("security_id"), value_set=eligible),
    )
    recent = bars.filter(mask)
    dollars = pc.multiply(
        pc.cast(recent.column("close"), pa.float64()),
        pc.cast(recent.column("volume"), pa.float64()),
    )
    ranked = (
        pa.table({"security_id": recent.column("security_id"), "dollars": dollars})
        .group_by("security_id")
        .aggregate([("dollars", "mean")])
    )
    ids = ranked.column("security_id").to_numpy()
    means = ranked.column("dollars_mean").to_numpy()
    order = np.lexsort((ids, -means))[:size]  # highest first; ties by security_id
    return {int(i) for i in ids[order]}


def size_of(name: str) -> int:
    """``top3000`` -> 3000."""
    if not name.startswith("top") or not name[3:].isdigit() or int(name[3:]) < 1:
        raise ValueError(f"universe {name!r} is not a top-N universe (e.g. top3000)")
    return int(name[3:])


def periods(common: pa.Table, days: Sequence[dt.date], chosen: Sequence[set[int]]) -> pa.Table:
    """Membership from the picks of consecutive reconstitution ``days`` (a pick holds until
    the session before the next day, the last one open), cut to the securities' listed
    symbol periods (a rename starts a new row; a delisting ends the membership)."""
    spans: dict[int, list[list[dt.date | None]]] = {}
    for i, (day, picked) in enumerate(zip(days, chosen, strict=True)):
        leave = calendar.previous_session(days[i + 1]) if i + 1 < len(days) else None
        for sid in picked:
            runs = spans.setdefault(sid, [])
            if runs and runs[-1][1] is not None and calendar.next_session(runs[-1][1]) == day:
                runs[-1][1] = leave  # still in: the membership runs on
            elif not runs or runs[-1][1] is not None:
                runs.append([day, leave])
    rows = []
    by_security: dict[int, list[dict]] = {}
    for period in common.to_pylist():
        by_security.setdefault(period["security_id"], []).append(period)
    for sid, runs in spans.items():
        for start, end in runs:
            for period in by_security.get(sid, []):
                lo = max(start, period["start"])
                hi = _earliest(end, period["end"])
                if hi is None or lo <= hi:
                    rows.append(
                        {"security_id": sid, "symbol": period["symbol"], "start": lo, "end": hi}
                    )
    table = pa.Table.from_pylist(rows, schema=UNIVERSE_SCHEMA)
    return table.sort_by([("start", "ascending"), ("security_id", "ascending")])


def _earliest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
