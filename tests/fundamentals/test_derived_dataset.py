"""The derived-metrics dataset: each company's TTM and metrics from the lake, gated, merged."""

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import cli
from equity_lake.datasets import derived_metrics
from equity_lake.engine.dataset import Run
from equity_lake.fundamentals import metrics, ttm
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS, SECURITY_MASTER
from equity_lake.lake.store import LakeStore
from tests.fundamentals.conftest import APPLE, SNOWFLAKE, facts

D = dt.date
DAY = D(2024, 11, 1)


@pytest.fixture
def lake(local_env):
    """Apple's and Snowflake's facts, a master naming AAPL's CIK, and two AAPL closes."""
    store = LakeStore()
    for cik in (APPLE, SNOWFLAKE):
        store.write_table(keys.fundamentals(cik), facts(cik))
    master = pa.Table.from_pylist(
        [
            {
                "security_id": 7,
                "symbol": "AAPL",
                "company": "Apple Inc.",
                "cik": APPLE,
                "exchange": "NASDAQ",
                "start_date": D(1980, 12, 12),
                "end_date": None,
                "source": "test",
                "permno": None,
                "is_etf": None,
            }
        ],
        schema=SECURITY_MASTER,
    )
    store.write_table(keys.SECURITY_MASTER, master)
    bars = pa.Table.from_pylist(
        [
            {
                "security_id": 7,
                "symbol": "AAPL",
                "timestamp": day,
                "open": close,
                "high": close,
                "low": close,
                "close": close,
                "volume": 1000,
            }
            for day, close in ((D(2024, 10, 31), 225.91), (D(2024, 11, 1), 222.91))
        ],
        schema=DAILY_TICKS,
    )
    store.write_table(keys.daily_ticks_month(7, DAY), bars.slice(1))
    store.write_table(keys.daily_ticks_month(7, D(2024, 10, 31)), bars.slice(0, 1))
    return store


def test_plan_chunks_every_company_in_the_lake(lake):
    found = derived_metrics.DERIVED.plan(lake, Run(DAY, "r1", {"chunk_size": 1}))
    assert [p.expected for p in found.partitions] == [1, 1]
    assert found.partitions[0].argv[:2] == ("derive", "metrics")
    assert found.partitions[0].label == f"1/2: {APPLE}..{APPLE} (1)"


