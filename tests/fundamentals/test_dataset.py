"""Incremental runs against the local EDGAR stand-in, into a local lake folder."""

import datetime as dt
import gzip
import json
import shutil

import pyarrow.compute as pc
import pytest

from equity_lake.datasets import fundamentals
from equity_lake.engine import runner, wap
from equity_lake.fundamentals.normalize import known_by
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.sources.http import SourceError
from equity_lake.sources.sec import SecClient
from standins.edgar import EdgarStandIn
from tests.fundamentals.conftest import ALPHABET, APPLE, SEC, SNOWFLAKE, facts, raw

D = dt.date
FANNIE_MAE, MICROSOFT = "0000310522", "0000789019"


@pytest.fixture
def lake(local_env):
    return LakeStore()


@pytest.fixture
def client(standin):
    with SecClient() as sec:
        yield sec


def stored(store):
    return {k: store.read_bytes(k) for k in store.list("data/raw/fundamental") if "/_" not in k}


def key_rows(table):
    return list(zip(*(table.column(c).to_pylist() for c in fundamentals.KEY_COLUMNS), strict=True))


def test_first_run_of_a_list_fetches_each_company_and_a_second_run_stores_nothing_new(
    lake, client, standin
):
    day = D(2024, 11, 1)
    first = fundamentals.run(lake, client, day, ciks=[APPLE, SNOWFLAKE], run_id="run-1")
    assert (first["companies"], first["files_written"], first["failed_partitions"]) == (2, 2, [])
    apple = lake.read_table(keys.fundamentals(APPLE))
    expected = known_by(facts(APPLE), day)
    assert apple.num_rows == expected.num_rows
    assert len(set(key_rows(apple))) == apple.num_rows  # each fact once
    assert sorted(key_rows(apple), key=str) == sorted(key_rows(expected), key=str)
    before = stored(lake)

    standin.reset()
    again = fundamentals.run(lake, client, day, ciks=[APPLE, SNOWFLAKE], run_id="run-2")
    assert again["files_written"] == 0 and stored(lake) == before
    assert standin.paths() == []  # already covered through the day: nothing to ask EDGAR
    forced = fundamentals.run(
        lake, client, day, ciks=[APPLE, SNOWFLAKE], since=D(2000, 1, 1), run_id="run-3"
    )
    assert (forced["companies"], forced["files_written"]) == (2, 0) and stored(lake) == before


def test_the_market_run_discovers_the_days_filers_from_the_daily_index(lake, client, standin):
    # Alphabet filed its Q3 10-Q on 2024-10-30, Apple its 10-K on 2024-11-01; Fannie Mae and
    # Microsoft filed 10-Qs too (their submissions are in the fixtures, their facts are not)
    result = fundamentals.run(lake, client, D(2024, 11, 1), since=D(2024, 10, 30), run_id="m-1")
    assert result["discovery"]["due"] == [FANNIE_MAE, APPLE, MICROSOFT, ALPHABET]
    assert result["discovery"]["index_days"] == 3
    assert result["missing"] == [FANNIE_MAE, MICROSOFT] and result["companies"] == 2
    assert lake.read_json(keys.FUNDAMENTALS_STATE)["all"] == "2024-11-01"
    before = stored(lake)
    assert set(before) == {keys.fundamentals(APPLE), keys.fundamentals(ALPHABET)}

    # the next run starts after the watermark: Saturday and Sunday are skipped; the two
    # companies that were due and never stored stay due, so EDGAR is asked again
    assert set(lake.read_json(keys.FUNDAMENTALS_STATE)["pending"]) == {FANNIE_MAE, MICROSOFT}
    standin.reset()
    monday = fundamentals.run(lake, client, D(2024, 11, 4), run_id="m-2")
    assert monday["discovery"]["since"] == "2024-11-02"
    assert monday["discovery"]["due"] == [FANNIE_MAE, MICROSOFT]
    assert standin.paths() == [
        "/Archives/edgar/daily-index/2024/QTR4/master.20241104.idx",
        f"/api/xbrl/companyfacts/CIK{FANNIE_MAE}.json",
        f"/api/xbrl/companyfacts/CIK{MICROSOFT}.json",
    ]
    assert stored(lake) == before


