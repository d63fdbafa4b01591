"""Reading the lake as a researcher does: by ticker or security id and a date range, without
knowing the key layout.

Symbols resolve point in time: on each session the security that held the ticker that day
(a renamed security keeps its history, a reused ticker does not borrow another's). Rows of a
publish that has not committed are never returned (``lake/commits.py``).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from equity_lake import calendar
from equity_lake import symbols as symbology
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import MINUTE_TICKS
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

#: the longest range ``minute_bars`` reads at once (about 8,000 objects of one security)
MAX_MINUTE_DAYS = 31 * 12


class NotInLake(LookupError):
    """What was asked for is not in the lake; the message names it."""


def securities_by_day(
    master: SecurityMaster, security: str | int, days: list[dt.date]
) -> dict[dt.date, int]:
    """session -> the security a ticker (or an id, on the days it traded) named that day."""
    out: dict[dt.date, int] = {}
    if isinstance(security, int) or str(security).isdigit():
        sid = keys.security_id(int(security))
        for day in days:
            active = master.active_on(day).column("security_id").to_pylist()
            if sid in active:
                out[day] = sid
        return out
    for day in days:
        sid = security_for(master, str(security), day)
        if sid is not None:
            out[day] = sid
    return out


def security_for(master: SecurityMaster, typed: str, day: dt.date) -> int | None:
    """The security that held a ticker as a user types it (any spelling: ``BRK-B`` finds
    ``BRK.B``) on ``day``; None if nobody did."""
    for form in symbology.user_forms(symbology.user_symbol(typed)):
        sid = master.security_for_symbol(form, day)
        if sid is not None:
            return sid
    return None


def minute_bars(
    store: LakeStore,
    security: str | int,
    start: dt.date,
    end: dt.date | None = None,
    *,
    master: SecurityMaster | None = None,
) -> pa.Table:
    """One security's committed minute bars (MINUTE_TICKS) of the sessions ``start..end``
    (``end`` None: ``start`` only), oldest first. ``security`` is a ticker, resolved on each
    session, or a security id. NotInLake when the lake holds no bar of it in the range."""
    end = start if end is None else end
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if (end - start).days > MAX_MINUTE_DAYS:
        raise ValueError(f"at most {MAX_MINUTE_DAYS} days of minute bars at once")
    days = calendar.sessions_between(start, end)
    if not days:
        raise ValueError(f"no NYSE session between {start} and {end}")
    master = master or SecurityMaster.load(store)
    held = securities_by_day(master, security, days)
    if not held:
        raise NotInLake(f"no security traded as {security} between {start} and {end}")
    hidden = commits.masks(store, keys.MINUTE_TICKS_DATASET)

    def one(item: tuple[dt.date, int]) -> pa.Table | None:
        day, sid = item
        return commits.read_committed(store, keys.minute_ticks_day(sid, day), hidden, MINUTE_TICKS)

    parts = [t for t in read_all(one, sorted(held.items())) if t is not None and t.num_rows]
    if not parts:
        asked = str(start) if start == end else f"{start}..{end}"
        raise NotInLake(
            f"no minute bars of {security} for {asked} in the lake at {store.config.uri}"
        )
    return pa.concat_tables(parts).sort_by([("timestamp", "ascending")])
