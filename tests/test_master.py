import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import master
from equity_lake.lake import keys
from equity_lake.lake.schemas import SECURITY_MASTER
from equity_lake.lake.store import LakeStore


@pytest.fixture(scope="module")
def built() -> master.MasterBuild:
    return master.build("sample")


def test_master_schema_and_stable_ids(built):
    assert built.master.schema.equals(SECURITY_MASTER)
    ids = built.master.column("security_id").to_pylist()
    assert len(set(ids)) > 9_000  # every security ever listed, delisted ones included
    assert built.master.num_rows > len(set(ids))  # ticker changes add symbol periods


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


def test_overlapping_ticker_owners_are_refused(built):
    rows = built.master.slice(0, 2).to_pylist()
    rows[1]["symbol"] = rows[0]["symbol"]
    rows[1]["start_date"], rows[1]["end_date"] = rows[0]["start_date"], None
    rows[0]["end_date"] = None
    with pytest.raises(master.MasterError, match="overlapping"):
        master.check(pa.Table.from_pylist(rows, schema=SECURITY_MASTER))


def test_write_publishes_master_calendar_and_actions_and_is_idempotent(built, local_env):
    store = LakeStore()
    counts = master.write(store, built)
    assert store.read_table(keys.SECURITY_MASTER).equals(built.master)
    cal = store.read_table(keys.CALENDAR_MASTER)
    assert dt.date(2024, 12, 25) not in set(cal.column("date").to_pylist())
    assert counts["corporate_action_files_written"] == counts["corporate_action_files"] > 1000
    split = built.actions.filter(pa.compute.equal(built.actions.column("action"), "split"))
    sid = split.column("security_id")[0].as_py()
    actions = store.read_table(keys.corporate_actions(sid))
    assert "split" in actions.column("action").to_pylist()
    again = master.write(store, built)
    assert again["corporate_action_files_written"] == 0
    assert again["master_written"] is False


def test_unknown_source_is_refused():
    with pytest.raises(master.MasterError, match="unknown master source 'wrds'"):
        master.build("wrds")