def test_a_company_due_but_not_fetched_stays_due_until_it_is_stored(lake, client, standin):
    # Apple's FY2024 10-K is due on 2024-11-01, but EDGAR answers its companyfacts with one
    # transient 404: the run succeeds, Apple is missing, and the filing must not be lost
    fundamentals.run(lake, client, D(2024, 10, 31), ciks=[APPLE], run_id="p-0")
    standin.fail(f"/api/xbrl/companyfacts/CIK{APPLE}.json", 404)
    first = fundamentals.run(lake, client, D(2024, 11, 1), since=D(2024, 11, 1), run_id="p-1")
    assert APPLE in first["missing"] and first["failed_partitions"] == []
    state = lake.read_json(keys.FUNDAMENTALS_STATE)
    assert state["all"] == "2024-11-01" and state["pending"][APPLE] == "2024-11-01"
    apple = lake.read_table(keys.fundamentals(APPLE))
    assert pc.max(apple.column("filed")).as_py() < D(2024, 11, 1)  # the 10-K is not in yet

    # the next day's index has nothing from Apple, yet Apple is fetched and its 10-K stored
    nxt = fundamentals.run(lake, client, D(2024, 11, 4), run_id="p-2")
    assert APPLE in nxt["discovery"]["due"] and APPLE not in nxt["missing"]
    apple = lake.read_table(keys.fundamentals(APPLE))
    assert "0000320193-24-000123" in set(apple.column("accn").to_pylist())
    assert APPLE not in lake.read_json(keys.FUNDAMENTALS_STATE)["pending"]


def test_a_restatement_adds_a_row_beside_the_original(lake, client):
    fundamentals.run(lake, client, D(2009, 12, 31), ciks=[APPLE], run_id="r-1")
    fundamentals.run(lake, client, D(2010, 1, 25), ciks=[APPLE], since=D(2010, 1, 1), run_id="r-2")
    table = lake.read_table(keys.fundamentals(APPLE))
    fy2009 = table.filter(
        pc.and_(
            pc.equal(table.column("tag"), "SalesRevenueNet"),
            pc.and_(
                pc.equal(table.column("start"), D(2008, 9, 28)),
                pc.equal(table.column("end"), D(2009, 9, 26)),
            ),
        )
    )
    assert sorted((r["form"], r["value"]) for r in fy2009.to_pylist()) == [
        ("10-K", 36_537_000_000),
        ("10-K/A", 42_905_000_000),
    ]


def test_a_company_edgar_does_not_know_is_marked_missing_without_failing_the_run(lake, client):
    result = fundamentals.run(lake, client, D(2024, 11, 1), ciks=[SNOWFLAKE, "1"], run_id="x")
    assert result["missing"] == ["0000000001"] and result["failed_partitions"] == []
    assert result["files_written"] == 1


def test_a_run_that_fails_midway_leaves_every_stored_file_and_the_watermark_as_they_were(
    lake, client, standin
):
    fundamentals.run(lake, client, D(2024, 10, 31), ciks=[APPLE, ALPHABET], run_id="f-1")
    before, state = stored(lake), lake.read_json(keys.FUNDAMENTALS_STATE)
    # Apple is fetched, then EDGAR fails on Alphabet beyond every retry
    standin.fail(f"/api/xbrl/companyfacts/CIK{ALPHABET}.json", *[503] * 5)
    with pytest.raises(SourceError, match="failed after 5 attempts: HTTP 503"):
        fundamentals.run(
            lake, client, D(2024, 11, 1), ciks=[APPLE, ALPHABET], since=D(2024, 10, 1), run_id="f"
        )
    assert stored(lake) == before and lake.read_json(keys.FUNDAMENTALS_STATE) == state
    assert not lake.list("data/_staging")


