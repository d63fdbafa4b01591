"""Data Docs built by GX from stored gate results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from equity_lake.quality import validate_table
from equity_lake.quality.docs import build_site
from tests.quality.quality_tables import ROWS, make_daily_ticks, set_cell

LABEL_OK = "daily-ticks 2024-12-23 chunk 1/2"
LABEL_BAD = "daily-ticks 2024-12-24 chunk 2/2"


@pytest.fixture(scope="module")
def stored_results() -> list[dict]:
    """Two results from two runs, round-tripped through JSON as the lake stores them."""
    day1, day2 = dt.date(2024, 12, 23), dt.date(2024, 12, 24)
    good = make_daily_ticks(day=day1)
    bad = set_cell(make_daily_ticks(day=day2), "volume", 4, -1)
    results = [
        validate_table(
            "daily-ticks",
            good,
            {"trading_date": day1, "expected_rows": ROWS, "min_rows": ROWS - 5},
            run_name="scheduled__2024-12-23",
            batch_label=LABEL_OK,
        ),
        validate_table(
            "daily-ticks",
            bad,
            {"trading_date": day2, "expected_rows": ROWS, "min_rows": ROWS - 5},
            run_name="scheduled__2024-12-24",
            batch_label=LABEL_BAD,
        ),
    ]
    assert [r.success for r in results] == [True, False]
    return [json.loads(json.dumps(r.result)) for r in results]


def _pages(site: Path) -> list[Path]:
    return sorted((site / "validations").rglob("*.html"))


def test_build_site_writes_index_listing_each_run(
    stored_results: list[dict], tmp_path: Path
) -> None:
    index = build_site(stored_results, tmp_path / "site")

    assert index == (tmp_path / "site" / "index.html").resolve()
    html = index.read_text(encoding="utf-8")
    assert "daily-ticks" in html and 'href="expectations/daily_ticks.html"' in html
    assert "scheduled__2024-12-23" in html and "scheduled__2024-12-24" in html
    # The label "<dataset> <date> <partition>" is split into the index's columns.
    for date, partition in (("2024-12-23", "chunk 1/2"), ("2024-12-24", "chunk 2/2")):
        assert f"<td>{date}</td>" in html and f">{partition}</a>" in html


def test_build_site_writes_one_page_per_validation(
    stored_results: list[dict], tmp_path: Path
) -> None:
    site = build_site(stored_results, tmp_path / "site").parent

    pages = _pages(site)
    assert len(pages) == 2
    texts = {p.read_text(encoding="utf-8") for p in pages}
    ok_page = next(t for t in texts if LABEL_OK in t)
    bad_page = next(t for t in texts if LABEL_BAD in t)
    assert "Succeeded" in ok_page
    assert "Failed" in bad_page
    assert "expect_column_values_to_be_between" not in ok_page  # rendered prose, not raw JSON
    assert "must be greater than or equal to" in bad_page
    assert (site / "expectations" / "daily_ticks.html").exists()


def test_rebuild_replaces_the_previous_site(stored_results: list[dict], tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(stored_results, out)

    build_site(stored_results[:1], out)

    assert len(_pages(out)) == 1
    assert "scheduled__2024-12-24" not in (out / "index.html").read_text("utf-8")


def test_gate_still_works_after_building_docs(
    stored_results: list[dict], tmp_path: Path, good_table: pa.Table, params: dict[str, object]
) -> None:
    build_site(stored_results, tmp_path / "site")

    assert validate_table("daily-ticks", good_table, params).success


def test_a_company_published_with_warnings_shows_them_on_its_page(tmp_path: Path) -> None:
    from tests.fundamentals.conftest import APPLE
    from tests.fundamentals.test_suite import sample, with_value

    unusual = with_value(sample(), "filed", 0, dt.date(2000, 1, 1))  # ends after its filing
    outcome = validate_table(
        "fundamentals",
        unusual,
        {"as_of": dt.date(2026, 12, 31), "ciks": [APPLE]},
        run_name="bulk-run",
        batch_label=f"fundamentals 2026-12-31 bulk-cik{APPLE}",
    )
    assert outcome.success and len(outcome.warnings) == 1
    index = build_site([json.loads(json.dumps(outcome.result))], tmp_path)
    assert "warning: expect_column_pair_values_a_to_be_greater_than_b(filed, end)" in (
        index.read_text()
    )
    [page] = _pages(tmp_path)
    html = page.read_text()
    assert "warnings" in html
    assert "1: expect_column_pair_values_a_to_be_greater_than_b(filed &gt;= end): 1 of 9" in html
