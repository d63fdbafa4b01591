"""The daily-ticks suite with context (each bar's previous bar): which checks, which severity,
and what it validates when no bar has a previous one (the lake's first day)."""

from __future__ import annotations

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
    context = daily_context.Context(computed.table, computed.compared, max_move=0.5)
    result = validate_table("daily-ticks", context.beside(bars), {**BASE, **context.params})
    assert result.success and result.warnings == ()
    copied = bars
    for name in ("open", "high", "low", "close", "volume"):
        copied = set_cell(copied, name, 1, bars.column(name)[0].as_py())
    flags = daily_context.compute(copied, {}, lambda wanted: {}).table.column("duplicate_bar")
    assert flags.to_pylist()[:3] == [True, True, False] and flags.null_count == 0
