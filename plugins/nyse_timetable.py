"""An Airflow timetable with one DAG run per NYSE (XNYS) trading session.

The run for session ``D`` has the data interval ``[open of D, close of D]`` in UTC (a half day
closes at 13:00 New York time) and is scheduled ``delay`` after the close. Weekends and
holidays simply have no run. Catchup, ``airflow backfill create`` and the live scheduler all
walk the same session list, so they produce the same logical dates and data intervals. A
manual run is mapped onto the latest session whose ``close + delay`` is at or before the
trigger time.

Tasks turn a run into its trading date with :func:`trading_date_of` (or
:func:`trading_date_from_context`, which also copes with a manual run that has no logical
date). Never use ``now()`` for that.

The calendar (``equity_lake.calendar``, i.e. pandas + exchange_calendars) is imported lazily
inside the methods that need it, so a DAG file that only *uses* this timetable stays cheap to
parse. The module is loaded by Airflow from ``$AIRFLOW_HOME/plugins`` (module name
``nyse_timetable``); the plugin class below registers the timetable so the scheduler and the
DAG processor can deserialize it.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.timetables.base import TimeRestriction
    from pendulum import DateTime

__all__ = [
    "DEFAULT_DELAY",
    "NYSESessionTimetable",
    "NYSETimetablePlugin",
    "trading_date_from_context",
    "trading_date_of",
]

log = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_DELAY = dt.timedelta(minutes=30)
MAX_DELAY = dt.timedelta(days=7)


def trading_date_of(data_interval_start: dt.datetime | str) -> dt.date:
    """The trading date (the session date in America/New_York) of a run's interval start.

    Accepts a tz-aware datetime (``data_interval_start`` from the task context, a pendulum
    ``DateTime``) or its ISO-8601 string form (e.g. a rendered ``{{ data_interval_start }}``).
    Naive datetimes are rejected: they are ambiguous.
    """
    if isinstance(data_interval_start, str):
        data_interval_start = dt.datetime.fromisoformat(data_interval_start)
    if not isinstance(data_interval_start, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(data_interval_start).__name__}")
    if data_interval_start.tzinfo is None or data_interval_start.utcoffset() is None:
        raise ValueError(f"data_interval_start must be timezone-aware: {data_interval_start!r}")
    return data_interval_start.astimezone(NEW_YORK).date()


def trading_date_from_context(context: Mapping[str, Any]) -> dt.date:
    """The trading date of the run a task belongs to, from its Airflow context.

    Uses ``data_interval_start`` when the run has one. A run triggered without a logical date
    (allowed in Airflow 3) has no data interval; it is then mapped like a manual trigger: onto
    the latest session whose close (+ the DAG timetable's delay) is at or before ``run_after``.
    """
    start = context.get("data_interval_start")
    if start is not None:
        return trading_date_of(start)
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is None:
        raise ValueError("the context has neither data_interval_start nor dag_run.run_after")
    timetable = getattr(context.get("dag"), "timetable", None)
    if not isinstance(timetable, NYSESessionTimetable):
        timetable = NYSESessionTimetable()
    return trading_date_of(timetable.infer_manual_data_interval(run_after=run_after).start)


def _utcnow() -> DateTime:
    """The current time (a seam for tests); only used to skip missed runs when catchup=False."""
    return pendulum.now("UTC")


def _utc(value: dt.datetime) -> DateTime:
    return pendulum.instance(value).in_timezone("UTC")


@lru_cache(maxsize=4096)
def _session_bounds(day: dt.date) -> tuple[DateTime, DateTime]:
    """(open, close) of session ``day`` as UTC pendulum instants."""
    from equity_lake import calendar

    return _utc(calendar.session_open_utc(day)), _utc(calendar.session_close_utc(day))


def _calendar_range() -> tuple[dt.date, dt.date]:
    from equity_lake import calendar

    return calendar.FIRST_SESSION, calendar.LAST_SESSION


class NYSESessionTimetable(Timetable):
    """One run per NYSE trading session, ``delay`` after the close.

    :param delay: how long after the session close the run is scheduled (default 30 minutes;
        at least 0, less than 7 days). A ``timedelta`` or a number of seconds.
    """

    run_ordering = ("data_interval_end", "logical_date")

    def __init__(self, delay: dt.timedelta | float = DEFAULT_DELAY) -> None:
        if isinstance(delay, bool) or not isinstance(delay, dt.timedelta | int | float):
            raise TypeError(f"delay must be a timedelta or seconds, got {type(delay).__name__}")
        if not isinstance(delay, dt.timedelta):
            delay = dt.timedelta(seconds=delay)
        self.delay = delay
        self.description = (
            f"One run per NYSE trading session, {_format_delay(delay)} after the close; "
            "data interval = session open..close (UTC); no runs on weekends or holidays"
        )

    # -- identity / UI / serialization ------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NYSESessionTimetable):
            return NotImplemented
        return self.delay == other.delay

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.delay))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(delay={self.delay!r})"

    @property
    def summary(self) -> str:
        return f"NYSE sessions, close + {_format_delay(self.delay)}"

    def serialize(self) -> dict[str, Any]:
        return {"delay": self.delay.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> NYSESessionTimetable:
        return cls(delay=dt.timedelta(seconds=data.get("delay", DEFAULT_DELAY.total_seconds())))

    def validate(self) -> None:
        from airflow.exceptions import AirflowTimetableInvalid

        if not dt.timedelta(0) <= self.delay < MAX_DELAY:
            raise AirflowTimetableInvalid(
                f"delay must be at least 0 and less than {MAX_DELAY}, got {self.delay}"
            )

    # -- the calendar -------------------------------------------------------------------------

    def dagrun_info_for(self, day: dt.date) -> DagRunInfo:
        """The scheduled run of session ``day`` (ValueError when ``day`` is not a session).

        ``run_after`` is also the earliest manual trigger time that maps onto ``day``, so
        ``dag.test(logical_date=timetable.dagrun_info_for(day).run_after)`` runs session
        ``day`` (passing the session's open instead would map onto the previous session).
        """
        open_, close = _session_bounds(day)
        return DagRunInfo(run_after=close + self.delay, data_interval=DataInterval(open_, close))

    def _first_session_at_or_after(self, instant: dt.datetime) -> dt.date | None:
        """The first session whose open (= the run's logical date) is at or after ``instant``."""
        from equity_lake import calendar

        first, last = _calendar_range()
        day = instant.astimezone(NEW_YORK).date()
        if day < first:
            return first
        if day > last:
            return None
        if calendar.is_session(day) and _session_bounds(day)[0] >= instant:
            return day
        return _next_session(day)

    def _latest_session_done_by(self, instant: dt.datetime) -> dt.date | None:
        """The latest session whose ``close + delay`` is at or before ``instant``."""
        from equity_lake import calendar

        first, last = _calendar_range()
        cutoff = instant - self.delay
        day = cutoff.astimezone(NEW_YORK).date()
        if day < first:
            return None
        if day > last:
            day = last
        if calendar.is_session(day) and _session_bounds(day)[1] <= cutoff:
            return day
        return _previous_session(day)

    # -- the Timetable protocol ---------------------------------------------------------------

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        day = self._latest_session_done_by(run_after)
        if day is None:
            raise ValueError(f"no NYSE session in the calendar ends before {run_after}")
        open_, close = _session_bounds(day)
        return DataInterval(open_, close)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        candidates: list[dt.date] = []
        if last_automated_data_interval is not None:
            after = _next_session(trading_date_of(last_automated_data_interval.start))
            if after is None:
                return None
            candidates.append(after)
        if restriction.earliest is not None:
            # The first session at/after start_date (also applies when start_date moved later).
            first = self._first_session_at_or_after(restriction.earliest)
            if first is None:
                return None
            candidates.append(first)
        if not candidates:
            return None  # never ran and no start_date: nothing to schedule
        if not restriction.catchup:
            # Skip missed sessions: the latest session that is already due, or later.
            latest_due = self._latest_session_done_by(_utcnow())
            if latest_due is not None:
                candidates.append(latest_due)
        day = max(candidates)
        info = self.dagrun_info_for(day)
        if restriction.latest is not None and not _within(day, restriction.latest):
            return None
        return info


def _within(day: dt.date, latest: dt.datetime) -> bool:
    """Whether session ``day`` is at or before ``latest``. A bound at midnight UTC is a date as
    a user types it (``airflow backfill create --to-date 2025-01-03``) and names that trading
    day inclusively, although the session's logical date (its open) is later that day."""
    if _session_bounds(day)[0] <= latest:
        return True
    latest = latest.astimezone(dt.UTC)
    return latest.time() == dt.time(0) and day <= latest.date()


def _next_session(day: dt.date) -> dt.date | None:
    from equity_lake import calendar

    first, last = _calendar_range()
    if day < first:
        return first
    try:
        return calendar.next_session(day)
    except ValueError:
        log.warning("NYSE calendar ends at %s: no session after %s", last, day)
        return None


def _previous_session(day: dt.date) -> dt.date | None:
    from equity_lake import calendar

    try:
        return calendar.previous_session(day)
    except ValueError:
        return None


def _format_delay(delay: dt.timedelta) -> str:
    """``30m``, ``2h``, ``2h15m``, ``90s`` ..."""
    seconds = int(delay.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or "0m"


class NYSETimetablePlugin(AirflowPlugin):
    """Registers :class:`NYSESessionTimetable` so serialized DAGs using it can be loaded."""

    name = "equity_lake_nyse_timetable"
    timetables = [NYSESessionTimetable]
