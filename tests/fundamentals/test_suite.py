"""The fundamentals expectation suite: real filings pass, each kind of bad row is named."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake.fundamentals.normalize import known_by
from equity_lake.quality.gate import validate_table
from tests.fundamentals.conftest import ALPHABET, APPLE, SNOWFLAKE, facts

AS_OF = dt.date(2026, 12, 31)


def test_the_real_filings_of_three_companies_pass():
    batch = pa.concat_tables(known_by(facts(c), AS_OF) for c in (APPLE, ALPHABET, SNOWFLAKE))
    outcome = validate_table(
        "fundamentals", batch, {"as_of": AS_OF, "ciks": [APPLE, ALPHABET, SNOWFLAKE]}
    )
    assert outcome.success, outcome.message()


def sample() -> pa.Table:
    """A few of Apple's facts: revenue (a duration), assets (an instant), an unmapped tag."""
    table = facts(APPLE)
    tags = pa.array(["RevenueFromContractWithCustomerExcludingAssessedTax", "Assets", "Goodwill"])
    rows = table.filter(pc.is_in(table.column("tag"), value_set=tags))
    return pa.concat_tables(
        [rows.filter(pc.equal(rows.column("tag"), t)).slice(0, 3) for t in tags.to_pylist()]
    )


def with_value(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pa.array(values, table.schema.field(column).type))


@pytest.mark.parametrize(
    "corrupt, failure",
    [
        (lambda t: with_value(t, "cik", 0, "320193"), "expect_column_values_to_match_regex(cik)"),
        (lambda t: with_value(t, "cik", 0, "0000789019"), "expect_column_values_to_be_in_set(cik"),
        (lambda t: with_value(t, "start", 0, dt.date(2030, 1, 1)), "(end >= start)"),
        (lambda t: with_value(t, "filed", 4, dt.date(2027, 1, 1)), "(filed <= 2026-12-31)"),
        (lambda t: with_value(t, "value", 1, float("nan")), "expect_column_values_to_not_be_null"),
        (lambda t: with_value(t, "value", 1, float("inf")), "value <= 1e+300"),
        (lambda t: with_value(t, "unit", 0, "EUR / share"), "expect_column_values_to_match_regex"),
        (lambda t: with_value(t, "unit", 0, "pure"), "expect_column_values_to_match_regex(unit)"),
        (lambda t: with_value(t, "accn", 2, "x"), "expect_column_values_to_match_regex(accn)"),
        (
            lambda t: pa.concat_tables([t, t.slice(3, 1)]),
            "expect_compound_columns_to_be_unique(cik, concept",
        ),
    ],
)
def test_a_bad_row_fails_the_batch_naming_the_expectation(corrupt, failure):
    good = sample()
    assert validate_table("fundamentals", good, {"as_of": AS_OF, "ciks": [APPLE]}).success
    outcome = validate_table("fundamentals", corrupt(good), {"as_of": AS_OF, "ciks": [APPLE]})
    assert not outcome.success
    assert any(failure in line for line in outcome.failures), outcome.failures


@pytest.mark.parametrize(
    "unusual, warning",
    [
        # a subsequent-event fact: its period ends after the 10-K was filed
        (lambda t: with_value(t, "filed", 0, dt.date(2000, 1, 1)), "(filed >= end): 1 of 9 rows"),
        # a reversal: negative revenue
        (lambda t: with_value(t, "value", 0, -5.0), "(value >= 0 where concept == 'revenue')"),
        # a cumulative-since-inception period, longer than any fiscal year
        (lambda t: with_value(t, "start", 0, dt.date(2010, 1, 1)), "(start where end - start >"),
    ],
)
def test_unusual_but_real_facts_are_kept_and_counted_as_warnings(unusual, warning):
    outcome = validate_table("fundamentals", unusual(sample()), {"as_of": AS_OF, "ciks": [APPLE]})
    assert outcome.success, outcome.message()
    assert outcome.failures == []
    assert [w for w in outcome.warnings if warning in w] != [], outcome.warnings
    assert outcome.result["success"] is True
    assert outcome.result["meta"]["equity_lake"]["warnings"] == list(outcome.warnings)
    assert "warning(s)" in outcome.message()


def test_the_real_filings_raise_no_warning_where_nothing_is_unusual():
    outcome = validate_table("fundamentals", sample(), {"as_of": AS_OF, "ciks": [APPLE]})
    assert outcome.success and outcome.warnings == ()


def test_a_company_may_mint_its_own_count_unit_but_not_for_a_canonical_concept():
    good = sample()
    goodwill = good.column("tag").to_pylist().index("Goodwill")
    minted = with_value(good, "unit", goodwill, "private_placement")
    assert validate_table("fundamentals", minted, {"as_of": AS_OF, "ciks": [APPLE]}).success
    revenue = with_value(good, "unit", 0, "private_placement")
    outcome = validate_table("fundamentals", revenue, {"as_of": AS_OF, "ciks": [APPLE]})
    assert not outcome.success and "(unit): 1 of 6 rows" in " ".join(outcome.failures)


def test_two_companies_of_one_joint_filing_may_report_the_same_fact():
    """A parent and its subsidiary can file one 10-K (one accession) with the same facts."""
    apple = sample()
    twin = apple.set_column(0, "cik", pa.array(["0000000042"] * apple.num_rows))
    outcome = validate_table(
        "fundamentals", pa.concat_tables([apple, twin]), {"as_of": AS_OF, "ciks": [APPLE, "42"]}
    )
    assert outcome.success, outcome.message()
