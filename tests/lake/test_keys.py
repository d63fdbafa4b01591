import datetime as dt

import pytest

from equity_lake.lake import keys


def test_daily_ticks_keys_follow_the_design_layout():
    assert (
        keys.daily_ticks_month(42, dt.date(2024, 12, 23))
        == "data/raw/ticks/daily/42/2024/12/ticks.parquet"
    )
    assert keys.daily_ticks_history(42) == "data/raw/ticks/daily/42/history.parquet"
    assert (
        keys.minute_ticks_day(7, dt.date(2025, 1, 3))
        == "data/raw/ticks/minute/7/2025/01/03/ticks.parquet"
    )
    assert keys.corporate_actions(7) == "data/raw/corporate_actions/7/actions.parquet"
    assert keys.SECURITY_MASTER == "data/master/security_master.parquet"
    assert keys.CALENDAR_MASTER == "data/master/calendar_master.parquet"


def test_cik_keys_are_zero_padded():
    assert keys.fundamentals(320193) == "data/raw/fundamental/0000320193/fundamental.parquet"
    assert keys.ttm("320193") == "data/derived/features/fundamental/0000320193/ttm.parquet"
    assert keys.derived_metrics("0000320193").endswith("0000320193/metrics.parquet")


@pytest.mark.parametrize("bad", ["12345678901", "-1", "abc", "", "0", True, 3.5, None])
def test_bad_ciks_are_rejected_with_the_value_named(bad):
    with pytest.raises(keys.InvalidIdentifier, match="CIK"):
        keys.fundamentals(bad)


@pytest.mark.parametrize("bad", ["../x", "aapl", "A/../B", "", "TOOLONGTICKER1", "A B", "A\n"])
def test_bad_symbols_are_rejected(bad):
    with pytest.raises(keys.InvalidIdentifier, match="symbol"):
        keys.symbol(bad)


@pytest.mark.parametrize("good", ["A", "AAPL", "BRK.B", "BRK-B", "BRK/B", "GOOGL"])
def test_real_symbol_forms_are_accepted(good):
    assert keys.symbol(good) == good


@pytest.mark.parametrize("bad", [-1, "../1", "1.5", 2**63, True, None, 1.5])
def test_bad_security_ids_are_rejected(bad):
    with pytest.raises(keys.InvalidIdentifier, match="security_id"):
        keys.daily_ticks_history(bad)


def test_universe_and_run_ids_are_slugs():
    assert keys.universe("sp500") == "data/universe/sp500.parquet"
    with pytest.raises(keys.InvalidIdentifier):
        keys.universe("../../etc")
    with pytest.raises(keys.InvalidIdentifier):
        keys.staging("../run", "data/raw/x.parquet")
    assert (
        keys.staging("scheduled__2024-12-23T21:30:00+00:00", "data/raw/x.parquet")
        == "data/_staging/scheduled__2024-12-23T21-30-00-00-00/raw/x.parquet"
    )


def test_staging_refuses_keys_outside_the_lake():
    with pytest.raises(keys.InvalidIdentifier):
        keys.quarantine("run1", "/etc/passwd")
    with pytest.raises(keys.InvalidIdentifier):
        keys.quarantine("run1", "data/../../x")


def test_a_corporate_actions_batch_is_staged_beside_the_dataset_and_never_published():
    key = keys.corporate_actions_batch(dt.date(2024, 12, 23), "sample")
    assert key == "data/raw/corporate_actions/_batches/2024-12-23/sample.parquet"
    assert keys.staging("run-1", key) == (
        "data/_staging/run-1/raw/corporate_actions/_batches/2024-12-23/sample.parquet"
    )
    with pytest.raises(keys.InvalidIdentifier, match="partition"):
        keys.corporate_actions_batch(dt.date(2024, 12, 23), "../x")
