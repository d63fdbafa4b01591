"""The research reader (``reader.Lake``) on a sample lake: daily bars across history and open
months, tickers resolved point in time (a rename, a reused ticker), adjusted across a split as
known on a date, wide panels, SQL through DuckDB, the same on S3."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import master_build
from equity_lake.datasets import consolidation, daily_ticks
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.reader import Lake, NotInLake

D = dt.date
#: DIT: 102285's until 2023-06-20, 108399's from 2023-07-21; STRF became OAMA on 2023-06-28
#: (100671); CAPP (100402) split 2-for-1 on 2023-06-20
SYMBOLS = ["DIT", "STRF", "OAMA", "CAPP"]
IDS = [102285, 108399, 100671, 100402]
SUMMER = (D(2023, 6, 1), D(2023, 8, 31))
JANUARY = (D(2024, 1, 2), D(2024, 1, 5))


def build(store):
    built = master_build.build("sample")
    store.write_table(keys.SECURITY_MASTER, built.master)
    mine = built.actions.filter(pc.is_in(built.actions.column("security_id"), pa.array(IDS)))
    master_build.publish_actions(store, mine, run_id="a1", day=D(2024, 1, 5), partition="sample")
    daily_ticks.ingest(
        store, SUMMER[0], source="sample", symbols=SYMBOLS, run_id="r1", end=SUMMER[1]
    )
    january = ["DIT", "OAMA", "CAPP"]  # STRF is OAMA by then
    daily_ticks.ingest(
        store, JANUARY[0], source="sample", symbols=january, run_id="r2", end=JANUARY[1]
    )
    consolidation.consolidate(store, 2023, run_id="c1")  # summer in history, January monthly


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("reader") / "lake"
    mp = pytest.MonkeyPatch()
    mp.setenv("LAKE_URI", root.as_uri())
    mp.delenv("LAKE_S3_ENDPOINT", raising=False)
    build(LakeStore())
    yield root
    mp.undo()


@pytest.fixture
def lake(local_lake, monkeypatch):
    monkeypatch.setenv("LAKE_URI", local_lake.as_uri())
    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    return Lake()


def test_a_ticker_resolves_to_the_security_that_held_it_each_day(lake):
    dit = lake.bars("DIT", *SUMMER, output="arrow")
    by_id = {
        sid: dit.filter(pc.equal(dit.column("security_id"), sid)).column("timestamp").to_pylist()
        for sid in set(dit.column("security_id").to_pylist())
    }
    assert set(by_id) == {102285, 108399}  # a reused ticker: two securities, never mixed
    assert max(by_id[102285]) <= D(2023, 6, 20) < D(2023, 7, 21) <= min(by_id[108399])
    renamed = lake.bars(["STRF", "OAMA"], *SUMMER, output="arrow")
    assert set(renamed.column("security_id").to_pylist()) == {100671}
    as_old = renamed.filter(pc.equal(renamed.column("requested"), "STRF"))
    assert max(as_old.column("timestamp").to_pylist()) < D(2023, 6, 28)
    by_id_too = lake.bars(100671, *SUMMER, output="arrow")
    assert by_id_too.num_rows == renamed.num_rows  # the id spans the rename


def test_bars_read_history_and_open_months_as_one(lake):
    frame = lake.bars("CAPP", D(2023, 8, 1), JANUARY[1])
    days = sorted(frame["timestamp"])
    assert days[0] == D(2023, 8, 1) and days[-1] == JANUARY[1]  # folded summer + January
    store = LakeStore()
    assert store.exists(keys.daily_ticks_history(100402))
    assert store.exists(keys.daily_ticks_month(100402, JANUARY[0]))
    assert not store.list(keys.daily_ticks_year(100402, 2023))


def test_adjusted_bars_are_continuous_across_a_split_as_known_then(lake):
    window = (D(2023, 6, 15), D(2023, 6, 23))
    raw = lake.bars("CAPP", *window, fields=["close"], wide=True)["CAPP"]
    adjusted = lake.bars(
        "CAPP", *window, fields=["close"], adjusted=True, as_of=window[1], wide=True
    )["CAPP"]
    before, after = D(2023, 6, 16), D(2023, 6, 20)
    assert raw[after] / raw[before] == pytest.approx(0.5, rel=0.2)  # the 2-for-1 split
    assert adjusted[before] == pytest.approx(raw[before] / 2, rel=0.02)  # (and a dividend)
    assert adjusted[after] == pytest.approx(raw[after])
    # as known the day before the split, nothing was adjusted
    known = lake.bars("CAPP", *(window[0], before), fields=["close"], adjusted=True, as_of=before)
    assert list(known["close"]) == pytest.approx(list(raw[:before]))


def test_a_wide_panel_is_sessions_by_requested_securities(lake):
    panel = lake.bars(SYMBOLS, *SUMMER, fields=["close"], wide=True)
    assert list(panel.columns) == SYMBOLS
    assert len(panel) == len(lake.calendar(*SUMMER))
    with pytest.raises(ValueError, match="one field"):
        lake.bars(SYMBOLS, *SUMMER, wide=True)


def test_what_is_missing_is_named(lake):
    with pytest.raises(NotInLake, match="no security traded as NOPE"):
        lake.bars(["CAPP", "NOPE"], *SUMMER)
    with pytest.raises(NotInLake, match="no daily bars of AAPL"):
        lake.bars("AAPL", *SUMMER)


def test_sql_sees_each_row_once_even_with_a_month_beside_its_history(lake):
    store = LakeStore()
    summer = lake.bars(IDS, *SUMMER, output="arrow").num_rows
    january = lake.bars(["DIT", "OAMA", "CAPP"], *JANUARY, output="arrow").num_rows
    # a crash between a consolidation's publish and delete: a month beside its history
    history = store.read_table(keys.daily_ticks_history(100402))
    july = history.filter(pc.equal(pc.month(history.column("timestamp")), 7))
    beside = keys.daily_ticks_month(100402, D(2023, 7, 3))
    store.write_table(beside, july)
    try:
        con = lake.duckdb()
        (count,) = con.execute("select count(*) from daily_ticks").fetchone()
        (dupes,) = con.execute(
            "select count(*) from (select security_id, timestamp from daily_ticks "
            "group by all having count(*) > 1)"
        ).fetchone()
    finally:
        store.delete(beside)  # the module's other tests share this lake
    assert july.num_rows > 15 and dupes == 0 and count == summer + january
    (name,) = con.execute(
        "select symbol from security_master where security_id = 100671 order by start_date desc"
    ).fetchone()
    assert name == "OAMA"


def test_the_same_reads_work_on_s3(local_lake, s3_server, monkeypatch):
    import uuid

    bucket = f"reader-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    for path in local_lake.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            key = path.relative_to(local_lake).as_posix()
            for name, value in s3_server.env(bucket).items():
                monkeypatch.setenv(name, value)
            LakeStore().write_bytes(key, path.read_bytes())
    s3 = Lake()
    assert s3.store.config.scheme == "s3"
    monkeypatch.setenv("LAKE_URI", local_lake.as_uri())
    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    local = Lake()
    assert s3.bars(SYMBOLS, *SUMMER, output="arrow").equals(
        local.bars(SYMBOLS, *SUMMER, output="arrow")
    )
    (count,) = s3.duckdb().execute("select count(*) from daily_ticks").fetchone()
    (same,) = local.duckdb().execute("select count(*) from daily_ticks").fetchone()
    assert count == same > 0


def test_the_readmes_sql_recipe_runs(lake):
    rows = (
        lake.duckdb()
        .sql("""
        select m.symbol, d.timestamp, d.close
        from daily_ticks d join security_master m
          on d.security_id = m.security_id and d.timestamp between m.start_date
             and coalesce(m.end_date, date '9999-12-31')
        where d.timestamp = date '2023-07-03' order by d.volume desc limit 10
        """)
        .fetchall()
    )
    assert {r[0] for r in rows} == {"CAPP", "OAMA"}  # DIT had no holder that day
