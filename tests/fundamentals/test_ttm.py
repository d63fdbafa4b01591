"""Trailing twelve months as known on each filing date (``fundamentals/ttm.py``)."""

import datetime as dt

import pyarrow.compute as pc

from equity_lake.fundamentals import ttm
from equity_lake.fundamentals.normalize import normalize
from tests.fundamentals.conftest import ALPHABET, APPLE, facts

D = dt.date


def rows(table, concept, unit=None):
    picked = table.filter(pc.equal(table.column("concept"), concept)).to_pylist()
    return [r for r in picked if unit is None or r["unit"] == unit]


def known_on(table, concept, day):
    """The TTM row a reader takes on ``day``: the latest as_of_date on or before it."""
    return max(
        (r for r in rows(table, concept) if r["as_of_date"] <= day), key=lambda r: r["as_of_date"]
    )


def document(periods, tag="Revenues", unit="USD", extra=None):
    """A companyfacts document of (start, end, value, accn, form, filed) periods."""
    items = [
        {"start": s, "end": e, "val": v, "accn": a, "fy": 2023, "fp": "Q", "form": f, "filed": d}
        for s, e, v, a, f, d in periods
    ]
    return {"cik": 42, "facts": {"us-gaap": {tag: {"units": {unit: items}}, **(extra or {})}}}


def acc(n):
    return f"0000000042-24-{n:06d}"


def test_apples_ttm_revenue_is_the_10k_year_then_the_four_latest_quarters():
    table = ttm.ttm(APPLE, facts(APPLE))
    fy2024 = known_on(table, "revenue", D(2024, 11, 1))  # the FY2024 10-K's day
    assert (fy2024["value"], fy2024["form"], fy2024["quarters"]) == (391_035_000_000, "10-K", 4)
    assert (fy2024["start"], fy2024["end"]) == (D(2023, 10, 1), D(2024, 9, 28))
    # Q1 FY2025 (124.300 bn) replaces Q1 FY2024 (119.575 bn)
    q1 = known_on(table, "revenue", D(2025, 1, 31))
    assert q1["value"] == 391_035_000_000 + 124_300_000_000 - 119_575_000_000
    assert q1["quarter_ends"] == [D(2024, 3, 30), D(2024, 6, 29), D(2024, 9, 28), D(2024, 12, 28)]
    assert known_on(table, "revenue", D(2025, 1, 30)) == fy2024  # not known a day earlier
    assert all(r["as_of_date"] >= r["end"] for r in table.to_pylist())


def test_a_balance_is_the_latest_value_known():
    table = ttm.ttm(ALPHABET, facts(ALPHABET))
    assets = known_on(table, "total_assets", D(2025, 2, 5))
    assert assets["end"] == D(2024, 12, 31) and assets["quarters"] == 0
    assert assets["value"] == 450_256_000_000


def test_a_missing_quarter_gives_no_ttm_until_four_contiguous_quarters_are_known():
    table = ttm.ttm(
        "0000000042",
        normalize(
            document(
                [
                    ("2023-01-01", "2023-03-31", 100, acc(1), "10-Q", "2023-05-01"),
                    ("2023-04-01", "2023-06-30", 110, acc(2), "10-Q", "2023-08-01"),
                    # Q3 2023 never filed
                    ("2023-10-01", "2023-12-31", 130, acc(4), "10-Q", "2024-02-01"),
                    ("2024-01-01", "2024-03-31", 140, acc(5), "10-Q", "2024-05-01"),
                    ("2024-04-01", "2024-06-30", 150, acc(6), "10-Q", "2024-08-01"),
                    ("2024-07-01", "2024-09-30", 160, acc(7), "10-Q", "2024-11-01"),
                ]
            )
        ),
    )
    revenue = rows(table, "revenue")
    assert [(r["as_of_date"], r["value"]) for r in revenue] == [(D(2024, 11, 1), 580)]


def test_a_53_week_year_chains_and_a_fiscal_year_change_does_not():
    weeks = [  # 13, 13, 13 and 14 weeks, each starting the day after the last ended
        ("2022-09-25", "2022-12-24", 10, acc(1), "10-Q", "2023-01-30"),
        ("2022-12-25", "2023-03-25", 20, acc(2), "10-Q", "2023-05-01"),
        ("2023-03-26", "2023-06-24", 30, acc(3), "10-Q", "2023-08-01"),
        ("2023-06-25", "2023-09-30", 40, acc(4), "10-Q", "2023-11-01"),
    ]
    fifty_three = rows(ttm.ttm("0000000042", normalize(document(weeks))), "revenue")
    assert [(r["as_of_date"], r["value"], r["quarters"]) for r in fifty_three] == [
        (D(2023, 11, 1), 100, 4)
    ]
    # a two-month transition period between fiscal years is no quarter: the chain breaks
    change = [
        ("2023-01-01", "2023-03-31", 10, acc(1), "10-Q", "2023-05-01"),
        ("2023-04-01", "2023-06-30", 20, acc(2), "10-Q", "2023-08-01"),
        ("2023-07-01", "2023-08-31", 30, acc(3), "10-KT", "2023-10-01"),
        ("2023-09-01", "2023-11-30", 40, acc(4), "10-Q", "2024-01-10"),
        ("2023-12-01", "2024-02-29", 50, acc(5), "10-Q", "2024-04-10"),
    ]
    assert rows(ttm.ttm("0000000042", normalize(document(change))), "revenue") == []


def test_a_restatement_adds_a_row_from_its_filing_day_and_keeps_the_earlier_one():
    periods = [
        ("2023-01-01", "2023-03-31", 100, acc(1), "10-Q", "2023-05-01"),
        ("2023-04-01", "2023-06-30", 110, acc(2), "10-Q", "2023-08-01"),
        ("2023-07-01", "2023-09-30", 120, acc(3), "10-Q", "2023-11-01"),
        ("2023-10-01", "2023-12-31", 130, acc(4), "10-Q", "2024-02-01"),
        ("2023-07-01", "2023-09-30", 125, acc(5), "10-Q/A", "2024-03-15"),  # Q3 restated
    ]
    revenue = rows(ttm.ttm("0000000042", normalize(document(periods))), "revenue")
    assert [(r["as_of_date"], r["value"], r["accn"]) for r in revenue] == [
        (D(2024, 2, 1), 460, acc(4)),
        (D(2024, 3, 15), 465, acc(5)),
    ]


def test_quarters_in_two_units_are_never_summed_together():
    periods = [
        ("2023-01-01", "2023-03-31", 100, acc(1), "10-Q", "2023-05-01"),
        ("2023-04-01", "2023-06-30", 110, acc(2), "10-Q", "2023-08-01"),
        ("2023-07-01", "2023-09-30", 120, acc(3), "10-Q", "2023-11-01"),
    ]
    euro = [("2023-10-01", "2023-12-31", 130, acc(4), "10-Q", "2024-02-01")]
    doc = document(periods)
    doc["facts"]["us-gaap"]["Revenues"]["units"]["EUR"] = document(euro)["facts"]["us-gaap"][
        "Revenues"
    ]["units"]["USD"]
    assert rows(ttm.ttm("0000000042", normalize(doc)), "revenue") == []
