"""The NYSE session timetable: one run per session, the same runs whichever path makes them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DataInterval, TimeRestriction

import nyse_timetable as nt

D = dt.date
PLUGINS = Path(nt.__file__).resolve().parent

HOLIDAY_SEASON = [
    D(2024, 12, 20), D(2024, 12, 23), D(2024, 12, 24), D(2024, 12, 26), D(2024, 12, 27),
    D(2024, 12, 30), D(2024, 12, 31), D(2025, 1, 2), D(2025, 1, 3), D(2025, 1, 6),
]  # fmt: skip


def utc(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


def walk(timetable, earliest, latest, *, catchup: bool = True, last=None) -> list:
    """Chain next_dagrun_info like the scheduler / backfill do."""
    restriction = TimeRestriction(earliest, latest, catchup)
    infos, interval = [], last
    for _ in range(1000):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=interval, restriction=restriction
        )
        if info is None:
            return infos
        infos.append(info)
        interval = info.data_interval
    raise AssertionError("the timetable never stopped")


@pytest.fixture
def frozen_now(monkeypatch):
    """Set the timetable's notion of now (only used for catchup=False)."""

    def freeze(instant: pendulum.DateTime) -> None:
        monkeypatch.setattr(nt, "_utcnow", lambda: instant)

    return freeze


def test_one_run_per_session_over_the_holidays():
    infos = walk(nt.NYSESessionTimetable(), utc(2024, 12, 20), utc(2025, 1, 6, 23, 59))

    assert [nt.trading_date_of(i.data_interval.start) for i in infos] == HOLIDAY_SEASON
    by_day = {nt.trading_date_of(i.logical_date): i for i in infos}
    assert D(2024, 12, 25) not in by_day and D(2025, 1, 1) not in by_day
    # the half day closes at 13:00 New York = 18:00 UTC; the run is 30 minutes later
    half = by_day[D(2024, 12, 24)]
    assert half.data_interval == DataInterval(utc(2024, 12, 24, 14, 30), utc(2024, 12, 24, 18))
    assert half.run_after == utc(2024, 12, 24, 18, 30)
    full = by_day[D(2024, 12, 23)]
    assert full.data_interval == DataInterval(utc(2024, 12, 23, 14, 30), utc(2024, 12, 23, 21))
    assert full.run_after == utc(2024, 12, 23, 21, 30)
    for info in infos:
        assert info.logical_date == info.data_interval.start
        assert info.data_interval.start.tzinfo is not None
        assert info.run_after - info.data_interval.end == dt.timedelta(minutes=30)


def test_a_date_bound_names_trading_days_inclusively():
    """``airflow backfill create --from-date 2024-12-23 --to-date 2024-12-27`` passes the dates
    as midnight UTC: the 2024-12-27 session (logical date 14:30 UTC) is in the range."""
    infos = walk(nt.NYSESessionTimetable(), utc(2024, 12, 23), utc(2024, 12, 27))
    assert [nt.trading_date_of(i.logical_date) for i in infos] == [
        D(2024, 12, 23),
        D(2024, 12, 24),
        D(2024, 12, 26),
        D(2024, 12, 27),
    ]
    # a bound with a time of day is an instant: the session opening after it is out
    infos = walk(nt.NYSESessionTimetable(), utc(2024, 12, 23), utc(2024, 12, 27, 14))
    assert nt.trading_date_of(infos[-1].logical_date) == D(2024, 12, 26)


def test_daylight_saving_time_moves_the_utc_open():
    infos = walk(nt.NYSESessionTimetable(), utc(2025, 3, 7), utc(2025, 3, 10, 23))
    assert [(i.data_interval.start.hour, i.data_interval.end.hour) for i in infos] == [
        (14, 21),  # Fri 7 March, EST
        (13, 20),  # Mon 10 March, EDT
    ]


def test_restriction_bounds_are_logical_dates():
    timetable = nt.NYSESessionTimetable()
    # start_date mid-session: that session's logical date (its open) is before it, so skipped
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(utc(2024, 12, 20, 15), None, True),
    )
    assert nt.trading_date_of(first.logical_date) == D(2024, 12, 23)
    # an end at midnight UTC is a date: it includes that day's session (opening later)
    infos = walk(timetable, utc(2024, 12, 30), utc(2025, 1, 6))
    assert [nt.trading_date_of(i.logical_date) for i in infos] == HOLIDAY_SEASON[5:]
    # no start_date and no previous run: nothing to schedule
    assert (
        timetable.next_dagrun_info(
            last_automated_data_interval=None, restriction=TimeRestriction(None, None, True)
        )
        is None
    )


