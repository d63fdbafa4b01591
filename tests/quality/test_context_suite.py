"""The daily-ticks suite with context (each bar's previous bar): which checks, which severity,
and what it validates when no bar has a previous one (the lake's first day)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake.datasets import daily_context
from equity_lake.quality import validate_table
from equity_lake.quality.context import DAILY_CONTEXT
from equity_lake.quality.suites import DAILY_TICKS_SCHEMA, daily_ticks
from tests.quality.quality_tables import ROWS, TRADING_DATE, make_daily_ticks, set_cell

BASE = {"trading_date": TRADING_DATE, "expected_rows": ROWS, "min_rows": ROWS}


def _checks(suite) -> list[tuple[str, str, str]]:
    """(type, column, severity) of each expectation on a context column."""
    context = set(DAILY_CONTEXT.names)
    return [
        (c.type, c.kwargs["column"], getattr(c.severity, "value", c.severity))
        for c in suite.expectation_configurations
        if c.kwargs.get("column") in context
    ]


def test_without_context_the_suite_is_unchanged():
    suite = daily_ticks(**BASE)
    assert len(suite.expectations) == 29 and _checks(suite) == []
    ordered = suite.expectation_configurations[0].kwargs["column_list"]
    assert ordered == DAILY_TICKS_SCHEMA.names


def test_context_checks_and_their_severities():
    suite = daily_ticks(**BASE, context=True, compared_rows=20)
    ordered = suite.expectation_configurations[0].kwargs["column_list"]
    assert ordered == DAILY_TICKS_SCHEMA.names + DAILY_CONTEXT.names
    between, in_set = "expect_column_values_to_be_between", "expect_column_values_to_be_in_set"
    median = "expect_column_median_to_be_between"
    assert _checks(suite) == [
        (between, "move", "warning"),
        (between, "move", "critical"),
        (in_set, "stale", "warning"),
        (in_set, "duplicate_bar", "critical"),
        (in_set, "zero_volume_move", "warning"),
        (between, "volume_ratio", "warning"),
        (median, "move", "critical"),
        (median, "volume_ratio", "critical"),
        (in_set, "stale", "critical"),
    ]
    mostly = suite.expectation_configurations[-1].kwargs["mostly"]
    assert mostly == pytest.approx(0.9)
    # too few compared rows for a batch-level verdict: the per-row checks only
    assert len(_checks(daily_ticks(**BASE, context=True, compared_rows=19))) == 6
    moves = daily_ticks(**BASE, context=True, max_move=0.3).expectation_configurations
    warn = next(c for c in moves if c.kwargs.get("column") == "move")
    assert (warn.kwargs["min_value"], warn.kwargs["max_value"]) == (0.7, 1.3)


def test_several_days_are_judged_day_by_day_on_the_day_columns():
    days = [TRADING_DATE, TRADING_DATE + dt.timedelta(days=1)]
    suite = daily_ticks(**{**BASE, "trading_date": days}, context=True, compared_rows=600)
    between = "expect_column_values_to_be_between"
    assert _checks(suite)[6:] == [
        (between, "day_median_move", "critical"),
        (between, "day_median_volume_ratio", "critical"),
        (between, "day_stale_share", "critical"),
    ]
    stale = suite.expectation_configurations[-1].kwargs
    assert stale["max_value"] == pytest.approx(0.1) and stale.get("mostly", 1) == 1


def _day_minimums(suite) -> dict[str, int]:
    return {
        c.kwargs["row_condition"]["pass_through_filter"]: c.kwargs["min_value"]
        for c in suite.expectation_configurations
        if c.type == "expect_table_row_count_to_be_between" and c.kwargs.get("row_condition")
    }


def test_each_day_has_its_own_row_minimum():
    days = [TRADING_DATE, TRADING_DATE + dt.timedelta(days=1)]
    minimums = {days[0].isoformat(): 270, days[1].isoformat(): 0}  # 0: no check
    suite = daily_ticks(
        trading_date=days, expected_rows=600, min_rows=540, min_rows_by_day=minimums
    )
    assert _day_minimums(suite) == {"timestamp == '2024-12-23'": 270}
    # no row may be missing (a complete source): the table's bound implies each day's
    complete = {**minimums, days[1].isoformat(): 300}
    suite = daily_ticks(
        trading_date=days, expected_rows=600, min_rows=600, min_rows_by_day=complete
    )
    assert _day_minimums(suite) == {}
    # one day: the table's own bound is that day's, unless the day asks for more
    one = {TRADING_DATE.isoformat(): ROWS}
    assert _day_minimums(daily_ticks(**BASE, min_rows_by_day=one)) == {}
    lower = {**BASE, "min_rows": 10}
    assert _day_minimums(daily_ticks(**lower, min_rows_by_day=one)) == {
        "timestamp == '2024-12-23'": ROWS
    }


def test_a_day_with_too_few_rows_fails_and_names_its_day():
    days = [TRADING_DATE, TRADING_DATE + dt.timedelta(days=1)]
    bars = pa.concat_tables([make_daily_ticks(), make_daily_ticks(rows=200, day=days[1])])
    params = {"trading_date": days, "expected_rows": 2 * ROWS, "min_rows": 450}
    minimums = {d.isoformat(): 270 for d in days}
    assert validate_table("daily-ticks", bars, params).success  # 500 of 600 rows overall
    result = validate_table("daily-ticks", bars, {**params, "min_rows_by_day": minimums})
    assert result.failures == [
        "expect_table_row_count_to_be_between(where timestamp == '2024-12-24'): "
        "observed 200 rows, expected at least 270"
    ]


@pytest.mark.parametrize(
    "minimums",
    [
        {TRADING_DATE: 1},  # keys are ISO strings: the params are stored as JSON
        {"2024-12-24": 1},  # not a trading date of the batch
        {TRADING_DATE.isoformat(): ROWS + 1},
        {TRADING_DATE.isoformat(): -1},
        [("2024-12-23", 1)],
    ],
)
def test_bad_day_minimums_are_rejected(minimums):
    with pytest.raises((TypeError, ValueError)):
        daily_ticks(**BASE, min_rows_by_day=minimums)


@pytest.mark.parametrize(
    "overrides", [{"context": "yes"}, {"max_move": 0}, {"max_move": True}, {"compared_rows": -1}]
)
def test_bad_context_params_are_rejected(overrides):
    with pytest.raises((TypeError, ValueError)):
        daily_ticks(**{**BASE, "context": True, **overrides})


def test_a_first_day_has_null_context_and_still_catches_a_copied_bar():
    bars = make_daily_ticks()
    computed = daily_context.compute(bars, {}, lambda wanted: {})  # nothing in the lake yet
    assert computed.compared == 0
    assert computed.table.column("move").null_count == ROWS
    assert set(computed.table.column("day_compared").to_pylist()) == {0}  # too few for a day's
    assert computed.table.column("day_median_move").null_count == ROWS  # verdict: none
    context = daily_context.Context(computed.table, computed.compared, max_move=0.5)
    result = validate_table("daily-ticks", context.beside(bars), {**BASE, **context.params})
    assert result.success and result.warnings == ()
    copied = bars
    for name in ("open", "high", "low", "close", "volume"):
        copied = set_cell(copied, name, 1, bars.column(name)[0].as_py())
    flags = daily_context.compute(copied, {}, lambda wanted: {}).table.column("duplicate_bar")
    assert flags.to_pylist()[:3] == [True, True, False] and flags.null_count == 0
