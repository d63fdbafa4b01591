"""The NYSE trading calendar, from exchange_calendars (XNYS).

Every date the lake stores or a DAG run targets is a session of this calendar; one place
answers "is D a trading day" so that the sample market, the DAGs and the gates agree.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

CALENDAR_NAME = "XNYS"
FIRST_SESSION = dt.date(2000, 1, 3)
LAST_SESSION = dt.date(2027, 12, 31)


@lru_cache(maxsize=1)
def _calendar():
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR_NAME, start=FIRST_SESSION, end=LAST_SESSION)


@lru_cache(maxsize=1)
def _session_ordinals() -> tuple[int, ...]:
    return tuple(ts.date().toordinal() for ts in _calendar().sessions)


def _check_range(day: dt.date) -> None:
    if not FIRST_SESSION <= day <= LAST_SESSION:
        raise ValueError(
            f"date {day} is outside the calendar's range {FIRST_SESSION}..{LAST_SESSION}"
        )


def is_session(day: dt.date) -> bool:
    """True when NYSE trades on ``day`` (half days included)."""
    _check_range(day)
    import bisect

    ords = _session_ordinals()
    i = bisect.bisect_left(ords, day.toordinal())
    return i < len(ords) and ords[i] == day.toordinal()


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Sessions in ``[start, end]``, oldest first."""
    import bisect

    _check_range(start)
    _check_range(end)
    ords = _session_ordinals()
    lo = bisect.bisect_left(ords, start.toordinal())
    hi = bisect.bisect_right(ords, end.toordinal())
    return [dt.date.fromordinal(o) for o in ords[lo:hi]]


def previous_session(day: dt.date) -> dt.date:
    """The last session strictly before ``day``."""
    import bisect

    _check_range(day)
    ords = _session_ordinals()
    i = bisect.bisect_left(ords, day.toordinal())
    if i == 0:
        raise ValueError(f"no session before {day} in the calendar's range")
    return dt.date.fromordinal(ords[i - 1])


def next_session(day: dt.date) -> dt.date:
    """The first session strictly after ``day``."""
    import bisect

    _check_range(day)
    ords = _session_ordinals()
    i = bisect.bisect_right(ords, day.toordinal())
    if i >= len(ords):
        raise ValueError(f"no session after {day} in the calendar's range")
    return dt.date.fromordinal(ords[i])


def session_close_utc(day: dt.date) -> dt.datetime:
    """The close of session ``day`` as a tz-aware UTC instant (13:00 ET on half days)."""
    if not is_session(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    import pandas as pd

    ts = _calendar().session_close(pd.Timestamp(day))
    return ts.to_pydatetime()


def session_open_utc(day: dt.date) -> dt.datetime:
    """The open of session ``day`` as a tz-aware UTC instant."""
    if not is_session(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    import pandas as pd

    return _calendar().session_open(pd.Timestamp(day)).to_pydatetime()


#: the trading sessions a minute-bar request can ask for
SESSION_KINDS = ("regular", "extended")
#: US extended hours: pre-market from 04:00 New York, post-market for four hours after the
#: close (20:00, or 17:00 after a 13:00 early close)
PRE_MARKET_OPEN = dt.time(4, 0)
POST_MARKET_HOURS = 4


def session_bounds(day: dt.date, session: str = "regular") -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the minutes of ``day``'s ``session`` as UTC instants: the regular
    session by the exchange calendar (half days included), or the extended hours around it."""
    if session not in SESSION_KINDS:
        raise ValueError(f"session {session!r} is not one of {', '.join(SESSION_KINDS)}")
    opens = session_open_utc(day).astimezone(dt.UTC)
    closes = session_close_utc(day).astimezone(dt.UTC)
    if session == "regular":
        return opens, closes
    from zoneinfo import ZoneInfo

    pre = dt.datetime.combine(day, PRE_MARKET_OPEN, tzinfo=ZoneInfo("America/New_York"))
    return pre.astimezone(dt.UTC), closes + dt.timedelta(hours=POST_MARKET_HOURS)


def session_dates(instants: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The session (New York date) of each UTC instant: a minute bar's day, whatever its
    session's hours (an extended session ends after midnight UTC)."""
    local = pc.cast(instants, pa.timestamp("us", tz="America/New_York"))
    return pc.cast(pc.local_timestamp(local), pa.date32())


def session_minutes(day: dt.date, session: str = "regular") -> int:
    """How many one-minute bars ``day``'s ``session`` can hold (390 on a full regular day)."""
    start, end = session_bounds(day, session)
    return int((end - start).total_seconds() // 60)


def calendar_table(start: dt.date = FIRST_SESSION, end: dt.date = LAST_SESSION) -> pa.Table:
    """The calendar master: one row per session, with its open and close instants."""
    cal = _calendar()
    days = sessions_between(start, end)
    import pandas as pd

    idx = pd.DatetimeIndex([pd.Timestamp(d) for d in days])
    opens = cal.opens.loc[idx]
    closes = cal.closes.loc[idx]
    return pa.table(
        {
            "date": pa.array(days, type=pa.date32()),
            "open": pa.array(opens.dt.tz_convert("UTC").to_list(), type=pa.timestamp("us", "UTC")),
            "close": pa.array(
                closes.dt.tz_convert("UTC").to_list(), type=pa.timestamp("us", "UTC")
            ),
            "is_half_day": pa.array(
                [(c - o) < pd.Timedelta(hours=6) for o, c in zip(opens, closes, strict=True)],
                type=pa.bool_(),
            ),
        }
    )