def test_derive_writes_each_companys_ttm_and_metrics_once(lake, capsys):
    result = derived_metrics.derive(lake, DAY, run_id="d1")
    assert result["companies"] == 2 and result["rejected"] == {} and result["missing"] == []
    assert result["files_written"] == 4
    apple_ttm = lake.read_table(keys.ttm(APPLE))
    order = [("concept", "ascending"), ("unit", "ascending"), ("as_of_date", "ascending")]
    expected = ttm.ttm(APPLE, facts(APPLE)).sort_by(order)
    assert apple_ttm.cast(ttm.TTM_SCHEMA).sort_by(order).equals(expected)
    found = lake.read_table(keys.derived_metrics(APPLE)).to_pylist()
    caps = {r["as_of_date"]: r["value"] for r in found if r["metric"] == "market_cap"}
    assert caps == {
        D(2024, 10, 31): pytest.approx(225.91 * 15_204_137_000),
        D(2024, 11, 1): pytest.approx(222.91 * 15_115_823_000),
    }
    assert {r["metric"] for r in found} >= set(metrics.FORMULAS) | set(metrics.MARKET_METRICS)
    # no prices for Snowflake in this lake: its fundamental metrics only
    snow = lake.read_table(keys.derived_metrics(SNOWFLAKE)).to_pylist()
    assert not {r["metric"] for r in snow} & set(metrics.MARKET_METRICS)
    again = derived_metrics.derive(lake, DAY, run_id="d2")
    assert again["files_written"] == 0 and again["files_unchanged"] == 4

    assert cli.main(["show", "metrics", "--symbol", "AAPL", "--as-of", "2024-11-01"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "metric,value,unit,as_of_date,period_end,inputs"
    assert any(line.startswith("net_margin,0.2397") for line in lines)
    assert any(line.startswith("market_cap,") and ",2024-11-01," in line for line in lines)


def test_a_company_whose_ttm_fails_its_gate_is_quarantined_alone(lake, monkeypatch):
    real = ttm.ttm

    def broken(cik, table):  # a TTM dated before its period ended: impossible
        rows = real(cik, table)
        if cik != SNOWFLAKE:
            return rows
        first = {**rows.to_pylist()[0], "as_of_date": D(1990, 1, 1)}
        return pa.Table.from_pylist([first, *rows.to_pylist()[1:]], schema=ttm.TTM_SCHEMA)

    monkeypatch.setattr(ttm, "ttm", broken)
    with pytest.raises(Exception, match="1 of 2 companies failed the derived-metrics gate"):
        derived_metrics.derive(lake, DAY, run_id="bad")
    assert lake.exists(keys.ttm(APPLE)) and lake.exists(keys.derived_metrics(APPLE))
    assert not lake.exists(keys.ttm(SNOWFLAKE)) and not lake.exists(keys.derived_metrics(SNOWFLAKE))
    quarantined = [k for k in lake.list("data/quarantine") if k.endswith(".validation.json")]
    assert len(quarantined) == 1 and f"cik-{SNOWFLAKE}-ttm" in quarantined[0]
    # the two TTMs failed together, so each was gated alone: Apple's passed, Snowflake's not
    assert sorted(k.rsplit("/", 1)[1] for k in results(lake, "derived-ttm")) == [
        f"cik-{APPLE}-ttm.json",
        f"cik-{SNOWFLAKE}-ttm.json",
    ]
    assert lake.list("data/_staging") == []


def results(lake, suite):
    return [k for k in lake.list(keys.quality_results_prefix(suite)) if k.endswith(".json")]


def test_the_companies_of_a_chunk_share_one_validation_per_suite(lake):
    derived_metrics.derive(lake, DAY, run_id="d1")
    for suite in ("derived-ttm", "derived-metrics"):
        (found,) = results(lake, suite)
        assert found.endswith(f"cik-{APPLE}-{suite[8:]}-to-cik-{SNOWFLAKE}-{suite[8:]}.json")
        assert lake.read_json(found)["success"] is True


def test_a_date_range_recomputes_only_those_days_market_metrics(lake):
    """A daily-ticks change (one session) re-derives that day's market-value metrics and
    leaves the other days' rows as stored; the range goes into each chunk's command."""
    found = derived_metrics.DERIVED.plan(lake, Run(DAY, "r1", {"start": DAY, "end": DAY}))
    argv = found.partitions[0].argv
    assert argv[argv.index("--start") + 1] == argv[argv.index("--end") + 1] == "2024-11-01"
    derived_metrics.derive(lake, DAY, ciks=[APPLE], run_id="d1")
    market = sorted(metrics.MARKET_METRICS)

    def market_rows():
        table = lake.read_table(keys.derived_metrics(APPLE)).to_pylist()
        return {(r["as_of_date"], r["metric"]): r["value"] for r in table if r["metric"] in market}

    before = market_rows()
    assert {day for day, _ in before} == {D(2024, 10, 31), D(2024, 11, 1)}
    # both closes change in the lake; a run over 2024-11-01 alone takes that day's only
    for day in (D(2024, 10, 31), DAY):
        bars = lake.read_table(keys.daily_ticks_month(7, day)).to_pylist()
        bars[0]["close"] = 2 * bars[0]["close"]
        lake.write_table(keys.daily_ticks_month(7, day), pa.Table.from_pylist(bars, DAILY_TICKS))
    result = derived_metrics.derive(lake, DAY, ciks=[APPLE], start=DAY, end=DAY, run_id="d2")
    after = market_rows()
    assert after[(DAY, "market_cap")] == pytest.approx(2 * before[(DAY, "market_cap")])
    assert {k: v for k, v in after.items() if k[0] != DAY} == {
        k: v for k, v in before.items() if k[0] != DAY
    }
    assert result["files_written"] == 1  # the metrics; the TTM is unchanged
