"""What was known on a date, checked against values read from the filings themselves."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake.fundamentals import pointintime as pit
from equity_lake.fundamentals.normalize import normalize
from tests.fundamentals.conftest import ALPHABET, APPLE, SNOWFLAKE, facts, raw

D = dt.date


def test_apple_fy2024_revenue_is_unknown_the_day_before_its_10k_and_known_on_the_day():
    table = facts(APPLE)
    period = {"start": D(2023, 10, 1), "end": D(2024, 9, 28)}
    assert pit.value_as_of(table, "revenue", as_of=D(2024, 10, 31), **period) is None
    fact = pit.value_as_of(table, "revenue", as_of=D(2024, 11, 1), **period)
    assert (fact.value, fact.unit, fact.form, fact.accn, fact.filed) == (
        391_035_000_000,
        "USD",
        "10-K",
        "0000320193-24-000123",
        D(2024, 11, 1),
    )
    income = pit.value_as_of(table, "net_income", as_of=D(2024, 11, 1), **period)
    assert income.value == 93_736_000_000 and income.accn == "0000320193-24-000123"


@pytest.mark.parametrize(
    "concept, end, value",
    [
        ("total_assets", D(2024, 9, 28), 364_980_000_000),
        ("shares_outstanding", D(2024, 9, 28), 15_116_786_000),
        ("long_term_debt", D(2024, 9, 28), 85_750_000_000),
    ],
)
def test_apple_balance_sheet_as_of_its_fy2024_10k(concept, end, value):
    fact = pit.value_as_of(facts(APPLE), concept, end=end, as_of=D(2024, 11, 1))
    assert fact.start is None and fact.value == value and fact.filed == D(2024, 11, 1)


def test_apple_diluted_eps_keeps_its_per_share_unit():
    fact = pit.value_as_of(
        facts(APPLE), "eps_diluted", start=D(2023, 10, 1), end=D(2024, 9, 28), as_of=D(2024, 11, 1)
    )
    assert (fact.value, fact.unit) == (6.08, "USD/shares")


def test_alphabet_values_as_first_filed_and_after_its_change_of_revenue_tag():
    table = facts(ALPHABET)
    fy2023 = {"start": D(2023, 1, 1), "end": D(2023, 12, 31)}
    assert pit.value_as_of(table, "revenue", as_of=D(2024, 1, 30), **fy2023) is None
    first = pit.value_as_of(table, "revenue", as_of=D(2024, 1, 31), **fy2023)
    assert (first.value, first.accn, first.form) == (
        307_394_000_000,
        "0001652044-24-000022",
        "10-K",
    )
    assert first.tag == "RevenueFromContractWithCustomerExcludingAssessedTax"
    # its 2025 10-K moved revenue to us-gaap:Revenues: same value, one series
    later = pit.value_as_of(table, "revenue", as_of=D(2026, 3, 1), **fy2023)
    assert (later.value, later.tag, later.accn) == (
        307_394_000_000,
        "Revenues",
        "0001652044-26-000018",
    )
    fy2024 = {"start": D(2024, 1, 1), "end": D(2024, 12, 31)}
    assert pit.value_as_of(table, "net_income", as_of=D(2025, 2, 4), **fy2024) is None
    income = pit.value_as_of(table, "net_income", as_of=D(2025, 2, 5), **fy2024)
    assert (income.value, income.accn) == (100_118_000_000, "0001652044-25-000014")


def test_snowflake_january_fiscal_year():
    table = facts(SNOWFLAKE)
    fy2024 = {"start": D(2023, 2, 1), "end": D(2024, 1, 31)}  # Snowflake's fiscal 2024
    assert pit.value_as_of(table, "revenue", as_of=D(2024, 3, 25), **fy2024) is None
    revenue = pit.value_as_of(table, "revenue", as_of=D(2024, 3, 26), **fy2024)
    assert (revenue.value, revenue.accn, revenue.filed) == (
        2_806_489_000,
        "0001640147-24-000101",
        D(2024, 3, 26),
    )
    # labelled fy=2024 by that 10-K but fy=2025 by the next one: periods go by start/end
    assert revenue.fy == 2024
    loss = pit.value_as_of(table, "net_income", as_of=D(2024, 3, 26), **fy2024)
    assert loss.value == -836_097_000


def test_a_restatement_adds_a_row_and_wins_only_from_its_filing_date():
    table = facts(APPLE)
    fy2009 = {"start": D(2008, 9, 28), "end": D(2009, 9, 26)}
    rows = table.filter(
        pc.and_(
            pc.equal(table.column("tag"), "SalesRevenueNet"),
            pc.equal(table.column("end"), fy2009["end"]),
        )
    )
    rows = rows.filter(pc.equal(rows.column("start"), fy2009["start"]))
    # the 10-K of 2009-10-27, then the 10-K/A of 2010-01-25 (revenue recognition restated)
    assert {r["accn"]: r["value"] for r in rows.to_pylist()}[
        "0001193125-09-214859"
    ] == 36_537_000_000
    before = pit.value_as_of(table, "revenue", as_of=D(2010, 1, 24), **fy2009)
    after = pit.value_as_of(table, "revenue", as_of=D(2010, 1, 25), **fy2009)
    assert (before.value, before.form) == (36_537_000_000, "10-K")
    assert (after.value, after.form, after.accn) == (
        42_905_000_000,
        "10-K/A",
        "0001193125-10-012091",
    )


def test_latest_as_of_lists_every_period_once_with_its_filing():
    latest = pit.latest_as_of(facts(APPLE), "revenue", D(2024, 11, 1))
    periods = [(r["start"], r["end"]) for r in latest.to_pylist()]
    assert len(periods) == len(set(periods))
    assert pc.max(latest.column("filed")).as_py() == D(2024, 11, 1)
    last = latest.to_pylist()[-1]
    assert (last["start"], last["end"], last["value"]) == (
        D(2023, 10, 1),
        D(2024, 9, 28),
        391_035_000_000,
    )


def foreign_filer():
    """An IFRS filer reporting in EUR (with a USD convenience translation), in EDGAR's format."""

    def fact(start, end, val, accn, form, filed):
        return {
            "start": start,
            "end": end,
            "val": val,
            "accn": accn,
            "fy": 2024,
            "fp": "FY",
            "form": form,
            "filed": filed,
        }

    year = ("2024-01-01", "2024-12-31")
    return {
        "cik": 1234567,
        "entityName": "Example SE",
        "facts": {
            "ifrs-full": {
                "Revenue": {
                    "units": {
                        "EUR": [
                            fact(*year, 1000, "0001234567-25-000010", "20-F", "2025-03-20"),
                            fact(*year, 1010, "0001234567-25-000020", "20-F/A", "2025-06-02"),
                        ],
                        "USD": [fact(*year, 1080, "0001234567-25-000010", "20-F", "2025-03-20")],
                    }
                }
            }
        },
    }