def test_a_company_failing_its_suite_is_quarantined_alone_and_the_others_publish(
    lake, tmp_path, monkeypatch
):
    folder = tmp_path / "sec"
    shutil.copytree(SEC / "errors", folder / "errors")
    (folder / "companyfacts").mkdir()
    shutil.copy(SEC / "companyfacts" / f"CIK{APPLE}.json", folder / "companyfacts")
    doc = json.loads(raw(SNOWFLAKE))
    revenue = doc["facts"]["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"]
    revenue["units"]["USD"][0]["accn"] = "not-an-accession"  # impossible: rejects Snowflake
    revenue["units"]["USD"][1]["filed"] = "2001-01-01"  # unusual but real: only a warning
    (folder / "companyfacts" / f"CIK{SNOWFLAKE}.json.gz").write_bytes(
        gzip.compress(json.dumps(doc).encode())
    )
    with EdgarStandIn(folder) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SEC_USER_AGENT", "equity-lake tests tests@example.com")
        with SecClient() as sec, pytest.raises(runner.EntitiesRejected) as failed:
            fundamentals.ingest(
                lake,
                sec,
                D(2025, 6, 1),
                [APPLE, SNOWFLAKE],
                run_id="q-1",
                partition="chunk-0001-of-0001",
            )
    assert isinstance(failed.value, wap.QualityGateFailed)  # exit as a gate failure
    message = str(failed.value)
    assert message.startswith("1 of 2 companies failed the fundamentals gate")
    assert f"CIK {SNOWFLAKE}: " in message and "(accn)" in message and APPLE not in message
    assert list(stored(lake)) == [keys.fundamentals(APPLE)]
    quarantined = lake.list("data/quarantine/q-1")
    assert sorted(k.rsplit("/", 1)[-1] for k in quarantined) == [
        f"chunk-0001-of-0001-cik{SNOWFLAKE}.parquet",
        f"chunk-0001-of-0001-cik{SNOWFLAKE}.parquet.validation.json",
    ]
    # each company has its own validation result; Snowflake's names both kinds of finding
    results = lake.list(keys.quality_results_prefix("fundamentals"))
    assert sorted(r.rsplit("/", 1)[-1] for r in results) == [
        f"chunk-0001-of-0001-cik{APPLE}.json",
        f"chunk-0001-of-0001-cik{SNOWFLAKE}.json",
    ]
    snowflake = lake.read_json(next(r for r in results if SNOWFLAKE in r))
    assert snowflake["success"] is False
    assert any("(filed >= end)" in w for w in snowflake["meta"]["equity_lake"]["warnings"])
    # what passed is committed, marked incomplete: the record counts it and fails the chunk
    partial = lake.read_json(
        keys.commit_record("fundamentals", D(2025, 6, 1), "q-1", "chunk-0001-of-0001")
    )
    assert (partial["companies"], list(partial["rejected"]), partial["complete"]) == (
        1,
        [SNOWFLAKE],
        False,
    )
    assert list(partial["objects"]) == [keys.fundamentals(APPLE)]


def test_plan_splits_the_due_companies_into_labelled_chunks(lake, client):
    plans, found = fundamentals.plan(
        lake, client, D(2024, 11, 1), ciks=[APPLE, ALPHABET, SNOWFLAKE], chunk_size=2
    )
    assert found.due == [APPLE, SNOWFLAKE, ALPHABET]  # new companies, in CIK order
    assert [p.label for p in plans] == [
        f"1/2: {APPLE}..{APPLE} (1)",
        f"2/2: {SNOWFLAKE}..{ALPHABET} (2)",
    ]
    argv = plans[1].argv(D(2024, 11, 1), "manual__x")
    assert argv[:2] == ["ingest", "fundamentals"]
    assert argv[argv.index("--ciks") + 1] == f"{SNOWFLAKE},{ALPHABET}"


def test_a_gap_longer_than_the_daily_index_should_cover_asks_for_the_backfill(lake, client):
    with pytest.raises(ValueError, match="run the bulk backfill"):
        fundamentals.plan(lake, client, D(2024, 11, 1), since=D(2024, 1, 1))


def test_a_company_with_nothing_filed_yet_is_accounted_for_and_the_watermark_moves(lake, client):
    """Snowflake filed its first XBRL facts in 2020: a 2019 run finds none. That is no failure
    (nothing is due), and Apple's facts and watermark are not held back by it."""
    result = fundamentals.run(lake, client, D(2019, 6, 3), ciks=[SNOWFLAKE, APPLE], run_id="e-1")
    assert result["failed_partitions"] == [] and result["problems"] == {}
    assert (result["companies"], result["stored"]) == (1, [APPLE])
    state = lake.read_json(keys.FUNDAMENTALS_STATE)
    assert state["ciks"] == {APPLE: "2019-06-03", SNOWFLAKE: "2019-06-03"}
    assert state["pending"] == {}


def test_a_late_record_of_an_older_day_moves_no_bookkeeping_back():
    state = fundamentals._state({"pending": {"0000000007": "2024-11-04"}})
    state["last_run"] = {"day": "2024-11-04", "run_id": "b", "scope": "all"}
    late = fundamentals._advanced(
        state, D(2024, 11, 1), None, "a", missed=set(), stored={"0000000007"}
    )
    assert late["pending"] == {"0000000007": "2024-11-04"}  # B's miss stays due
    assert late["last_run"]["run_id"] == "b" and late["all"] == "2024-11-01"