def test_a_start_date_moved_later_wins_over_the_last_run():
    timetable = nt.NYSESessionTimetable()
    last = DataInterval(utc(2024, 12, 20, 14, 30), utc(2024, 12, 20, 21))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=last, restriction=TimeRestriction(utc(2025, 1, 1), None, True)
    )
    assert nt.trading_date_of(info.logical_date) == D(2025, 1, 2)


def test_a_previous_interval_from_another_schedule_is_followed_by_the_next_session():
    # e.g. the DAG used to run on a midnight-UTC cron: 2024-12-24T00:00Z is 12-23 in New York
    last = DataInterval(utc(2024, 12, 24), utc(2024, 12, 25))
    info = nt.NYSESessionTimetable().next_dagrun_info(
        last_automated_data_interval=last, restriction=TimeRestriction(utc(2024, 1, 1), None, True)
    )
    assert nt.trading_date_of(info.logical_date) == D(2024, 12, 24)
    assert info.logical_date > last.start


def test_live_scheduling_matches_catchup_and_backfill(frozen_now):
    """A scheduler ticking every 15 minutes (catchup=False) creates exactly the backfill runs."""
    timetable = nt.NYSESessionTimetable()
    backfill = walk(timetable, utc(2024, 12, 20), utc(2025, 1, 6, 23, 59))

    start, live, last = utc(2024, 12, 20), [], None
    now = start
    while now < utc(2025, 1, 7):
        frozen_now(now)
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=TimeRestriction(start, None, False)
        )
        if info is not None and info.run_after <= now:
            live.append(info)  # the scheduler creates the run
            last = info.data_interval
        now = now.add(minutes=15)

    assert [(i.logical_date, i.data_interval, i.run_after) for i in live] == [
        (i.logical_date, i.data_interval, i.run_after) for i in backfill
    ]


def test_catchup_false_skips_to_the_latest_due_session(frozen_now):
    timetable = nt.NYSESessionTimetable()
    restriction = TimeRestriction(utc(2024, 1, 1), None, False)
    last = DataInterval(utc(2024, 12, 20, 14, 30), utc(2024, 12, 20, 21))

    # New Year's Day: the missed sessions since 12-20 are skipped, 12-31 is due
    frozen_now(utc(2025, 1, 1, 12))
    for previous in (None, last):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=previous, restriction=restriction
        )
        assert nt.trading_date_of(info.logical_date) == D(2024, 12, 31)

    # the close has passed but not the delay: the previous session is still the latest due
    frozen_now(utc(2024, 12, 31, 21, 29))
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert nt.trading_date_of(info.logical_date) == D(2024, 12, 30)
    frozen_now(utc(2024, 12, 31, 21, 30))
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert nt.trading_date_of(info.logical_date) == D(2024, 12, 31)

    # when the latest due session already ran, the next one is scheduled (in the future)
    ran = DataInterval(utc(2024, 12, 31, 14, 30), utc(2024, 12, 31, 21))
    info = timetable.next_dagrun_info(last_automated_data_interval=ran, restriction=restriction)
    assert nt.trading_date_of(info.logical_date) == D(2025, 1, 2)
    assert info.run_after == utc(2025, 1, 2, 21, 30)

    # a start_date in the future is respected
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(utc(2025, 1, 4), None, False)
    )
    assert nt.trading_date_of(info.logical_date) == D(2025, 1, 6)


@pytest.mark.parametrize(
    ("run_after", "session"),
    [
        (utc(2024, 12, 25, 12), D(2024, 12, 24)),  # Christmas -> the half day before
        (utc(2025, 1, 1, 23), D(2024, 12, 31)),  # New Year's Day
        (utc(2025, 1, 4, 15), D(2025, 1, 3)),  # Saturday -> Friday
        (utc(2025, 1, 5, 23), D(2025, 1, 3)),  # Sunday -> Friday
        (utc(2025, 1, 6, 15), D(2025, 1, 3)),  # Monday during the session -> Friday
        (utc(2025, 1, 6, 21, 29, 59), D(2025, 1, 3)),  # just before close + delay
        (utc(2025, 1, 6, 21, 30), D(2025, 1, 6)),  # exactly close + delay
        (utc(2025, 1, 7, 3), D(2025, 1, 6)),  # that evening in New York
        (utc(2024, 12, 24, 18, 30), D(2024, 12, 24)),  # half day, close + delay
    ],
)
def test_manual_trigger_maps_onto_the_latest_completed_session(run_after, session):
    interval = nt.NYSESessionTimetable().infer_manual_data_interval(run_after=run_after)
    assert nt.trading_date_of(interval.start) == session
    assert nt.trading_date_of(interval.end) == session
    assert interval.end <= run_after - dt.timedelta(minutes=30)