def test_a_foreign_currency_filer_is_kept_apart_by_unit():
    table = normalize(foreign_filer())
    year = {"start": D(2024, 1, 1), "end": D(2024, 12, 31)}
    with pytest.raises(ValueError, match=r"several units \(EUR, USD\); pass unit="):
        pit.value_as_of(table, "revenue", as_of=D(2025, 12, 31), **year)
    eur = pit.value_as_of(table, "revenue", as_of=D(2025, 12, 31), unit="EUR", **year)
    assert (eur.value, eur.form, eur.taxonomy) == (1010, "20-F/A", "ifrs-full")
    original = pit.value_as_of(table, "revenue", as_of=D(2025, 4, 1), unit="EUR", **year)
    assert original.value == 1000
    both = pit.latest_as_of(table, "revenue", D(2025, 12, 31))
    assert sorted((r["unit"], r["value"]) for r in both.to_pylist()) == [
        ("EUR", 1010),
        ("USD", 1080),
    ]


def test_an_unknown_concept_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown concept 'sales'; known concepts: capex"):
        pit.latest_as_of(facts(APPLE), "sales", D(2024, 1, 1))


def edited(cik: str, additions: dict[str, list[dict]]) -> pa.Table:
    """The company's real document with facts added under us-gaap tags (a later filing)."""
    doc = json.loads(raw(cik))
    gaap = doc["facts"]["us-gaap"]
    for tag, points in additions.items():
        gaap.setdefault(tag, {"label": tag, "units": {}})["units"].setdefault("USD", []).extend(
            points
        )
    return normalize(doc)


