"""The master's read model: who held a ticker on a day, who traded on a day."""

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import master, master_build
from equity_lake.lake import keys
from equity_lake.lake.schemas import SECURITY_MASTER
from equity_lake.lake.store import LakeStore


@pytest.fixture(scope="module")
def built() -> master_build.MasterBuild:
    return master_build.build("sample")


def test_active_on_a_day_and_who_held_a_ticker(built):
    sm = master.SecurityMaster(built.master)
    day = dt.date(2024, 12, 23)
    active = sm.active_on(day)
    assert 5_000 < active.num_rows < 7_000
    symbols = active.column("symbol").to_pylist()
    assert len(symbols) == len(set(symbols))
    first = active.slice(0, 1).to_pylist()[0]
    assert sm.security_for_symbol(first["symbol"], day) == first["security_id"]


def test_a_delisted_security_is_active_on_its_last_day_only(built):
    sm = master.SecurityMaster(built.master)
    ended = built.master.filter(pa.compute.is_valid(built.master.column("end_date")))
    row = ended.slice(0, 1).to_pylist()[0]
    last = row["end_date"]
    ids_on_last = sm.active_on(last).column("security_id").to_pylist()
    history = sm.symbol_history(row["security_id"]).to_pylist()
    if history[-1]["end_date"] == last:  # the security's final period, not a ticker change
        assert row["security_id"] in ids_on_last
        after = sm.active_on(last + dt.timedelta(days=7)).column("security_id").to_pylist()
        assert row["security_id"] not in after


def test_a_reused_ticker_maps_to_different_securities_by_date(built):
    table = built.master.to_pandas()
    owners = table.groupby("symbol")["security_id"].nunique()
    reused = owners[owners > 1].index[0]
    periods = table[table.symbol == reused].sort_values("start_date")
    sm = master.SecurityMaster(built.master)
    first, later = periods.iloc[0], periods.iloc[-1]
    assert first.security_id != later.security_id
    assert sm.security_for_symbol(reused, first.start_date) == first.security_id
    assert sm.security_for_symbol(reused, later.start_date) == later.security_id


def test_a_lake_without_a_master_says_how_to_build_one(local_env):
    with pytest.raises(master.MasterError, match="master build --source sample"):
        master.SecurityMaster.load(LakeStore())


def test_a_master_written_before_the_optional_columns_still_loads(built, local_env):
    store = LakeStore()
    old = built.master.slice(0, 20)
    old = old.select([f.name for f in SECURITY_MASTER if f.name not in ("permno", "is_etf")])
    store.write_table(keys.SECURITY_MASTER, old)
    sm = master.SecurityMaster.load(store)
    assert sm.table.schema.equals(SECURITY_MASTER)
    assert sm.table["permno"].null_count == 20


def test_trading_day_insists_on_a_session():
    assert master.trading_day("2024-12-23") == dt.date(2024, 12, 23)
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        master.trading_day(dt.date(2024, 12, 25))
    with pytest.raises(ValueError, match="not an ISO date"):
        master.trading_day("23/12/2024")


def test_listed_between_takes_every_period_touching_the_span():
    """The one "listed in [first, last]" rule: a period ending on ``first`` or starting on
    ``last`` is in, one ending the day before or starting the day after is out, an open one
    is in; one day is ``active_on``'s rows."""
    d = dt.date
    rows = [  # (security_id, symbol, start, end)
        (1, "ENDS", d(2024, 1, 1), d(2024, 6, 1)),
        (2, "GONE", d(2024, 1, 1), d(2024, 5, 31)),
        (3, "STARTS", d(2024, 6, 30), None),
        (4, "LATER", d(2024, 7, 1), None),
        (5, "OPEN", d(2020, 1, 1), None),
    ]
    table = pa.table(
        {
            "security_id": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "company": [r[1].title() for r in rows],
            "cik": [None] * len(rows),
            "exchange": ["XNYS"] * len(rows),
            "start_date": pa.array([r[2] for r in rows], pa.date32()),
            "end_date": pa.array([r[3] for r in rows], pa.date32()),
            "source": ["test"] * len(rows),
        }
    )
    sm = master.SecurityMaster(table)
    listed = sm.listed_between(d(2024, 6, 1), d(2024, 6, 30))
    assert listed.column("symbol").to_pylist() == ["ENDS", "STARTS", "OPEN"]
    one = sm.listed_between(d(2024, 6, 1), d(2024, 6, 1)).column("security_id").to_pylist()
    assert sorted(one) == sorted(sm.active_on(d(2024, 6, 1)).column("security_id").to_pylist())
