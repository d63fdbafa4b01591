"""Discrete quarters derived where only year-to-date or annual values were filed."""

import datetime as dt

import pytest

from equity_lake.fundamentals.normalize import normalize
from equity_lake.fundamentals.quarterly import quarters_as_of
from tests.fundamentals.conftest import APPLE, SNOWFLAKE, facts

D = dt.date


def quarter(table, start, end):
    rows = [r for r in table.to_pylist() if r["start"] == start and r["end"] == end]
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_apple_fourth_quarter_is_the_year_less_nine_months_once_the_10k_is_filed():
    q4 = (D(2024, 6, 30), D(2024, 9, 28))
    assert quarter(quarters_as_of(facts(APPLE), "revenue", D(2024, 10, 31)), *q4) is None
    row = quarter(quarters_as_of(facts(APPLE), "revenue", D(2024, 11, 1)), *q4)
    # 391,035 (FY, 10-K) - 296,105 (nine months, Q3 10-Q) = 94,930 ($m)
    assert (row["value"], row["derived"], row["method"]) == (94_930_000_000, True, "ytd_difference")
    assert (row["filed"], row["accn"], row["form"]) == (
        D(2024, 11, 1),
        "0000320193-24-000123",
        "10-K",
    )
    q3 = quarter(
        quarters_as_of(facts(APPLE), "revenue", D(2024, 11, 1)), D(2024, 3, 31), D(2024, 6, 29)
    )
    assert (q3["value"], q3["derived"], q3["method"]) == (85_777_000_000, False, "reported")


def test_snowflake_cash_flow_year_to_date_becomes_quarterly():
    table = quarters_as_of(facts(SNOWFLAKE), "operating_cash_flow", D(2024, 12, 31))
    q1 = quarter(table, D(2024, 2, 1), D(2024, 4, 30))
    q2 = quarter(table, D(2024, 5, 1), D(2024, 7, 31))
    q3 = quarter(table, D(2024, 8, 1), D(2024, 10, 31))
    assert (q1["value"], q1["method"]) == (355_468_000, "reported")
    assert (q2["value"], q2["method"]) == (425_333_000 - 355_468_000, "ytd_difference")
    assert (q3["value"], q3["filed"]) == (527_039_000 - 425_333_000, D(2024, 11, 27))
    fy2025_q4 = quarters_as_of(facts(SNOWFLAKE), "revenue", D(2025, 3, 21))
    assert quarter(fy2025_q4, D(2024, 11, 1), D(2025, 1, 31))["value"] == 986_770_000


def discrete_filer():
    """A filer whose 10-Qs give the quarter only and whose 10-K gives the year only."""
    periods = [
        ("2023-01-01", "2023-03-31", 100, "0000000042-23-000001", "10-Q", "2023-05-01"),
        ("2023-04-01", "2023-06-30", 110, "0000000042-23-000002", "10-Q", "2023-08-01"),
        ("2023-07-01", "2023-09-30", 120, "0000000042-23-000003", "10-Q", "2023-11-01"),
        ("2023-01-01", "2023-12-31", 460, "0000000042-24-000001", "10-K", "2024-02-20"),
    ]
    facts_ = [
        {"start": s, "end": e, "val": v, "accn": a, "fy": 2023, "fp": "Q", "form": f, "filed": d}
        for s, e, v, a, f, d in periods
    ]
    eps = [dict(f, val=f["val"] / 100) for f in facts_]
    return {
        "cik": 42,
        "facts": {
            "us-gaap": {
                "Revenues": {"units": {"USD": facts_}},
                "EarningsPerShareBasic": {"units": {"USD/shares": eps}},
            }
        },
    }


def test_a_filer_of_the_annual_value_only_gets_q4_as_the_year_less_three_quarters():
    table = normalize(discrete_filer())
    q4 = quarter(quarters_as_of(table, "revenue", D(2024, 2, 20)), D(2023, 10, 1), D(2023, 12, 31))
    assert (q4["value"], q4["method"], q4["accn"]) == (
        460 - 100 - 110 - 120,
        "annual_less_quarters",
        "0000000042-24-000001",
    )
    before = quarters_as_of(table, "revenue", D(2024, 2, 19))
    assert quarter(before, D(2023, 10, 1), D(2023, 12, 31)) is None and before.num_rows == 3


def test_per_share_values_are_never_derived_by_difference():
    eps = quarters_as_of(normalize(discrete_filer()), "eps_basic", D(2024, 12, 31))
    assert eps.num_rows == 3 and not any(eps.column("derived").to_pylist())


def test_a_balance_has_no_quarterly_flow():
    with pytest.raises(ValueError, match="total_assets is an instant"):
        quarters_as_of(facts(APPLE), "total_assets", D(2024, 12, 31))
