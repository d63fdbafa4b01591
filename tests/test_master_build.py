"""Master builders behind one protocol, and the master's write-audit-publish."""

import dataclasses
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import master_build
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS, SECURITY_MASTER
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster

DAY = dt.date(2024, 12, 23)


@pytest.fixture(scope="module")
def built() -> master_build.MasterBuild:
    return master_build.build("sample")


def small(built: master_build.MasterBuild, rows: int = 40) -> master_build.MasterBuild:
    """The first ``rows`` symbol periods of the sample master and their securities' actions."""
    table = built.master.slice(0, rows)
    ids = pa.array(sorted(set(table["security_id"].to_pylist())), pa.int64())
    actions = built.actions.filter(pc.is_in(built.actions["security_id"], value_set=ids))
    return master_build.MasterBuild(table, actions, source="sample")


def with_row(table: pa.Table, row: dict) -> pa.Table:
    return pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)])


def published(store: LakeStore) -> dict[str, bytes]:
    return {k: store.read_bytes(k) for k in store.list("data/master")} | {
        k: store.read_bytes(k) for k in store.list("data/raw/corporate_actions")
    }


def test_every_source_has_one_builder_and_an_unknown_one_is_refused_naming_them():
    assert master_build.sources() == ("sample", "crsp", "sec")
    for source in master_build.sources():
        assert master_build.builder(source).source == source
    with pytest.raises(master_build.MasterBuildError) as refused:
        master_build.build("wrds")
    message = str(refused.value)
    assert message == "unknown master source 'wrds'; known: sample, crsp, sec"
    assert "\n" not in message


def test_the_sample_master_has_the_lake_schema_and_stable_ids(built):
    assert built.source == "sample"
    assert built.master.schema.equals(SECURITY_MASTER)
    assert built.actions.schema.equals(CORPORATE_ACTIONS)
    ids = built.master.column("security_id").to_pylist()
    assert len(set(ids)) > 9_000  # every security ever listed, delisted ones included
    assert built.master.num_rows > len(set(ids))  # ticker changes add symbol periods


REAL = {
    "AAPL": ("0000320193", "Apple Inc."),
    "GOOGL": ("0001652044", "Alphabet Inc."),
    "SNOW": ("0001640147", "Snowflake Inc."),
    "JPM": ("0000019617", "JPMorgan Chase & Co."),
    "WMT": ("0000104169", "Walmart Inc."),
}


@pytest.mark.parametrize("day", [dt.date(2024, 11, 1), dt.date(2025, 1, 3)])
def test_the_sample_master_carries_the_real_companies_of_the_demo(built, day):
    """The companies whose SEC filings the repository carries, by real ticker and CIK, on the
    demo's days: derived metrics value them with the sample's bars through the master's cik."""
    sm = SecurityMaster(built.master)
    active = sm.active_on(day)
    assert len(set(active["symbol"].to_pylist())) == active.num_rows  # one owner per ticker
    for symbol, (cik, company) in REAL.items():
        sid = sm.security_for_symbol(symbol, day)
        assert sid is not None, symbol
        history = sm.symbol_history(sid).to_pylist()
        assert [(r["symbol"], r["cik"], r["company"]) for r in history] == [(symbol, cik, company)]
        owners = built.master.filter(pc.equal(built.master["cik"], cik))
        assert set(owners["security_id"].to_pylist()) == {sid}  # nobody else has the CIK
    master_build.check(built.master)  # no ticker has two owners at once, ever


def test_overlapping_ticker_owners_are_refused(built):
    rows = built.master.slice(0, 2).to_pylist()
    rows[1]["symbol"] = rows[0]["symbol"]
    rows[1]["start_date"], rows[1]["end_date"] = rows[0]["start_date"], None
    rows[0]["end_date"] = None
    with pytest.raises(master_build.MasterBuildError, match="overlapping"):
        master_build.check(pa.Table.from_pylist(rows, schema=SECURITY_MASTER))


def test_write_publishes_master_calendar_and_actions_and_is_idempotent(built, local_env):
    store = LakeStore()
    counts = master_build.write(store, built, run_id="master-1", day=DAY)
    assert store.read_table(keys.SECURITY_MASTER).equals(built.master)
    cal = store.read_table(keys.CALENDAR_MASTER)
    assert dt.date(2024, 12, 25) not in set(cal.column("date").to_pylist())
    assert counts["corporate_action_files_written"] == counts["corporate_action_files"] > 1000
    assert counts["master_written"] is True and "quality_warnings" not in counts
    split = built.actions.filter(pc.equal(built.actions.column("action"), "split"))
    sid = split.column("security_id")[0].as_py()
    actions = store.read_table(keys.corporate_actions(sid))
    assert "split" in actions.column("action").to_pylist()
    # both were audited: a validation result each, nothing left staged or quarantined
    for dataset in ("security-master", "corporate-actions"):
        result = store.read_json(keys.quality_result(dataset, DAY, "sample"))
        assert result["success"] is True, dataset
    assert store.list("data/_staging") == [] and store.list("data/quarantine") == []

    before = published(store)
    again = master_build.write(store, built, run_id="master-2", day=DAY)
    assert again["corporate_action_files_written"] == 0
    assert again["master_written"] is False
    assert published(store) == before  # byte for byte: nothing rewritten