def test_dagrun_info_for_a_session_is_the_scheduled_run_and_its_trigger_time():
    timetable = nt.NYSESessionTimetable()
    scheduled = {i.logical_date: i for i in walk(timetable, utc(2024, 12, 20), utc(2025, 1, 7))}
    for day in HOLIDAY_SEASON:
        info = timetable.dagrun_info_for(day)
        assert scheduled[info.logical_date] == info
        # what dag.test(logical_date=...) / a UI trigger at run_after maps onto
        assert timetable.infer_manual_data_interval(run_after=info.run_after) == info.data_interval
        # ...whereas the session's own open maps onto the previous session
        earlier = timetable.infer_manual_data_interval(run_after=info.logical_date)
        assert nt.trading_date_of(earlier.start) < day
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        timetable.dagrun_info_for(D(2024, 12, 25))


def test_manual_trigger_respects_a_custom_delay():
    timetable = nt.NYSESessionTimetable(delay=dt.timedelta(hours=3))
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 6, 23))
    assert nt.trading_date_of(interval.start) == D(2025, 1, 3)
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 7, 0))
    assert nt.trading_date_of(interval.start) == D(2025, 1, 6)
    infos = walk(timetable, utc(2025, 1, 6), utc(2025, 1, 6, 23))
    assert [i.run_after for i in infos] == [utc(2025, 1, 7, 0)]


def test_serialize_round_trip_and_ui_text():
    default = nt.NYSESessionTimetable()
    assert default.serialize() == {"delay": 1800.0}
    assert nt.NYSESessionTimetable.deserialize(default.serialize()) == default
    assert nt.NYSESessionTimetable.deserialize({}) == default

    custom = nt.NYSESessionTimetable(delay=dt.timedelta(hours=2, minutes=15))
    data = json.loads(json.dumps(custom.serialize()))
    restored = nt.NYSESessionTimetable.deserialize(data)
    assert restored == custom and restored.delay == dt.timedelta(hours=2, minutes=15)
    assert restored != default
    assert nt.NYSESessionTimetable(delay=900) == nt.NYSESessionTimetable(dt.timedelta(minutes=15))

    assert default.summary == "NYSE sessions, close + 30m"
    assert custom.summary == "NYSE sessions, close + 2h15m"
    assert nt.NYSESessionTimetable(delay=0).summary == "NYSE sessions, close + 0m"
    assert nt.NYSESessionTimetable(delay=3600).summary == "NYSE sessions, close + 1h"
    assert "NYSE trading session" in default.description
    assert "30m after the close" in default.description
    assert default.type_name == "nyse_timetable.NYSESessionTimetable"
    assert default.periodic and default.can_be_scheduled


def test_validate_and_bad_arguments():
    nt.NYSESessionTimetable(delay=dt.timedelta(0)).validate()
    with pytest.raises(AirflowTimetableInvalid, match="delay"):
        nt.NYSESessionTimetable(delay=dt.timedelta(minutes=-1)).validate()
    with pytest.raises(AirflowTimetableInvalid, match="delay"):
        nt.NYSESessionTimetable(delay=dt.timedelta(days=8)).validate()
    with pytest.raises(TypeError):
        nt.NYSESessionTimetable(delay="30m")


def test_the_plugin_registers_the_timetable():
    assert nt.NYSESessionTimetable in nt.NYSETimetablePlugin.timetables
    assert nt.NYSETimetablePlugin.name == "equity_lake_nyse_timetable"


def test_calendar_edges_do_not_fail():
    timetable = nt.NYSESessionTimetable()
    # before the calendar starts: the first session it knows
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(utc(1999, 6, 1), None, True)
    )
    assert nt.trading_date_of(info.logical_date) == D(2000, 1, 3)
    # past its end: no more runs rather than an exception
    last = DataInterval(utc(2027, 12, 31, 14, 30), utc(2027, 12, 31, 21))
    assert (
        timetable.next_dagrun_info(
            last_automated_data_interval=last,
            restriction=TimeRestriction(utc(2024, 1, 1), None, True),
        )
        is None
    )
    assert (
        timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(utc(2030, 1, 1), None, True),
        )
        is None
    )


