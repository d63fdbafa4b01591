"""Concept coverage over the real companies the repository carries."""

import dataclasses
import datetime as dt
import gzip
import json

import pytest

from equity_lake.fundamentals import concepts, coverage
from equity_lake.fundamentals.normalize import normalize
from standins.edgar import DEMO_DATA

CARRIED = sorted((DEMO_DATA / "companyfacts").glob("*.json.gz"))
FAR = dt.date(2030, 1, 1)


@pytest.fixture(scope="module", params=CARRIED, ids=lambda p: p.name.split(".")[0])
def company(request):
    return normalize(json.loads(gzip.decompress(request.param.read_bytes())))


def test_the_repository_carries_the_five_real_companies():
    assert [p.name for p in CARRIED] == [
        "CIK0000019617.json.gz",  # JPMorgan Chase (a bank)
        "CIK0000104169.json.gz",  # Walmart (January fiscal year)
        "CIK0000320193.json.gz",  # Apple
        "CIK0001640147.json.gz",  # Snowflake
        "CIK0001652044.json.gz",  # Alphabet
    ]


def test_no_concept_is_missing_where_the_document_has_a_plausible_tag(company):
    gaps = coverage.gaps(company, FAR)
    assert gaps == [], "\n".join(
        f"{g.concept}: plausible {g.plausible_tags}, unmapped {g.unmapped_tags}" for g in gaps
    )


def test_the_core_statement_lines_are_covered_for_every_company(company):
    report = {c.concept: c for c in coverage.report(company, FAR)}
    for name in ("revenue", "net_income", "total_assets", "equity", "eps_diluted"):
        assert report[name].status == "covered", name
        assert report[name].periods > 0


def test_a_dropped_candidate_shows_up_as_a_gap(monkeypatch):
    apple = next(p for p in CARRIED if "320193" in p.name)
    table = normalize(json.loads(gzip.decompress(apple.read_bytes())))
    revenue = concepts.get("revenue")
    dropped = "us-gaap:SalesRevenueNet"
    narrowed = dataclasses.replace(revenue, same=tuple(t for t in revenue.same if t != dropped))
    monkeypatch.setitem(concepts.BY_NAME, "revenue", narrowed)
    monkeypatch.setattr(
        concepts,
        "CONCEPTS",
        tuple(narrowed if c.name == "revenue" else c for c in concepts.CONCEPTS),
    )
    [gap] = coverage.gaps(table, FAR)
    assert (gap.concept, gap.unmapped_tags) == ("revenue", (dropped,))


def test_an_ifrs_cash_generated_from_operations_is_a_marked_fallback():
    doc = {
        "cik": 1234567,
        "entityName": "Example plc",
        "facts": {
            "ifrs-full": {
                "CashFlowsFromUsedInOperations": {
                    "units": {
                        "EUR": [
                            {
                                "start": "2024-01-01",
                                "end": "2024-12-31",
                                "val": 500,
                                "accn": "0001234567-25-000010",
                                "fy": 2024,
                                "fp": "FY",
                                "form": "20-F",
                                "filed": "2025-03-20",
                            }  # fmt: skip
                        ]
                    }
                }
            }
        },
    }
    report = {c.concept: c for c in coverage.report(normalize(doc), FAR)}
    cash_flow = report["operating_cash_flow"]
    assert (cash_flow.status, cash_flow.periods, cash_flow.fallback_periods) == ("covered", 1, 1)
