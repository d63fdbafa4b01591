"""Fundamental metrics as known on each date (``fundamentals/metrics.py``)."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake.fundamentals import metrics, ttm
from equity_lake.fundamentals.pointintime import value_as_of
from tests.fundamentals.conftest import ALPHABET, APPLE, SNOWFLAKE, facts

D = dt.date


@pytest.fixture(scope="module", params=[APPLE, ALPHABET, SNOWFLAKE])
def company(request):
    cik = request.param
    table = ttm.ttm(cik, facts(cik))
    return cik, facts(cik), metrics.fundamental_metrics(cik, table)


def latest(table, metric, day):
    picked = [r for r in table.to_pylist() if r["metric"] == metric and r["as_of_date"] <= day]
    return max(picked, key=lambda r: r["as_of_date"])


def test_apples_fy2024_ratios_are_the_10k_figures():
    table = metrics.fundamental_metrics(APPLE, ttm.ttm(APPLE, facts(APPLE)))
    day = D(2024, 11, 1)  # the FY2024 10-K
    assert latest(table, "net_margin", day)["value"] == pytest.approx(93_736 / 391_035)
    assert latest(table, "gross_margin", day)["value"] == pytest.approx(180_683 / 391_035)
    assert latest(table, "free_cash_flow", day)["value"] == 118_254_000_000 - 9_447_000_000
    assert latest(table, "revenue_growth", day)["value"] == pytest.approx(391_035 / 383_285 - 1)
    assert latest(table, "net_margin", D(2024, 10, 31))["period_end"] < D(2024, 9, 28)


def test_every_value_is_recomputed_from_the_facts_known_on_its_date(company):
    """A sample of rows: each input's value as known that day (from the raw facts, by the
    point-in-time look-up), no input filed after the row's date, the same number."""
    cik, raw, table = company
    filed = dict(zip(raw.column("accn").to_pylist(), raw.column("filed").to_pylist(), strict=True))
    checked = 0
    for row in table.to_pylist()[::7]:
        inputs = [part.split(" ") for part in row["inputs"].split("; ")]
        assert row["inputs_known"] <= row["as_of_date"]
        assert all(filed[accn] <= row["as_of_date"] for _, _, accn in inputs)
        if row["metric"] not in ("net_margin", "operating_margin", "current_ratio"):
            continue
        (top, top_end, _), (bottom, bottom_end, _) = inputs
        values = [
            _known_value(raw, concept, D.fromisoformat(end), row["as_of_date"])
            for concept, end in ((top, top_end), (bottom, bottom_end))
        ]
        if None in values:
            continue  # a TTM of four quarters: no single filed period to look up
        assert row["value"] == pytest.approx(values[0] / values[1], rel=1e-12)
        checked += 1
    assert checked >= 3


def _known_value(raw, concept, end, day):
    """The concept's value for the fiscal year (or the balance) ending ``end`` as known."""
    if concept in ("current_assets", "current_liabilities"):
        fact = value_as_of(raw, concept, end=end, as_of=day, unit="USD")
        return None if fact is None else fact.value
    for days in range(350, 381):
        fact = value_as_of(
            raw, concept, start=end - dt.timedelta(days=days - 1), end=end, as_of=day, unit="USD"
        )
        if fact is not None:
            return fact.value
    return None


def test_a_zero_denominator_or_a_missing_input_gives_no_row():
    rows = [
        _ttm_row("revenue", 0.0, D(2024, 3, 31), D(2024, 5, 1)),
        _ttm_row("net_income", 10.0, D(2024, 3, 31), D(2024, 5, 1)),
        _ttm_row("current_assets", 50.0, D(2024, 3, 31), D(2024, 5, 1)),
    ]
    table = metrics.fundamental_metrics("0000000042", pa.Table.from_pylist(rows, ttm.TTM_SCHEMA))
    assert table.num_rows == 0
    values = table.column("value") if table.num_rows else pa.array([], pa.float64())
    assert not pc.any(pc.is_inf(values)).as_py()


def _ttm_row(concept, value, end, known):
    return {
        "cik": "0000000042",
        "concept": concept,
        "as_of_date": known,
        "value": value,
        "unit": "USD",
        "start": None,
        "end": end,
        "accn": "0000000042-24-000001",
        "form": "10-Q",
        "quarters": 0,
        "quarter_ends": [],
    }


def test_market_metrics_use_only_the_share_count_and_ttm_known_that_day():
    table = ttm.ttm(APPLE, facts(APPLE))
    prices = pa.table(
        {
            "security_id": [7, 7],
            "timestamp": pa.array([D(2024, 10, 31), D(2024, 11, 1)], pa.date32()),
            "close": [225.91, 222.91],
        }
    )
    market = metrics.market_metrics(APPLE, table, prices)
    cap = {r["as_of_date"]: r for r in market.to_pylist() if r["metric"] == "market_cap"}
    # the 10-K of 2024-11-01 brought a new share count: the day before has the 10-Q's
    july, october = 15_204_137_000, 15_115_823_000
    assert cap[D(2024, 10, 31)]["value"] == pytest.approx(225.91 * july)
    assert cap[D(2024, 11, 1)]["value"] == pytest.approx(222.91 * october)
    assert all(r["inputs_known"] <= r["as_of_date"] for r in market.to_pylist())
    ps = next(
        r for r in market.to_pylist() if r["metric"] == "ps" and r["as_of_date"] == D(2024, 11, 1)
    )
    assert ps["value"] == pytest.approx(222.91 * october / 391_035_000_000)
    assert set(market.column("metric").to_pylist()) == set(metrics.MARKET_METRICS)


def test_the_suites_pass_real_rows_and_catch_each_impossible_row():
    from equity_lake.quality.gate import validate_table

    table = ttm.ttm(SNOWFLAKE, facts(SNOWFLAKE))
    assert validate_table("derived-ttm", table, {"ciks": [SNOWFLAKE]}).success
    found = metrics.fundamental_metrics(SNOWFLAKE, table)
    assert validate_table("derived-metrics", found, {"ciks": [SNOWFLAKE]}).success
    first = found.to_pylist()[0]
    for change, named in [
        ({"as_of_date": first["period_end"] - dt.timedelta(days=1)}, "as_of_date >= period_end"),
        ({"metric": "vibes"}, "metric in"),
        ({"value": float("inf")}, "value >= -1e+300"),
    ]:
        rows = [{**first, **change}, *found.to_pylist()[1:]]
        bad = validate_table(
            "derived-metrics",
            pa.Table.from_pylist(rows, metrics.METRICS_SCHEMA),
            {"ciks": [SNOWFLAKE]},
        )
        assert not bad.success and named in " ".join(bad.failures), change