def point(start, end, val, accn, filed, form="10-K"):
    return {"start": start, "end": end, "val": val, "accn": accn, "fy": 2026, "fp": "FY",
            "form": form, "filed": filed}  # fmt: skip


def test_a_restatement_under_another_same_line_tag_wins_from_its_filing_date():
    # Apple's FY2024 operating cash flow, first filed as NetCashProvidedByUsedInOperating-
    # Activities; a later 10-K restates it under the ContinuingOperations tag
    fy2024 = {"start": D(2023, 10, 1), "end": D(2024, 9, 28)}
    restated = point("2023-10-01", "2024-09-28", 117_000_000_000, "0000320193-26-000900",
                     "2026-11-02")  # fmt: skip
    table = edited(
        APPLE, {"NetCashProvidedByUsedInOperatingActivitiesContinuingOperations": [restated]}
    )
    original = pit.value_as_of(table, "operating_cash_flow", as_of=D(2026, 11, 1), **fy2024)
    assert (original.value, original.tag, original.filed) == (
        118_254_000_000,
        "NetCashProvidedByUsedInOperatingActivities",
        D(2025, 10, 31),  # the FY2025 10-K's comparative column: same value, same tag
    )
    after = pit.value_as_of(table, "operating_cash_flow", as_of=D(2026, 11, 2), **fy2024)
    assert (after.value, after.tag, after.accn, after.fallback) == (
        117_000_000_000,
        "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",
        "0000320193-26-000900",
        False,
    )
    # the original stays queryable as of its own dates, in the whole-series answer too
    series = pit.latest_as_of(table, "operating_cash_flow", D(2025, 1, 1)).to_pylist()
    assert [r["value"] for r in series if r["end"] == fy2024["end"]] == [118_254_000_000]


def test_a_fallback_line_answers_only_until_a_same_line_value_is_known_and_says_so():
    # a period whose cash was first known only including restricted cash (a related line)
    end = "2026-06-27"
    table = edited(
        APPLE,
        {
            "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents": [
                point(None, end, 30_000_000_000, "0000320193-26-000700", "2026-07-31", "10-Q")
            ],
            "CashAndCashEquivalentsAtCarryingValue": [
                point(None, end, 28_000_000_000, "0000320193-26-000800", "2026-08-01", "10-Q/A")
            ],
        },
    )
    first = pit.value_as_of(table, "cash", end=D(2026, 6, 27), as_of=D(2026, 7, 31))
    assert (first.value, first.fallback) == (30_000_000_000, True)
    later = pit.value_as_of(table, "cash", end=D(2026, 6, 27), as_of=D(2026, 8, 1))
    assert (later.value, later.fallback, later.tag) == (
        28_000_000_000,
        False,
        "CashAndCashEquivalentsAtCarryingValue",
    )
    # a fallback never outranks a same-line value, even when filed later
    late_fallback = edited(
        APPLE,
        {
            "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents": [
                point(None, "2024-09-28", 1.0, "0000320193-26-000701", "2026-09-01")
            ]
        },
    )
    cash = pit.value_as_of(late_fallback, "cash", end=D(2024, 9, 28), as_of=D(2026, 12, 1))
    assert (cash.value, cash.fallback) == (29_943_000_000, False)


def test_depreciation_alone_is_its_own_concept_never_a_stand_in_for_d_and_a():
    # Alphabet reports depreciation of property and equipment, no total D&A line
    table = facts(ALPHABET)
    assert pit.latest_as_of(table, "depreciation_amortization", D(2026, 12, 31)).num_rows == 0
    depreciation = pit.latest_as_of(table, "depreciation", D(2026, 12, 31))
    assert depreciation.num_rows > 0
    assert set(depreciation.column("tag").to_pylist()) == {"Depreciation"}
