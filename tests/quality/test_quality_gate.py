"""The daily-ticks quality gate: each corruption fails and names its expectation."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake.quality import GateResult, validate_table, warm_up
from equity_lake.quality.suites import DAILY_TICKS_SCHEMA, daily_ticks
from tests.quality.quality_tables import ROWS, TRADING_DATE, Mutation, make_daily_ticks, set_cell

PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
BETWEEN = "expect_column_values_to_be_between"


def _failed_heads(result: GateResult) -> set[str]:
    """The "type(subject)" part of each failure line."""
    return {line.split(":", 1)[0] for line in result.failures}


def test_good_partition_passes(good_table: pa.Table, params: dict[str, object]) -> None:
    result = validate_table("daily-ticks", good_table, params)

    assert result.success, result.message()
    assert result.dataset == "daily-ticks"
    assert result.failures == []
    assert result.sample_rows == []
    assert result.message() == "daily-ticks partition passed all 29 expectations"
    assert result.result["suite_name"] == "daily_ticks"
    assert result.result["statistics"]["evaluated_expectations"] == 29
    json.dumps(result.result)  # JSON-serialisable as returned, no default= needed


def test_the_test_table_matches_the_lake_schema(good_table: pa.Table) -> None:
    # Writers produce nullable fields; the suite's not-null checks stand in for nullable=False.
    assert good_table.schema.names == DAILY_TICKS_SCHEMA.names
    assert good_table.schema.types == DAILY_TICKS_SCHEMA.types


def test_row_count_bounds_are_inclusive(good_table: pa.Table) -> None:
    exact = {"trading_date": TRADING_DATE, "expected_rows": ROWS, "min_rows": ROWS}
    assert validate_table("daily-ticks", good_table, exact).success


@dataclass(frozen=True)
class Corruption:
    mutate: Mutation
    failures: set[str]  # exactly the expectations expected to fail
    bad_security_ids: tuple[int, ...] = ()  # rows that must appear in sample_rows


def _first(table: pa.Table, column: str, row: int) -> object:
    return table.column(column)[row].as_py()


CORRUPTIONS: dict[str, Corruption] = {
    "high below close": Corruption(
        lambda t: set_cell(t, "high", 5, _first(t, "close", 5) - 0.5),
        {f"{PAIR}(high >= close)", f"{PAIR}(high >= open)"},
        (10_005,),
    ),
    "low above open": Corruption(
        lambda t: set_cell(t, "low", 6, _first(t, "open", 6) + 0.5),
        {f"{PAIR}(open >= low)", f"{PAIR}(close >= low)"},
        (10_006,),
    ),
    "negative price": Corruption(
        lambda t: set_cell(t, "close", 7, -1.0),
        {f"{BETWEEN}(close > 0)", f"{PAIR}(close >= low)"},
        (10_007,),
    ),
    "zero price": Corruption(
        lambda t: set_cell(set_cell(t, "low", 3, 0.0), "open", 3, 0.0),
        {f"{BETWEEN}(low > 0)", f"{BETWEEN}(open > 0)"},
        (10_003,),
    ),
    "negative volume": Corruption(
        lambda t: set_cell(t, "volume", 8, -5),
        {f"{BETWEEN}(volume >= 0)"},
        (10_008,),
    ),
    "null close": Corruption(
        lambda t: set_cell(t, "close", 9, None),
        {"expect_column_values_to_not_be_null(close)"},
        (10_009,),
    ),
    # An int64 column with a null must still be an integer column: only not-null fails.
    "null volume": Corruption(
        lambda t: set_cell(t, "volume", 9, None),
        {"expect_column_values_to_not_be_null(volume)"},
        (10_009,),
    ),
    "duplicate security and day": Corruption(
        lambda t: set_cell(t, "security_id", 11, _first(t, "security_id", 10)),
        {"expect_compound_columns_to_be_unique(security_id, timestamp)"},
        (10_010,),
    ),
    "wrong trading date": Corruption(
        lambda t: set_cell(t, "timestamp", 12, dt.date(2024, 12, 20)),
        {"expect_column_values_to_be_in_set(timestamp in {2024-12-23})"},
        (10_012,),
    ),
    "too few rows": Corruption(
        lambda t: t.slice(0, ROWS - 50),
        {"expect_table_row_count_to_be_between"},
    ),
    "volume as float": Corruption(
        lambda t: t.set_column(7, "volume", pc.cast(t.column("volume"), pa.float64())),
        {"expect_column_type_to_be(volume)"},
    ),
    "timestamp as timestamp": Corruption(
        lambda t: t.set_column(2, "timestamp", pc.cast(t.column("timestamp"), pa.timestamp("ms"))),
        {"expect_column_type_to_be(timestamp)"},
    ),
    "security_id as int32": Corruption(
        lambda t: t.set_column(0, "security_id", pc.cast(t.column("security_id"), pa.int32())),
        {"expect_column_type_to_be(security_id)"},
    ),
    "missing column": Corruption(
        lambda t: t.drop_columns(["volume"]),
        {
            "expect_table_columns_to_match_ordered_list",
            "expect_column_type_to_be(volume)",
            "expect_column_values_to_not_be_null(volume)",
            f"{BETWEEN}(volume >= 0)",
        },
    ),
    "columns out of order": Corruption(
        lambda t: t.select(["symbol", "security_id", *t.column_names[2:]]),
        {"expect_table_columns_to_match_ordered_list"},
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
# pandas warns when GX's in-set check meets a datetime64 column (the "timestamp as
# timestamp" case); the type expectation is what reports that corruption.
@pytest.mark.filterwarnings("ignore:The behavior of 'isin':FutureWarning")
def test_corruption_fails_and_names_its_expectation(
    name: str, good_table: pa.Table, params: dict[str, object]
) -> None:
    corruption = CORRUPTIONS[name]
    bad = corruption.mutate(good_table)

    result = validate_table("daily-ticks", bad, params)

    assert not result.success
    assert _failed_heads(result) == corruption.failures, result.failures
    message = result.message()
    assert "\n" not in message
    count = len(corruption.failures)
    noun = "expectation" if count == 1 else "expectations"
    assert message.startswith(f"daily-ticks partition failed {count} {noun}: ")
    for line in result.failures:
        assert line in message
    sampled = [row["security_id"] for row in result.sample_rows]
    for security_id in corruption.bad_security_ids:
        assert security_id in sampled
    if corruption.bad_security_ids:
        assert "sample rows: {security_id=" in message
    json.dumps(result.result)


def test_failure_line_counts_rows(good_table: pa.Table, params: dict[str, object]) -> None:
    bad = set_cell(good_table, "high", 5, _first(good_table, "close", 5) - 0.5)

    result = validate_table("daily-ticks", bad, params)

    assert f"{PAIR}(high >= close): 1 of {ROWS} rows" in result.failures


def test_row_count_failure_reports_observed_and_bounds(
    good_table: pa.Table, params: dict[str, object]
) -> None:
    result = validate_table("daily-ticks", good_table.slice(0, 250), params)

    assert result.failures == [
        f"expect_table_row_count_to_be_between: observed 250 rows, expected {ROWS - 10}..{ROWS}"
    ]
    assert result.sample_rows == []


def test_type_failure_reports_observed_type(
    good_table: pa.Table, params: dict[str, object]
) -> None:
    bad = good_table.set_column(7, "volume", pc.cast(good_table.column("volume"), pa.float64()))

    result = validate_table("daily-ticks", bad, params)

    assert result.failures == ["expect_column_type_to_be(volume): observed float64, expected Int64"]


def test_sample_rows_are_the_offending_rows_from_the_table(
    good_table: pa.Table, params: dict[str, object]
) -> None:
    bad = set_cell(good_table, "close", 9, None)

    result = validate_table("daily-ticks", bad, params)

    assert result.sample_rows == [bad.slice(9, 1).to_pylist()[0]]
    assert result.sample_rows[0]["close"] is None
    assert result.sample_rows[0]["timestamp"] == TRADING_DATE


def test_sample_rows_are_capped_at_five_and_cover_each_failure(
    good_table: pa.Table, params: dict[str, object]
) -> None:
    bad = good_table
    for row in range(20, 40):
        bad = set_cell(bad, "volume", row, -1)
    bad = set_cell(bad, "close", 50, None)

    result = validate_table("daily-ticks", bad, params)

    assert len(result.sample_rows) == 5
    sampled = {row["security_id"] for row in result.sample_rows}
    assert 10_050 in sampled  # the single null-close row is not crowded out
    assert sampled <= {10_000 + r for r in range(20, 40)} | {10_050}
    assert f"{BETWEEN}(volume >= 0): 20 of {ROWS} rows" in result.failures


def test_run_name_and_batch_label_land_in_meta(
    good_table: pa.Table, params: dict[str, object]
) -> None:
    result = validate_table(
        "daily-ticks",
        good_table,
        params,
        run_name="scheduled__2024-12-23T21:00:00+00:00",
        batch_label="daily-ticks 2024-12-23 chunk 3/12",
    )

    meta = json.loads(json.dumps(result.result))["meta"]
    assert meta["run_id"]["run_name"] == "scheduled__2024-12-23T21:00:00+00:00"
    assert dt.datetime.fromisoformat(meta["run_id"]["run_time"]).tzinfo is not None
    assert meta["validation_time"] == meta["run_id"]["run_time"]
    assert meta["equity_lake"]["batch_label"] == "daily-ticks 2024-12-23 chunk 3/12"
    assert meta["equity_lake"]["params"] == {
        "trading_date": "2024-12-23",
        "expected_rows": ROWS,
        "min_rows": ROWS - 10,
    }
    assert meta["batch_kwargs"]["data_asset_name"] == "daily-ticks"


def test_default_run_name_and_label(good_table: pa.Table, params: dict[str, object]) -> None:
    meta = validate_table("daily-ticks", good_table, params).result["meta"]

    assert meta["equity_lake"]["batch_label"] == "daily-ticks 2024-12-23"
    assert meta["run_id"]["run_name"].startswith("daily-ticks__")


def test_iso_string_trading_date_is_accepted(good_table: pa.Table) -> None:
    params = {"trading_date": "2024-12-23", "expected_rows": ROWS, "min_rows": ROWS}
    assert validate_table("daily-ticks", good_table, params).success


def test_unknown_dataset_is_named() -> None:
    with pytest.raises(ValueError, match="'daily-tickz'"):
        validate_table("daily-tickz", make_daily_ticks(5), {})


def test_missing_params_are_named(good_table: pa.Table) -> None:
    with pytest.raises(ValueError, match="expected_rows, min_rows"):
        validate_table("daily-ticks", good_table, {"trading_date": TRADING_DATE})


def test_unknown_params_are_named(good_table: pa.Table, params: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="expected_row\\b"):
        validate_table("daily-ticks", good_table, {**params, "expected_row": 3})


@pytest.mark.parametrize(
    "overrides",
    [
        {"min_rows": ROWS + 1},
        {"expected_rows": -1},
        {"expected_rows": True},
        {"trading_date": dt.datetime(2024, 12, 23, 21, 0)},
    ],
)
def test_bad_param_values_are_rejected(
    overrides: dict[str, object], good_table: pa.Table, params: dict[str, object]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        validate_table("daily-ticks", good_table, {**params, **overrides})


def test_suite_is_built_from_parameters() -> None:
    suite = daily_ticks(trading_date=TRADING_DATE, expected_rows=6012, min_rows=5950)

    assert suite.name == "daily_ticks"
    configs = {c.type: c.kwargs for c in suite.expectation_configurations}
    assert configs["expect_table_row_count_to_be_between"]["min_value"] == 5950
    assert configs["expect_table_row_count_to_be_between"]["max_value"] == 6012
    assert configs["expect_column_values_to_be_in_set"]["value_set"] == [TRADING_DATE]


def test_gate_is_quiet(
    good_table: pa.Table,
    params: dict[str, object],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No GX progress bars or INFO chatter in task logs (Airflow logs at INFO)."""
    bad = set_cell(good_table, "volume", 8, -5)
    with caplog.at_level(logging.INFO):
        validate_table("daily-ticks", good_table, params)
        validate_table("daily-ticks", bad, params)

    captured = capsys.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert [r for r in caplog.records if r.name.startswith("great_expectations")] == []


def test_background_warm_up_then_validate(good_table: pa.Table, params: dict[str, object]) -> None:
    thread = warm_up(background=True)
    assert thread is not None

    result = validate_table("daily-ticks", good_table, params)  # waits for warm-up if needed
    thread.join(timeout=120)

    assert result.success and not thread.is_alive()
