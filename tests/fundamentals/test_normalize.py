"""companyfacts JSON -> the long table, on the real documents of three companies."""

import datetime as dt
import json

import pyarrow.compute as pc
import pytest

from equity_lake.fundamentals.normalize import CompanyFactsError, known_by, normalize
from equity_lake.lake.schemas import FUNDAMENTALS
from tests.fundamentals.conftest import ALPHABET, APPLE, SNOWFLAKE, facts, raw


def fact_count(cik: str) -> int:
    doc = json.loads(raw(cik))
    return sum(
        len(items)
        for tags in doc["facts"].values()
        for body in tags.values()
        for items in body["units"].values()
    )


@pytest.mark.parametrize("cik", [APPLE, ALPHABET, SNOWFLAKE])
def test_every_fact_of_every_filing_becomes_one_row(cik):
    table = facts(cik)
    assert table.schema.equals(FUNDAMENTALS)
    assert table.num_rows == fact_count(cik)
    assert set(table.column("cik").to_pylist()) == {cik}
    # instants have no start; durations start on or before their end
    instants = table.filter(pc.is_null(table.column("start")))
    assert instants.num_rows > 0
    durations = table.filter(pc.is_valid(table.column("start")))
    assert pc.all(pc.less_equal(durations.column("start"), durations.column("end"))).as_py()


def test_a_fact_keeps_its_filing_and_period_as_filed():
    table = facts(APPLE)
    rows = table.filter(
        pc.and_(
            pc.equal(table.column("tag"), "RevenueFromContractWithCustomerExcludingAssessedTax"),
            pc.equal(table.column("accn"), "0000320193-24-000123"),
        )
    ).to_pylist()
    fy2024 = next(r for r in rows if r["end"] == dt.date(2024, 9, 28))
    assert fy2024 == {
        "cik": APPLE,
        "taxonomy": "us-gaap",
        "tag": "RevenueFromContractWithCustomerExcludingAssessedTax",
        "concept": "revenue",
        "unit": "USD",
        "start": dt.date(2023, 10, 1),
        "end": dt.date(2024, 9, 28),
        "value": 391_035_000_000.0,
        "accn": "0000320193-24-000123",
        "form": "10-K",
        "filed": dt.date(2024, 11, 1),
        "fy": 2024,
        "fp": "FY",
        "frame": None,  # EDGAR moved the frame to the 2025 10-K's comparative
    }


def test_pretty_printed_json_normalises_like_compact_json():
    doc = json.loads(raw(SNOWFLAKE))
    compact = json.dumps(doc, separators=(",", ":")).encode()
    assert normalize(compact).equals(facts(SNOWFLAKE))


def test_known_by_keeps_what_was_filed_on_or_before_the_day():
    table = known_by(facts(APPLE), dt.date(2024, 11, 1))
    assert pc.max(table.column("filed")).as_py() == dt.date(2024, 11, 1)
    assert table.num_rows < facts(APPLE).num_rows


def test_a_document_for_another_company_is_refused():
    with pytest.raises(CompanyFactsError, match="CIK 0000789019 describes CIK 0000320193"):
        normalize(raw(APPLE), cik="789019")


def minimal(**fact_overrides):
    fact = {
        "start": "2024-01-01",
        "end": "2024-03-31",
        "val": 5,
        "accn": "0000000001-24-000001",
        "fy": 2024,
        "fp": "Q1",
        "form": "10-Q",
        "filed": "2024-04-30",
    }
    fact.update(fact_overrides)
    fact = {k: v for k, v in fact.items() if v is not ...}
    return {"cik": 1, "facts": {"us-gaap": {"Revenues": {"units": {"USD": [fact]}}}}}


@pytest.mark.parametrize(
    "doc, message",
    [
        (b"<html>not json</html>", "not JSON"),
        (b"[1, 2]", "is a list, not an object"),
        ({"facts": {}}, "has no 'cik'"),
        (minimal(val=...), "us-gaap:Revenues fact in USD lacks 'val'"),
        (minimal(end="2024-13-45"), "'end' '2024-13-45' is not an ISO date"),
        (minimal(val="five"), "malformed field"),
    ],
)
def test_a_malformed_document_fails_with_one_line_naming_the_problem(doc, message):
    with pytest.raises(CompanyFactsError, match=message):
        normalize(json.dumps(doc).encode() if isinstance(doc, dict) else doc)


def test_a_company_without_xbrl_facts_is_an_empty_table():
    empty = normalize({"cik": 1, "entityName": "No XBRL", "facts": {}})
    assert empty.num_rows == 0 and empty.schema.equals(FUNDAMENTALS)