def test_trading_date_of():
    assert nt.trading_date_of(utc(2024, 12, 24, 14, 30)) == D(2024, 12, 24)
    assert nt.trading_date_of("2024-12-24T14:30:00+00:00") == D(2024, 12, 24)
    new_york_open = dt.datetime(2024, 12, 24, 9, 30, tzinfo=nt.NEW_YORK)
    assert nt.trading_date_of(new_york_open) == D(2024, 12, 24)
    # the date is the New York date, not the UTC one
    assert nt.trading_date_of(utc(2025, 1, 3, 4, 59)) == D(2025, 1, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        nt.trading_date_of(dt.datetime(2024, 12, 24, 14, 30))
    with pytest.raises(TypeError):
        nt.trading_date_of(D(2024, 12, 24))


def test_trading_date_from_context():
    assert nt.trading_date_from_context({"data_interval_start": utc(2024, 12, 24, 14, 30)}) == D(
        2024, 12, 24
    )
    # a manual run without a logical date has no data interval: map run_after like a trigger
    context = {
        "dag_run": SimpleNamespace(run_after=utc(2024, 12, 25, 12)),
        "dag": SimpleNamespace(timetable=nt.NYSESessionTimetable()),
    }
    assert nt.trading_date_from_context(context) == D(2024, 12, 24)
    context["dag"] = SimpleNamespace(timetable=nt.NYSESessionTimetable(delay=dt.timedelta(hours=4)))
    context["dag_run"] = SimpleNamespace(run_after=utc(2025, 1, 6, 23))
    assert nt.trading_date_from_context(context) == D(2025, 1, 3)
    with pytest.raises(ValueError):
        nt.trading_date_from_context({})


DAG_FILE = """
import datetime as dt
from airflow.sdk import DAG, task
from nyse_timetable import NYSESessionTimetable

with DAG(
    "uses_nyse_timetable",
    schedule=NYSESessionTimetable(delay=dt.timedelta(minutes=45)),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
):
    @task
    def noop():
        pass

    noop()
"""

PROBE = """
import json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag

heavy = ("pandas", "pyarrow", "exchange_calendars", "great_expectations")
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["uses_nyse_timetable"]  # get_dag() would query the metadata DB
loaded_on_parse = sorted(m for m in heavy if m in sys.modules)

from airflow.serialization.serialized_objects import DagSerialization

data = json.loads(json.dumps(DagSerialization.serialize_dag(dag)))
loaded_on_serialize = sorted(m for m in heavy if m in sys.modules)
sdag = DagSerialization.deserialize_dag(data)
infos = sdag.iter_dagrun_infos_between(
    pendulum.datetime(2024, 12, 20, tz="UTC"), pendulum.datetime(2025, 1, 6, 23, 59, tz="UTC")
)
print("RESULT " + json.dumps({
    "import_errors": bag.import_errors,
    "loaded_on_parse": loaded_on_parse,
    "loaded_on_serialize": loaded_on_serialize,
    "timetable": data["timetable"],
    "restored": repr(sdag.timetable),
    "summary": sdag.timetable.summary,
    "runs": [[i.logical_date.isoformat(), i.data_interval.end.isoformat(), i.run_after.isoformat()]
             for i in infos],
}))
"""


def test_a_dag_file_parses_lazily_and_the_registered_timetable_round_trips(tmp_path):
    """In a fresh interpreter configured like the scheduler: the plugin folder is the registry."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "uses_nyse_timetable.py").write_text(textwrap.dedent(DAG_FILE))
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    proc = subprocess.run(
        [sys.executable, str(probe), str(dags)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))

    assert result["import_errors"] == {}
    assert result["loaded_on_parse"] == []  # parsing never touches pandas / exchange_calendars
    assert result["loaded_on_serialize"] == []
    assert result["timetable"] == {
        "__type": "nyse_timetable.NYSESessionTimetable",
        "__var": {"delay": 2700.0},
    }
    assert result["restored"] == "NYSESessionTimetable(delay=datetime.timedelta(seconds=2700))"
    assert result["summary"] == "NYSE sessions, close + 45m"
    # Airflow's own backfill iteration over the deserialized DAG yields every session once
    runs = result["runs"]
    assert [nt.trading_date_of(dt.datetime.fromisoformat(r[0])) for r in runs] == HOLIDAY_SEASON
    assert runs[2] == [
        "2024-12-24T14:30:00+00:00",
        "2024-12-24T18:00:00+00:00",
        "2024-12-24T18:45:00+00:00",
    ]
