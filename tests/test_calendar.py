import datetime as dt

import pytest

from equity_lake import calendar

D = dt.date


def test_holiday_season_sessions():
    assert calendar.sessions_between(D(2024, 12, 23), D(2025, 1, 3)) == [
        D(2024, 12, 23),
        D(2024, 12, 24),
        D(2024, 12, 26),
        D(2024, 12, 27),
        D(2024, 12, 30),
        D(2024, 12, 31),
        D(2025, 1, 2),
        D(2025, 1, 3),
    ]


def test_half_day_closes_at_one_pm_new_york():
    assert calendar.session_close_utc(D(2024, 12, 24)) == dt.datetime(
        2024, 12, 24, 18, tzinfo=dt.UTC
    )
    assert calendar.session_close_utc(D(2024, 12, 23)) == dt.datetime(
        2024, 12, 23, 21, tzinfo=dt.UTC
    )


def test_neighbours_skip_weekends_and_holidays():
    assert calendar.next_session(D(2024, 12, 24)) == D(2024, 12, 26)
    assert calendar.previous_session(D(2025, 1, 2)) == D(2024, 12, 31)
    assert not calendar.is_session(D(2025, 1, 1))
    assert not calendar.is_session(D(2024, 12, 28))


def test_out_of_range_dates_are_refused():
    with pytest.raises(ValueError, match="outside"):
        calendar.is_session(D(1990, 1, 2))


def test_calendar_master_table():
    table = calendar.calendar_table(D(2024, 12, 23), D(2025, 1, 3))
    assert table.column_names[0] == "date"
    assert str(table.schema.field("date").type) == "date32[day]"
    assert table.num_rows == 8
    half = dict(
        zip(table.column("date").to_pylist(), table.column("is_half_day").to_pylist(), strict=False)
    )
    assert half[D(2024, 12, 24)] and not half[D(2024, 12, 23)]