def test_a_master_that_fails_its_suite_is_quarantined_and_the_stored_master_is_untouched(
    built, local_env
):
    store = LakeStore()
    good = small(built)
    master_build.write(store, good, run_id="good-run", day=DAY)
    before = published(store)
    twice = good.master.slice(3, 1).to_pylist()[0]
    twice["symbol"] = "ZZZZ"  # a second period of one security starting on the same day
    changed = good.actions.to_pylist()[0] | {"amount": 99.0}
    bad = dataclasses.replace(
        good,
        master=with_row(good.master, twice),
        actions=pa.Table.from_pylist([changed], schema=CORPORATE_ACTIONS),
    )

    with pytest.raises(QualityGateFailed) as failure:
        master_build.write(store, bad, run_id="bad-run", day=DAY)
    message = str(failure.value)
    assert "expect_compound_columns_to_be_unique(security_id, start_date): 2 of" in message
    assert "quarantine" in message and "\n" not in message

    assert published(store) == before  # neither the master nor any actions file changed
    quarantined = keys.quarantine("bad-run", keys.SECURITY_MASTER)
    assert store.read_table(quarantined).equals(bad.master)
    report = store.read_json(quarantined + ".validation.json")
    assert report["dataset"] == "security-master" and report["partition"] == "sample"
    assert any("security_id, start_date" in f for f in report["failures"])
    assert {r["security_id"] for r in report["sample_rows"]} == {twice["security_id"]}
    result = store.read_json(keys.quality_result("security-master", DAY, "sample"))
    assert result["success"] is False
    assert store.list("data/_staging") == []


def test_corporate_actions_with_a_non_positive_split_ratio_are_rejected_and_nothing_published(
    built, local_env
):
    store = LakeStore()
    good = small(built)
    sid = good.master["security_id"][0].as_py()
    splits = [
        {"security_id": sid, "ex_date": dt.date(2020, 3, 2), "action": "split", "ratio": 0.0},
        {"security_id": sid, "ex_date": dt.date(2021, 3, 1), "action": "split", "ratio": -2.0},
    ]
    actions = pa.concat_tables(
        [good.actions, pa.Table.from_pylist(splits, schema=CORPORATE_ACTIONS)]
    )
    bad = dataclasses.replace(good, actions=actions)

    with pytest.raises(QualityGateFailed) as failure:
        master_build.write(store, bad, run_id="bad-split", day=DAY)
    message = str(failure.value)
    split_ratio = "ratio > 0 and ratio <= 1e+300 where action == 'split'"
    assert f"expect_column_values_to_be_between({split_ratio}): 2 of" in message

    assert published(store) == {}  # not the master, not one actions file
    batch = keys.quarantine("bad-split", keys.corporate_actions_batch(DAY, "sample"))
    assert store.read_table(batch).num_rows == actions.num_rows
    report = store.read_json(batch + ".validation.json")
    assert report["dataset"] == "corporate-actions"
    assert sorted(r["ratio"] for r in report["sample_rows"]) == [-2.0, 0.0]
    assert store.list("data/_staging") == []


def test_a_warning_is_reported_and_the_master_published_all_the_same(built, local_env):
    store = LakeStore()
    good = small(built)
    rows = good.master.to_pylist()
    rows[0]["company"] = None  # real sources leave a name blank now and then
    unnamed = dataclasses.replace(good, master=pa.Table.from_pylist(rows, schema=SECURITY_MASTER))
    result = master_build.write(store, unnamed, run_id="unnamed", day=DAY)
    assert result["master_written"] is True
    assert result["quality_warnings"] == [
        "expect_column_values_to_not_be_null(company): 1 of 40 rows"
    ]
    assert store.read_table(keys.SECURITY_MASTER).equals(unnamed.master)


def test_a_build_merges_its_actions_and_keeps_events_an_ingest_stored(built, local_env):
    store = LakeStore()
    good = small(built)
    sid = good.master["security_id"][0].as_py()
    ingested = pa.Table.from_pylist(
        [{"security_id": sid, "ex_date": dt.date(2001, 1, 2), "action": "dividend", "amount": 0.5}],
        schema=CORPORATE_ACTIONS,
    )
    store.write_table(keys.corporate_actions(sid), ingested)
    master_build.write(store, good, run_id="merge-run", day=DAY)
    stored = store.read_table(keys.corporate_actions(sid)).to_pylist()
    mine = good.actions.filter(pc.equal(good.actions["security_id"], sid)).to_pylist()
    assert stored[0] == ingested.to_pylist()[0]  # merge, not clobber
    assert len(stored) == len(mine) + 1


def test_a_corrupt_stored_master_is_kept_aside_and_rebuilt(built, local_env):
    store = LakeStore()
    store.write_bytes(keys.SECURITY_MASTER, b"not parquet at all")
    part = small(built)
    result = master_build.write(store, part, run_id="repair-run", day=DAY)
    assert result["master_written"] is True
    assert store.read_table(keys.SECURITY_MASTER).equals(part.master)
    assert store.read_bytes(keys.corrupt_copy(keys.SECURITY_MASTER)) == b"not parquet at all"
